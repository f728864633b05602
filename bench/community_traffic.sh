#!/usr/bin/env bash
# Heartbeat and membership traffic per member, real daemons on loopback,
# against what codex-sim predicts for the same parameters:
#   bench/community_traffic.sh [SIZES [WINDOW_S [ROUNDS]]]   (defaults "8 16", 60, 1)
# For each size N: N members (scripts/community-cluster.sh's short test
# intervals: probe 500 ms, heartbeat 1 s, sync 3 s), one K=4 M=2 dataset
# stored by member N and placed on six others (so heartbeats flow). Once
# every slot is held and 10 s have passed, each member's protocol counters
# (`codex-gossip status --json`, core.messages_sent / bytes_sent: the
# protocol's own messages, before libp2p's framing and encryption) are read
# at the start and the end of WINDOW_S seconds, with the daemons' CPU time
# (user+sys, /proc). Printed: messages and bytes per member per second
# (mean, min, max over members), CPU per member, and codex-sim run
# --established with the same N, one dataset, the same intervals, over
# 10 simulated minutes: its messagesPerMemberSecond and bytesPerMemberSecond
# and the ratio measured/predicted (the simulator's proofs are stand-ins of a
# few bytes; it also gives bytes with each counted at a real proof's size).
# Environment: BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-8 16}
window=${2:-60}
rounds=${3:-1}
CODEX_BIN=${BUILD_DIR:-build}
[[ $CODEX_BIN = /* ]] || CODEX_BIN=$PWD/$CODEX_BIN
export CODEX_BIN
PYTHON=$(command -v python3)
source scripts/community-cluster.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/codex-traffic.XXXXXX")
trap 'cluster_stop_all 2>/dev/null; rm -rf "$work"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
counters() {  # counters I: "messages bytes cpu_ticks"
  local json
  json=$("$CLUSTER_GOSSIP" status --json --repo "$(cluster_repo "$1")")
  printf '%s %s\n' "$("$PYTHON" -c 'import json,sys; c=json.load(sys.stdin)["core"]; print(c["messages_sent"], c["bytes_sent"])' <<<"$json")" \
    "$(cpu_ticks "$(cat "$CLUSTER_DIR/m$1.pid")")"
}
hz=$(getconf CLK_TCK)

for n in $sizes; do
  for ((r = 1; r <= rounds; r++)); do
    rm -rf "$work/c"
    CLUSTER_PORT_BASE=$((20000 + (RANDOM % 400) * 100))
    cluster_init "$work/c" "$n"
    for ((i = 1; i <= n; i++)); do cluster_start "$i"; done
    for ((i = 1; i <= n; i++)); do cluster_wait_live "$i" "$n" 60; done
    head -c 2000000 /dev/urandom >"$work/file"
    cid=$("$CODEX_BIN/codex-chunk" -q "$work/file" | "$CODEX_BIN/codex-encode" -q -k 4 -m 2 |
      "$CODEX_BIN/codex-put" -q --wait --wait-timeout 120 --repo "$(cluster_repo "$n")")
    sleep 10
    declare -a m0 b0 c0 m1 b1 c1
    for ((i = 1; i <= n; i++)); do read -r m0[i] b0[i] c0[i] < <(counters "$i"); done
    t0=$(date +%s.%N)
    sleep "$window"
    for ((i = 1; i <= n; i++)); do read -r m1[i] b1[i] c1[i] < <(counters "$i"); done
    t1=$(date +%s.%N)
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    live=$(cluster_field 1 core.live_members)
    complete=$("$CLUSTER_GOSSIP" dataset "$cid" --json --repo "$(cluster_repo 1)" | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["complete"])')
    rows=""
    for ((i = 1; i <= n; i++)); do
      rows+="$((m1[i] - m0[i])) $((b1[i] - b0[i])) $((c1[i] - c0[i]))"$'\n'
    done
    sim=$("$CODEX_BIN/codex-sim" run --members "$n" --datasets 1 --duration 10m --established \
      --probe-interval 500ms --heartbeat-interval 1s --sync-interval 3s --lost-after 4 \
      --latency 1ms --jitter 1ms --publish-at 1m --publish-spread 1s --json --no-resources 2>/dev/null)
    "$PYTHON" - "$n" "$t0" "$t1" "$hz" "$load" "$live" "$complete" "$sim" <<PYEOF
import json, statistics, sys
n, t0, t1, hz = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
load, live, complete, sim = sys.argv[5], sys.argv[6], sys.argv[7], json.loads(sys.argv[8])
secs = t1 - t0
rows = [tuple(int(x) for x in line.split()) for line in """$rows""".strip().splitlines()]
msgs = [m / secs for m, b, c in rows]
byts = [b / secs for m, b, c in rows]
cpu = [c / hz / secs * 100 for m, b, c in rows]
pm, pb = sim["messagesPerMemberSecond"], sim["bytesPerMemberSecond"]
print(f"members {n}: window {secs:.1f} s, live {live}, dataset complete {complete}, load {load}")
print(f"  measured  messages/member/s mean {statistics.mean(msgs):.2f} (min {min(msgs):.2f}, max {max(msgs):.2f}); "
      f"bytes/member/s mean {statistics.mean(byts):.0f} (min {min(byts):.0f}, max {max(byts):.0f})")
print(f"  daemon CPU per member: mean {statistics.mean(cpu):.2f}% of a core (max {max(cpu):.2f}%)")
print(f"  codex-sim messages/member/s {pm:.2f}, bytes/member/s {pb:.0f} (real-size proofs {sim['bytesPerMemberSecondRealProofs']:.0f})")
print(f"  ratio measured/sim: messages {statistics.mean(msgs) / pm:.2f}, bytes {statistics.mean(byts) / pb:.2f} "
      f"(against real-size proofs {statistics.mean(byts) / sim['bytesPerMemberSecondRealProofs']:.2f})")
by = ", ".join(f"{t['type']} {t['messages'] / n / sim['simulatedSeconds']:.2f}" for t in sim["byType"])
print(f"  codex-sim by type (messages/member/s): {by}")
PYEOF
    cluster_stop_all
  done
done
