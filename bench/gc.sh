#!/usr/bin/env bash
# codex-repo gc on a repository holding SIZE MiB of live data and SIZE MiB of
# dead data (a removed dataset), interleaved in the same packs so that gc has
# to rewrite them (default 1024 MiB each):
#   bench/gc.sh [SIZE_MIB]      (BUILD_DIR: the tools, default build/; BENCH_DIR: scratch)
# Prints gc's wall and CPU time and peak RSS (GNU time -v), the machine's
# load around it, the bytes it reclaimed,
# and checks that the live dataset is intact afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
bin=${BUILD_DIR:-build}
[[ $bin == /* ]] || bin=$PWD/$bin
work=${BENCH_DIR:-$(mktemp -d "$PWD/bench-work.XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
export CODEX_REPO=$work/repo
half=$((size_mib / 2))
# Two live and two dead datasets, put alternately: each pack holds both kinds.
for i in 1 2 3 4; do head -c "$((half << 20))" /dev/urandom >"$work/in$i"; done
for i in 1 2 3 4; do cids[i]=$("$bin/codex-chunk" -q "$work/in$i" | "$bin/codex-put" -q); done
rm -f "$work/in2" "$work/in4"
"$bin/codex-repo" -q rm "${cids[2]}" "${cids[4]}"
sync
echo "before gc: $("$bin/codex-repo" stats --json)"
echo "load before gc: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
/usr/bin/time -v "$bin/codex-repo" gc --json >"$work/gc.json" 2>"$work/time"
echo "load after gc:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo "gc: $(cat "$work/gc.json")"
grep -E 'Elapsed \(wall clock\)|Maximum resident set size|User time|System time' "$work/time" | sed 's/^\s*/  /'
echo "after gc:  $("$bin/codex-repo" stats --json)"
for i in 1 3; do "$bin/codex-get" "${cids[i]}" | cmp - "$work/in$i"; done
"$bin/codex-verify" -q && echo "live datasets intact"
