#!/usr/bin/env bash
# Interop with a stock js-libp2p node on loopback, both directions:
#   1. the js node dials our Host and pings it (and identifies it),
#   2. our Host dials the js node and pings it (and identifies it).
# js-libp2p is installed here, at test time, with `npm ci` from the committed
# package-lock.json into the build directory (never into the source tree).
# Skipped (exit 77) only when the npm registry cannot be reached.
# Environment: INTEROP_PEER (our test program), BUILD_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
peer=${INTEROP_PEER:?}
source "$here/setup.sh"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Starts "$@" in the background with stdin held open through a fifo (closing
# it ends the listener); sets $addr to the first line it prints.
start_listener() {
  local name=$1 fd
  shift
  mkfifo "$tmp/$name.in"
  "$@" <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  exec {fd}>"$tmp/$name.in"
  for _ in $(seq 1 300); do
    [ -s "$tmp/$name.out" ] && break
    sleep 0.1
  done
  addr=$(head -n1 "$tmp/$name.out")
}

echo "interop: js-libp2p $(cd "$work" && node -p 'require("./node_modules/libp2p/package.json").version'), node $("$node" --version)" >&2

# 1. js dials us.
start_listener ours "$peer" listen
ours=$addr
[ -n "$ours" ] || { cat "$tmp/ours.err" >&2; echo "interop: our listener printed no address" >&2; exit 1; }
echo "interop: our Host listens on $ours"
if ! out=$(timeout 90 "${js[@]}" dial "$ours" 2>"$tmp/js-dial.err"); then
  cat "$tmp/js-dial.err" "$tmp/ours.err" >&2
  echo "interop: FAILED: js-libp2p could not dial and ping our Host" >&2
  exit 1
fi
cat "$tmp/js-dial.err" >&2
echo "interop: js -> ours: $out"
case $out in agent=codex-tools/*) ;; *) echo "interop: FAILED: js did not identify us" >&2; exit 1 ;; esac
grep -q "connected" "$tmp/ours.err" || { echo "interop: FAILED: our Host saw no connection" >&2; exit 1; }

# 2. We dial js.
start_listener theirs "${js[@]}" listen
theirs=$addr
[ -n "$theirs" ] || { cat "$tmp/theirs.err" >&2; echo "interop: js listener printed no address" >&2; exit 1; }
echo "interop: js-libp2p listens on $theirs"
if ! out=$(timeout 90 "$peer" dial "$theirs" 2>"$tmp/our-dial.err"); then
  cat "$tmp/our-dial.err" "$tmp/theirs.err" >&2
  echo "interop: FAILED: our Host could not dial and ping js-libp2p" >&2
  exit 1
fi
cat "$tmp/our-dial.err" >&2
echo "interop: ours -> js: $out"
case $out in agent=*) ;; *) echo "interop: FAILED: no identify from js" >&2; exit 1 ;; esac
echo "interop: both directions passed"
