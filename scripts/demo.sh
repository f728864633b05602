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

if [ -x "$bin/codex-encode" ]; then
  echo "== protected dataset: codex-chunk | codex-encode -k 4 -m 2 | codex-put"
  pcid=$("$bin/codex-chunk" -q "$sample" | "$bin/codex-encode" -q -k 4 -m 2 | "$bin/codex-put")
  echo "stored protected $pcid"
  "$bin/codex-get" "$pcid" | cmp - "$sample" && echo "codex-get (protected) gave back the same bytes"
fi
