#!/usr/bin/env bash
# Model-checks tests/spin/*.pml with spin (Debian package `spin`): every
# model must verify without errors, and each must fail when its key
# parameter is weakened (CONFIRMATIONS=1 for repair.pml: one watcher's bad
# link would then start a repair), so that the check cannot pass vacuously.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v spin >/dev/null || { echo "spin: not installed (scripts/install-deps.sh installs it)" >&2; exit 1; }
CC=${CC:-cc}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/codex-spin.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# verify MODEL [SPIN_DEFINES...]: prints pan's summary, returns pan's error count.
verify() {
  local model=$1
  shift
  rm -rf "$SCRATCH/run" && mkdir "$SCRATCH/run"
  cp "$HERE/$model" "$SCRATCH/run/"
  (cd "$SCRATCH/run" && spin "$@" -a "$model" >/dev/null && $CC -O2 -w -DSAFETY -o pan pan.c &&
    ./pan -m200000 >pan.out 2>&1) || true
  grep -E "errors:|states, stored" "$SCRATCH/run/pan.out" || { cat "$SCRATCH/run/pan.out" >&2; return 99; }
  sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$SCRATCH/run/pan.out"
}

out=$(verify repair.pml)
echo "repair.pml: $out"
errors=$(tail -1 <<<"$out")
[[ $errors == 0 ]] || { echo "FAIL: repair.pml has $errors error(s); spin -t -p repair.pml in a copy shows the trail" >&2; exit 1; }
out=$(verify repair.pml -DCONFIRMATIONS=1)
echo "repair.pml with one confirmation: $out"
errors=$(tail -1 <<<"$out")
[[ $errors != 0 ]] || { echo "FAIL: repair.pml verifies even with CONFIRMATIONS=1: the model checks nothing" >&2; exit 1; }
echo "spin: ok"
