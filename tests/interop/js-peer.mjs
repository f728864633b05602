// A stock js-libp2p node (TCP, TLS, yamux, ping, identify) for the interop
// test. `listen`: prints its multiaddr (with /p2p/) as one line on stdout,
// then runs until stdin closes. `dial <multiaddr>`: connects, pings three
// times, waits for identify, prints the peer's agent version; exit 0 only
// if all of that worked.
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { tls } from '@libp2p/tls'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping } from '@libp2p/ping'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'

const [mode, target] = process.argv.slice(2)
const fail = (msg) => { console.error(`js-peer: ${msg}`); process.exit(1) }
setTimeout(() => fail('timed out'), 60_000).unref()

const node = await createLibp2p({
  addresses: { listen: mode === 'listen' ? ['/ip4/127.0.0.1/tcp/0'] : [] },
  transports: [tcp()],
  connectionEncrypters: [tls()],
  streamMuxers: [yamux()],
  services: { ping: ping(), identify: identify() }
})
await node.start()

if (mode === 'listen') {
  node.addEventListener('peer:connect', (e) => console.error(`js-peer: connected ${e.detail.toString()}`))
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
} else {
  fail('usage: js-peer.mjs listen | dial <multiaddr>')
}
