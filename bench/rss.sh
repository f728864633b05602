#!/usr/bin/env bash
# Peak resident memory of every tool on a large input (default 4096 MiB):
#   bench/rss.sh [SIZE_MIB]
# Prints each tool's maximum RSS as reported by GNU time (%M, KiB).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-4096}
bin=${BUILD_DIR:-build}
[[ $bin = /* ]] || bin=$PWD/$bin
work=${BENCH_DIR:-$(mktemp -d "$PWD/bench-work.XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
export CODEX_REPO=$work/repo
rss() { /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null; echo "$(( $(cat "$work/rss") / 1024 )) MiB"; }
file=$work/input.bin
head -c "$((size_mib << 20))" /dev/urandom > "$file"
echo "input: $size_mib MiB"
echo "codex-chunk FILE -o plain.car      $(rss "$bin/codex-chunk" -q "$file" -o "$work/plain.car")"
echo "codex-put plain.car                $(rss "$bin/codex-put" "$work/plain.car")"
cid=$("$bin/codex-chunk" -q --cid-only "$file")
echo "codex-get CID                      $(rss "$bin/codex-get" "$cid")"
echo "codex-encode -k 4 -m 2 < plain.car $(rss sh -c "'$bin/codex-encode' -q -k 4 -m 2 < '$work/plain.car' > '$work/p.car'")"
rm -f "$work/plain.car"
echo "codex-put p.car                    $(rss "$bin/codex-put" "$work/p.car")"
pcid=$("$bin/codex-put" "$work/p.car")
rm -f "$work/p.car"
echo "codex-get protected                $(rss "$bin/codex-get" "$pcid")"
echo "codex-get protected > FILE         $(rss sh -c "'$bin/codex-get' $pcid > '$work/got'")"
rm -f "$work/got"
echo "codex-verify                       $(rss "$bin/codex-verify" -q)"
echo "codex-repair                       $(rss "$bin/codex-repair" -q)"
