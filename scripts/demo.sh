#!/usr/bin/env bash
# The main job on a sample file: chunk -> encode (K=4, M=2) -> put -> get ->
# compare, in a throw-away repository; then the same with two slots lost.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
bin=$PWD/${BUILD_DIR:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CODEX_REPO=$work/repo
sample=${1:-$work/sample.bin}
[ -f "$sample" ] || head -c 3000000 /dev/urandom > "$sample"

echo "== plain dataset: codex-chunk | codex-put, codex-get | cmp"
cid=$("$bin/codex-chunk" -q "$sample" | "$bin/codex-put")
echo "stored $sample as $cid"
"$bin/codex-get" "$cid" | cmp - "$sample" && echo "codex-get gave back the same bytes"

echo "== protected dataset: codex-chunk | codex-encode -k 4 -m 2, one slot per node"
"$bin/codex-chunk" -q "$sample" | "$bin/codex-encode" -q -k 4 -m 2 -o "$work/protected.car" >/dev/null
for node in 0 1 2 3 4 5; do
  pcid=$("$bin/codex-put" --repo "$work/node$node" --slots $node "$work/protected.car")
done
echo "stored protected $pcid: slot i on node i (repositories $work/node0..5)"
echo "== nodes 1 and 4 are lost; a fresh node gathers what the others hold"
rm -rf "$work/node1" "$work/node4"
for node in 0 2 3 5; do
  "$bin/codex-get" --repo "$work/node$node" --car "$pcid" | "$bin/codex-put" -q --repo "$work/rebuilt" >/dev/null
done
"$bin/codex-get" -v --repo "$work/rebuilt" "$pcid" 2>"$work/get.log" | cmp - "$sample" \
  && echo "codex-get decoded the original bytes from 4 of 6 slots ($(wc -l < "$work/get.log") blocks rebuilt)"
"$bin/codex-repair" -q --repo "$work/rebuilt" || [ $? -eq 8 ]
"$bin/codex-verify" --repo "$work/rebuilt" "$pcid" >/dev/null && echo "codex-repair rebuilt the lost slots; codex-verify: intact"
