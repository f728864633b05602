#!/usr/bin/env bash
# The main job on a file: chunk -> encode (K=4, M=2) -> put -> get -> compare,
# in a throw-away repository; then the same with two slots lost.
#
#   scripts/demo.sh [FILE]
#
# FILE is the caller's (a relative path is taken from where the command was
# run); a FILE that cannot be read is an error. Without FILE, 3 MB of random
# bytes in a temporary directory. Installs the Debian packages it needs the
# first time, then builds only the tools it runs (into build/, or $BUILD_DIR).
set -euo pipefail
say() { printf 'demo: %s\n' "$*"; }
die() {
  printf 'demo: error: %s\n' "$*" >&2
  exit 2
}
(($# <= 1)) || die "usage: scripts/demo.sh [FILE]"
sample=""
if (($# == 1)); then
  # Resolved before anything changes directory: the path is the caller's.
  [[ -e $1 ]] || die "'$1' does not exist"
  [[ -f $1 ]] || die "'$1' is not a regular file"
  [[ -r $1 ]] || die "'$1' cannot be read"
  head -c 1 -- "$1" >/dev/null 2>&1 || die "'$1' cannot be read"
  sample=$(cd "$(dirname -- "$1")" && pwd)/$(basename -- "$1")
fi
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
[[ $build == /* ]] || build=$source_dir/$build
tools=(codex-chunk codex-encode codex-put codex-get codex-verify codex-repair)

say "checking the Debian packages codex-tools needs (apt-get installs the missing ones)"
"$source_dir/scripts/install-deps.sh"
if [[ ! -f $build/CMakeCache.txt ]]; then
  say "configuring the build in $build"
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$source_dir" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
say "building ${tools[*]} (not the tests; the first build takes a few minutes)"
cmake --build "$build" -j "$(nproc)" --target "${tools[@]}"
bin=$build

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export CODEX_REPO=$work/repo
if [[ -z $sample ]]; then
  sample=$work/sample.bin
  head -c 3000000 /dev/urandom >"$sample"
  say "no FILE given: using 3 MB of random bytes"
fi

echo "== plain dataset: codex-chunk | codex-put, codex-get | cmp"
cid=$("$bin/codex-chunk" -q "$sample" | "$bin/codex-put" -q)
echo "stored $sample as $cid"
"$bin/codex-get" "$cid" | cmp - "$sample" && echo "codex-get gave back the same bytes"

echo "== protected dataset: codex-chunk | codex-encode -k 4 -m 2, one slot per node"
"$bin/codex-chunk" -q "$sample" | "$bin/codex-encode" -q -k 4 -m 2 -o "$work/protected.car" >/dev/null
for node in 0 1 2 3 4 5; do
  pcid=$("$bin/codex-put" -q --repo "$work/node$node" --slots $node "$work/protected.car")
done
echo "stored protected $pcid: slot i on node i (repositories $work/node0..5)"
echo "== nodes 1 and 4 are lost; a fresh node gathers what the others hold"
rm -rf "$work/node1" "$work/node4"
for node in 0 2 3 5; do
  "$bin/codex-get" --repo "$work/node$node" --car "$pcid" | "$bin/codex-put" -q --repo "$work/rebuilt" >/dev/null
done
"$bin/codex-get" -v --repo "$work/rebuilt" "$pcid" 2>"$work/get.log" | cmp - "$sample" &&
  echo "codex-get decoded the original bytes from 4 of 6 slots ($(grep -c 'rebuilt block' "$work/get.log") blocks rebuilt)"
"$bin/codex-repair" -q --repo "$work/rebuilt" || [ $? -eq 8 ]
"$bin/codex-verify" --repo "$work/rebuilt" "$pcid" >/dev/null && echo "codex-repair rebuilt the lost slots; codex-verify: intact"
