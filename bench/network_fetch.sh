#!/usr/bin/env bash
# A dataset fetched over loopback from three members, against codex-get from
# the local repository, same run, same machine:
#   bench/network_fetch.sh [SIZE_MIB [ROUNDS]]      (defaults 1024 and 1)
# Three holders run codex-gossip daemons with the dataset in their
# repositories; a fourth member, with an empty repository, runs
# `codex-get CID -o FILE` through its daemon (fetch, verify, store, then
# read). The reference is `codex-get CID -o FILE` on a holder. Also printed:
# each daemon's resident memory when idle (VmRSS) before and after.
# Environment: BUILD_DIR (default build), BENCH_DIR (scratch; default a new
# directory under bench/; needs ~5x SIZE of free disk).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rounds=${2:-1}
bin=${BUILD_DIR:-build}
[[ $bin = /* ]] || bin=$PWD/$bin
work=${BENCH_DIR:-$(mktemp -d "$PWD/bench/work.XXXXXX")}
mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
G=$bin/codex-gossip

rss() { awk '/VmRSS/ {print $2 / 1024 " MiB"}' "/proc/$1/status"; }
now() { date +%s.%N; }

"$G" community create --repo "$work/h1" >/dev/null 2>&1
for m in h2 h3 f; do
  "$G" admit "$("$G" id --repo "$work/$m")" --repo "$work/h1" -o "$work/$m.cert" 2>/dev/null
  "$G" join "$work/$m.cert" --repo "$work/$m" 2>/dev/null
done
head -c $((size_mib << 20)) /dev/urandom >"$work/data"
cid=$("$bin/codex-chunk" -q "$work/data" | "$bin/codex-put" -q --repo "$work/h1")
for m in h2 h3; do "$bin/codex-get" "$cid" --car --repo "$work/h1" | "$bin/codex-put" -q --repo "$work/$m" >/dev/null; done

addrs=()
for m in h1 h2 h3 f; do
  args=()
  for a in "${addrs[@]}"; do args+=(--bootstrap "$a"); done
  "$G" run --repo "$work/$m" --listen /ip4/127.0.0.1/tcp/0 "${args[@]}" 2>"$work/$m.log" &
  pids+=($!)
  for _ in $(seq 100); do "$G" status --repo "$work/$m" >/dev/null 2>&1 && break; sleep 0.1; done
  addrs+=("$("$G" status --json --repo "$work/$m" | python3 -c 'import json,sys; print(json.load(sys.stdin)["listen"][0])')")
done
for _ in $(seq 200); do
  [[ $("$G" status --json --repo "$work/f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["members_connected"])') == 3 ]] && break
  sleep 0.1
done
sleep 2
echo "idle RSS with 3 peers: h1 $(rss "${pids[0]}"), f $(rss "${pids[3]}")"

for ((r = 1; r <= rounds; r++)); do
  sync
  t0=$(now)
  "$bin/codex-get" "$cid" --repo "$work/h1" -o "$work/local.out"
  t1=$(now)
  rm -rf "$work/f/codex.db" "$work/f/codex.db-wal" "$work/f/codex.db-shm" "$work/f/packs"
  t2=$(now)
  "$bin/codex-get" "$cid" --repo "$work/f" -o "$work/net.out" -v 2>"$work/get.err"
  t3=$(now)
  cmp -s "$work/data" "$work/net.out" || { echo "fetched data differs" >&2; exit 1; }
  python3 - "$size_mib" "$t0" "$t1" "$t2" "$t3" <<'EOF'
import sys
size, t0, t1, t2, t3 = int(sys.argv[1]), *map(float, sys.argv[2:])
local, net = t1 - t0, t3 - t2
print(f"{size} MiB: codex-get local {local:.2f} s ({size / local:.0f} MiB/s); "
      f"from 3 members {net:.2f} s ({size / net:.0f} MiB/s); ratio {local / net * 100:.0f}%")
EOF
  grep -o 'from members.*' "$work/get.err" || true
done
sleep 2
echo "idle RSS after: h1 $(rss "${pids[0]}"), h2 $(rss "${pids[1]}"), f $(rss "${pids[3]}")"
