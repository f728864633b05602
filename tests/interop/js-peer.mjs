// A stock js-libp2p node (TCP, TLS, yamux, ping, identify) for the interop
// tests. `listen`: prints its multiaddr (with /p2p/) as one line on stdout,
// then runs until stdin closes (logging who connects and identifies).
// `dial <multiaddr>`: connects, pings three times, waits for identify, prints
// the peer's agent version; exit 0 only if all of that worked.
// `peer-id <seed hex>`: prints the peer id of the Ed25519 key made from the
// 32-byte seed. `probe <multiaddr> <seed hex> [<certificate file> <cid hex>]`:
// with that key, against a codex-gossip daemon: pings, identifies, tries the
// community's protocols, then shows a certificate on /codex/admission/1.0.0
// (a made-up one without a file) and, once admitted, asks for the block
// <cid hex> over Codex block exchange (/codex/blockexc/1.0.0) and checks it
// against its CID. Prints one `key=value` line per finding; exit 0 when the
// probe ran to its end (the caller judges the findings).
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping } from '@libp2p/ping'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'

const [mode, target, seedHex, certFile, wantHex] = process.argv.slice(2)
const fail = (msg) => { console.error(`js-peer: ${msg}`); process.exit(1) }
setTimeout(() => fail('timed out'), 60_000).unref()

const fromHex = (hex) => Uint8Array.from(Buffer.from(hex.trim(), 'hex'))
const seed = mode === 'peer-id' ? target : mode === 'probe' ? seedHex : undefined
const privateKey = seed ? await generateKeyPairFromSeed('Ed25519', fromHex(seed)) : undefined
if (mode === 'peer-id') {
  console.log(peerIdFromPrivateKey(privateKey).toString())
  process.exit(0)
}

const node = await createLibp2p({
  ...(privateKey ? { privateKey } : {}),
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [tls()],
  streamMuxers: [yamux()],
  services: { ping: ping(), identify: identify() }
})
await node.start()

if (mode === 'listen') {
  node.addEventListener('peer:connect', (e) => console.error(`js-peer: connected ${e.detail.toString()}`))
  node.addEventListener('peer:identify', (e) => console.error(`js-peer: identified ${e.detail.peerId.toString()} agent=${e.detail.agentVersion}`))
  const addr = node.getMultiaddrs().find((a) => a.toString().includes('/tcp/'))
  if (!addr) fail('no listen address')
  console.log(addr.toString())
  process.stdin.resume()
  process.stdin.on('end', async () => { await node.stop(); process.exit(0) })
} else if (mode === 'dial') {
  try {
    const ma = multiaddr(target)
    const identified = new Promise((resolve) => {
      node.addEventListener('peer:identify', (e) => resolve(e.detail))
    })
    for (let i = 0; i < 3; i++) {
      const rtt = await node.services.ping.ping(ma)
      console.error(`js-peer: ping ${i + 1}: ${rtt} ms`)
    }
    const id = await Promise.race([identified, new Promise((resolve) => setTimeout(() => resolve(null), 10_000))])
    if (!id) fail('identify did not complete')
    console.log(`agent=${id.agentVersion} protocols=${id.protocols.join(',')}`)
    await node.stop()
    process.exit(0)
  } catch (err) {
    fail(`dial/ping failed: ${err?.stack ?? err}`)
  }
} else if (mode === 'probe') {
  try {
    await probe(multiaddr(target))
    await node.stop()
    process.exit(0)
  } catch (err) {
    fail(`probe failed: ${err?.stack ?? err}`)
  }
} else {
  fail('usage: js-peer.mjs listen | dial <multiaddr> | peer-id <seed hex> | probe <multiaddr> <seed hex> [<cert file> <cid hex>]')
}

// ---- the probe of a codex-gossip daemon ----

