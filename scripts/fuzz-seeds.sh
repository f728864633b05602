#!/usr/bin/env bash
# Seeds for the fuzz corpora from the tools' own outputs (docs/fuzzing.md):
# small CAR streams from codex-chunk and codex-encode, their headers,
# sections' CIDs (binary and text) and manifests, and storage proofs from
# codex-verify --prove. Usage: scripts/fuzz-seeds.sh [BUILD_DIR] (default build).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(cd "${1:-$here/build}" && pwd)
corpus=$here/fuzz/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CODEX_REPO=$work/repo
mkdir -p "$corpus"/{cid,manifest,car_header,car_stream,dataset_stream,proof,json}

printf 'hello' >"$work/hello"
head -c 3000 /dev/urandom >"$work/random"
: >"$work/empty"
n=0
for input in hello random empty; do
  for format in current legacy; do
    n=$((n + 1))
    "$bin/codex-chunk" --block-size 256 --manifest-format "$format" --filename "$input.txt" \
      <"$work/$input" >"$work/plain-$n.car" 2>/dev/null
  done
done
"$bin/codex-chunk" -q --block-size 2048 <"$work/random" | "$bin/codex-encode" -q -k 3 -m 2 >"$work/protected.car"
"$bin/codex-put" -q <"$work/protected.car" >"$work/cid"
"$bin/codex-verify" --prove "$(cat "$work/cid")" --slot 1 --proof-cells 2 >"$work/proof.json"
cp "$work/proof.json" "$corpus/proof/tool-proof.json"
cp "$work/proof.json" "$corpus/json/tool-proof.json"

# Split each stream: header, each distinct CID, the manifest, the whole stream.
python3 - "$corpus" "$work"/*.car <<'PY'
import hashlib, os, sys
corpus, files = sys.argv[1], sys.argv[2:]
def varint(b, p):
    v = s = 0
    while True:
        c = b[p]; p += 1; v |= (c & 0x7f) << s; s += 7
        if c < 0x80: return v, p
def save(kind, data):
    name = hashlib.sha256(data).hexdigest()[:16]
    open(os.path.join(corpus, kind, name), 'wb').write(data)
b58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
def base58(data):
    n = int.from_bytes(data, 'big'); out = ''
    while n: n, r = divmod(n, 58); out = b58[r] + out
    return 'z' + '1' * (len(data) - len(data.lstrip(b'\0'))) + out
for path in files:
    data = open(path, 'rb').read()
    if len(data) <= 16384: save('car_stream', data); save('dataset_stream', data)
    length, p = varint(data, 0); save('car_header', data[p:p + length]); p += length
    while p < len(data):
        length, q = varint(data, p); end = q + length; r = q
        for _ in range(4): _, r = varint(data, r)
        cid = data[q:r + 32]
        save('cid', cid); save('cid', base58(cid).encode())
        if cid[1:4] == b'\x81\x9a\x03': save('manifest', data[r + 32:end])  # codex-manifest
        p = end
PY
# The network decoders: admission documents and block-exchange messages from
# their encoders, protocol messages from the examples of docs/protocol.md.
# (CODEX_SEEDS_NETWORK=0 skips building the seeder.)
if [[ ${CODEX_SEEDS_NETWORK:-1} != 0 ]]; then
  cmake --build "$bin" --target network_seeds >/dev/null
  "$bin/fuzz/network_seeds" "$corpus"
fi
mkdir -p "$corpus/protocol"
python3 - "$here/docs/protocol.md" "$corpus/protocol" <<'PY'
import os, sys
name = hexes = None
for line in open(sys.argv[1]):
    if line.startswith('<!-- example '):
        name, hexes = line[13:line.index(' -->')], None
    elif line.startswith('```') and name:
        if hexes is None: hexes = ''
        else:
            open(os.path.join(sys.argv[2], name), 'wb').write(bytes.fromhex(hexes)); name = None
    elif name and hexes is not None:
        hexes += ''.join(line.split())
PY
echo "seeds in $corpus: $(find "$corpus" -type f | wc -l) files"