async function probe (ma) {
  const identified = new Promise((resolve) => node.addEventListener('peer:identify', (e) => resolve(e.detail)))
  for (let i = 0; i < 3; i++) await node.services.ping.ping(ma)
  console.log('ping=ok')
  const id = await Promise.race([identified, new Promise((resolve) => setTimeout(() => resolve(null), 10_000))])
  if (!id) throw new Error('identify did not complete')
  console.log(`agent=${id.agentVersion}`)
  console.log(`protocols=${id.protocols.join(',')}`)
  const gated = ['/codex/blockexc/1.0.0', '/codex/tree/1.0.0']
  const opens = async (protocol) => {
    try {
      const s = await node.dialProtocol(ma, protocol)
      await s.close()
      return true
    } catch { return false }
  }
  for (const protocol of gated) console.log(`before-admission ${protocol}=${(await opens(protocol)) ? 'open' : 'refused'}`)

  // Show a certificate: the real one, or a made-up one.
  const cert = certFile ? fromHex(readFileSync(certFile, 'utf8')) : Uint8Array.from([0xde, 0xad, 0xbe, 0xef])
  const admission = await node.dialProtocol(ma, '/codex/admission/1.0.0')
  const admissionIn = reader(admission)
  admission.send(lengthPrefixed(concat(Uint8Array.of(1), cert)))  // 1: certificate
  const verdict = await admissionIn.message(4096)
  if (verdict[0] === 4) console.log('admission=accepted')
  else if (verdict[0] === 3) console.log(`admission=refused reason=${Buffer.from(verdict.subarray(1)).toString()}`)
  else throw new Error(`admission answer of kind ${verdict[0]}`)
  if (verdict[0] !== 4) return

  for (const protocol of gated) console.log(`after-admission ${protocol}=${(await opens(protocol)) ? 'open' : 'refused'}`)
  if (!wantHex) return
  // One want-block entry for the CID (nim-codex's blockexc Message layout).
  const cid = fromHex(wantHex)
  const address = concat(field(1, 0), bytesField(4, cid))               // leaf = false, cid
  const entry = concat(bytesField(1, address), field(2, 0), field(3, 0), field(4, 0), field(5, 1))
  const wantlist = concat(bytesField(1, entry), field(2, 0))
  const bx = await node.dialProtocol(ma, '/codex/blockexc/1.0.0')
  bx.send(lengthPrefixed(bytesField(1, wantlist)))
  const reply = parse(await reader(bx).message(16 << 20))
  const delivery = reply.find((f) => f.number === 3)
  if (!delivery) { console.log('block=none'); return }
  const d = parse(delivery.bytes)
  const data = d.find((f) => f.number === 2)?.bytes ?? new Uint8Array(0)
  const got = createHash('sha256').update(data).digest()
  const want = cid.subarray(cid.length - 32)  // a sha2-256 CID ends with its digest
  console.log(`block=${data.length} bytes sha256=${Buffer.compare(got, Buffer.from(want)) === 0 ? 'matches-cid' : 'WRONG'}`)
  await bx.close()
}

function concat (...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}
function varint (n) {
  const out = []
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; out.push(b) } while (n > 0)
  return Uint8Array.from(out)
}
function field (number, value) { return concat(varint(number << 3), varint(value)) }
function bytesField (number, bytes) { return concat(varint((number << 3) | 2), varint(bytes.length), bytes) }
function lengthPrefixed (bytes) { return concat(varint(bytes.length), bytes) }

// The fields of one protobuf message (varint and length-delimited only).
function parse (buf) {
  const fields = []
  let at = 0
  const next = () => {
    let n = 0; let scale = 1; let b
    do { if (at >= buf.length) throw new Error('truncated varint'); b = buf[at++]; n += (b & 0x7f) * scale; scale *= 128 } while (b & 0x80)
    return n
  }
  while (at < buf.length) {
    const tag = next()
    const number = Math.floor(tag / 8)
    if ((tag & 7) === 0) fields.push({ number, value: next() })
    else if ((tag & 7) === 2) { const len = next(); fields.push({ number, bytes: buf.subarray(at, at + len) }); at += len } else throw new Error(`wire type ${tag & 7}`)
  }
  return fields
}

// Length-prefixed messages from a stream's chunks.
function reader (stream) {
  const chunks = stream[Symbol.asyncIterator]()
  let buf = new Uint8Array(0)
  const fill = async (n) => {
    while (buf.length < n) {
      const { value, done } = await chunks.next()
      if (done) throw new Error('stream ended')
      buf = concat(buf, value.subarray())
    }
  }
  const take = (n) => { const out = buf.subarray(0, n); buf = buf.subarray(n); return out }
  return {
    async message (max) {
      let len = 0; let scale = 1
      for (;;) {
        await fill(1)
        const b = take(1)[0]
        len += (b & 0x7f) * scale; scale *= 128
        if (!(b & 0x80)) break
      }
      if (len > max) throw new Error(`message of ${len} bytes`)
      await fill(len)
      return take(len).slice()
    }
  }
}
