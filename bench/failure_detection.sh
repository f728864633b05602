#!/usr/bin/env bash
# Failure detection on loopback: our daemons against HashiCorp Serf, same
# size, same probe interval:
#   bench/failure_detection.sh [MEMBERS [ROUNDS [PROBE_MS]]]   (defaults 20, 3, 1000)
# Serf: MEMBERS agents (`serf agent -profile=lan`: probe 1 s, probe timeout
# 500 ms, suspicion multiplier 4, Lifeguard), each with a member-failed event
# handler that writes the time it ran. Ours: MEMBERS codex-gossip daemons
# with probe-interval-ms = PROBE_MS, probe-timeout-ms = PROBE_MS/2,
# suspicion-multiplier = 4, gossip-interval-ms = 200, gossip-fanout = 3,
# indirect-checks = 3
# (the same Lifeguard parameters; docs/protocol.md), each logging
# "member: peer=X dead" with a millisecond timestamp. Each round: both
# clusters up and converged, one member (not the first) killed with
# SIGKILL, then the time from the kill until each survivor marked it failed:
# first, median and last survivor. Printed per round and as medians over
# the rounds, with false detections (any other member marked failed or
# suspect during the round) and the load average.
# Packet loss: the machine this was written on has no netem qdisc, iptables
# or nft, so a network namespace cannot lose packets for both clusters; with
# LOSS=N only ours runs, dropping N% of each member's outgoing community
# messages (docs/operating.md, "Measured on loopback").
# Needs serf on PATH. Environment: BUILD_DIR (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
rounds=${2:-3}
probe=${3:-1000}
# LOSS=N: our members drop N% of their outgoing community messages
# (`codex-gossip partition --loss N`) from QUIET seconds (default 60) before
# the kill; Serf is not run then (it has no such option, and this machine
# has no netem to lose packets for both).
loss=${LOSS:-0}
quiet=${QUIET:-60}
command -v serf >/dev/null || { echo "failure_detection: serf is not installed (Debian package serf)" >&2; exit 1; }
CODEX_BIN=${BUILD_DIR:-build}
[[ $CODEX_BIN = /* ]] || CODEX_BIN=$PWD/$CODEX_BIN
export CODEX_BIN
PYTHON=$(command -v python3)
source scripts/community-cluster.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/codex-fd.XXXXXX")
serf_pids=()
stop_serf() {
  local p
  for p in "${serf_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${serf_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  serf_pids=()
}
# Our rounds run in a subshell ($(ours_round)): their daemons are found by
# their pid files, not by the cluster variables of this shell.
stop_ours() {
  local f
  for f in "$work"/c/m*.pid; do [[ -e $f ]] && kill -9 "$(cat "$f")" 2>/dev/null; done
  return 0
}
trap 'stop_serf; stop_ours; rm -rf "$work"' EXIT

now() { date +%s.%N; }

# The handler: one line per failed member, "TIME AGENT NAME".
cat >"$work/handler.sh" <<'H'
#!/bin/sh
t=$(date +%s.%N)
while read -r name rest; do echo "$t $1 $SERF_EVENT $name" >>"$2"; done
H
chmod +x "$work/handler.sh"

serf_round() {  # prints "first median last false" seconds
  # Ports below Linux's ephemeral range (32768 and up), in a block that is
  # free (scripts/community-cluster.sh says why).
  local base tries i victim events=$work/serf-events
  for ((tries = 0; tries < 50; tries++)); do
    base=$((20000 + (RANDOM % 120) * 100))
    cluster_ports_free "$base" $((50 + n)) && break
  done
  : >"$events"
  for ((i = 1; i <= n; i++)); do
    local join=()
    ((i > 1)) && join=(-join "127.0.0.1:$((base + 1))")
    serf agent -node "s$i" -bind "127.0.0.1:$((base + i))" -rpc-addr "127.0.0.1:$((base + 50 + i))" -profile lan \
      -event-handler "member-failed,member-join=$work/handler.sh $i $events" -log-level err "${join[@]}" \
      >>"$work/serf-$i.log" 2>&1 &
    serf_pids+=($!)
    sleep 0.05
  done
  local deadline=$((SECONDS + 60))
  for ((i = 1; i <= n; i++)); do
    until [[ $(serf members -rpc-addr "127.0.0.1:$((base + 50 + i))" -status alive 2>/dev/null | wc -l) == "$n" ]]; do
      ((SECONDS < deadline)) || { echo "serf did not converge within 60 s" >&2; stop_serf; echo "incomplete 0 0 0"; return 0; }
      sleep 0.2
    done
  done
  sleep 3
  : >"$events"
  victim=$((2 + RANDOM % (n - 1)))
  local t0
  t0=$(now)
  kill -9 "${serf_pids[$((victim - 1))]}"
  deadline=$((SECONDS + 60))
  until [[ $(grep -c " member-failed s$victim\$" "$events" || true) -ge $((n - 1)) ]]; do
    ((SECONDS < deadline)) || break
    sleep 0.1
  done
  sleep 2
  "$PYTHON" - "$t0" "$victim" "$n" "$events" <<'P'
import statistics, sys
t0, victim, n = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
times, false = {}, 0
for line in open(sys.argv[4]):
    t, agent, event, name = line.split()
    if event != "member-failed": continue
    if name == "s" + victim: times.setdefault(agent, float(t) - t0)
    else: false += 1
d = sorted(times.values())
if len(d) < n - 1: print(f"incomplete {len(d)} {n - 1} {false}")
else: print(f"{d[0]:.2f} {statistics.median(d):.2f} {d[-1]:.2f} {false}")
P
  stop_serf
}

ours_round() {
  rm -rf "$work/c"
  unset CLUSTER_PORT_BASE  # cluster_init picks a free block below the ephemeral range
  local conf="probe-interval-ms = $probe
probe-timeout-ms = $((probe / 2))
suspicion-multiplier = 4
indirect-checks = 3
gossip-interval-ms = 200
gossip-fanout = 3
sync-interval-ms = 30000
join-wait-ms = 1500"
  cluster_init "$work/c" "$n" "$conf"
  local i
  for ((i = 1; i <= n; i++)); do
    cluster_start "$i" >/dev/null || { cluster_stop_all; echo "incomplete 0 $((n - 1)) 0 0"; return 0; }
  done
  for ((i = 1; i <= n; i++)); do
    cluster_wait_live "$i" "$n" 90 || { cluster_stop_all; echo "incomplete 0 $((n - 1)) 0 0"; return 0; }
  done
  sleep 3
  local victim=$((2 + RANDOM % (n - 1))) vid t0
  vid=$(cat "$CLUSTER_DIR/m$victim.id")
  for ((i = 1; i <= n; i++)); do wc -l <"$CLUSTER_DIR/m$i.log" >"$CLUSTER_DIR/m$i.mark"; done
  if ((loss > 0)); then
    # Every member drops LOSS% of its outgoing community messages (the
    # daemon's test fault injection), then a quiet period: any suspicion or
    # death in it, or later of another member, is a false detection.
    for ((i = 1; i <= n; i++)); do
      "$CLUSTER_GOSSIP" partition --loss "$loss" --repo "$(cluster_repo "$i")" >/dev/null
    done
    sleep "$quiet"
  fi
  t0=$(now)
  cluster_stop "$victim" KILL
  local deadline=$((SECONDS + 90)) done_n
  while ((SECONDS < deadline)); do
    done_n=0
    for ((i = 1; i <= n; i++)); do
      ((i == victim)) && continue
      grep -q "member: peer=$vid dead" "$CLUSTER_DIR/m$i.log" && done_n=$((done_n + 1))
    done
    ((done_n >= n - 1)) && break
    sleep 0.2
  done
  sleep 2
  "$PYTHON" - "$t0" "$vid" "$n" "$victim" "$CLUSTER_DIR" <<'P'
import datetime, statistics, sys
t0, vid, n, victim, d = float(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
times, false, suspected = [], 0, 0
for i in range(1, n + 1):
    if i == victim: continue
    skip = int(open(f"{d}/m{i}.mark").read())
    first = None
    for line in open(f"{d}/m{i}.log").read().splitlines()[skip:]:
        if " member: peer=" not in line: continue
        ts = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
        peer, status = line.split("peer=")[1].split()[:2]
        if peer == vid and status == "dead" and first is None: first = ts - t0
        elif peer != vid and status == "dead": false += 1
        elif peer != vid and status == "suspect": suspected += 1
    if first is not None: times.append(first)
times.sort()
# Suspicions of live members (refuted, as Lifeguard expects under loss) are
# counted apart: only a death declared is a false detection.
if len(times) < n - 1: print(f"incomplete {len(times)} {n - 1} {false} {suspected}")
else: print(f"{times[0]:.2f} {statistics.median(times):.2f} {times[-1]:.2f} {false} {suspected}")
P
  cluster_stop_all
}

echo "failure detection, $n members on loopback, probe interval $probe ms, $loss% loss, $rounds round(s); load at start $(cut -d' ' -f1-3 /proc/loadavg)"
serf_all=() ours_all=()
for ((r = 1; r <= rounds; r++)); do
  if ((loss > 0)); then s="skipped 0 0 0"; else s=$(serf_round); fi
  o=$(ours_round)
  echo "round $r: serf first/median/last $(cut -d' ' -f1-3 <<<"$s") s, false $(cut -d' ' -f4 <<<"$s");" \
    "ours $(cut -d' ' -f1-3 <<<"$o") s, false deaths $(cut -d' ' -f4 <<<"$o") (suspicions of live members $(cut -d' ' -f5 <<<"$o")); load $(cut -d' ' -f1 /proc/loadavg)"
  serf_all+=("$s")
  ours_all+=("$o")
done
"$PYTHON" - "${#serf_all[@]}" "${serf_all[@]}" "${ours_all[@]}" <<'P'
import statistics, sys
k = int(sys.argv[1])
def med(rows, col):
    v = [float(r.split()[col]) for r in rows if not r.startswith(("incomplete", "skipped"))]
    return statistics.median(v) if v else float("nan")
serf, ours = sys.argv[2:2 + k], sys.argv[2 + k:]
for name, rows in (("serf", serf), ("ours", ours)):
    print(f"{name}: median over rounds of the last survivor {med(rows, 2):.2f} s (first {med(rows, 0):.2f} s, median survivor {med(rows, 1):.2f} s)")
if med(serf, 2) == med(serf, 2): print(f"ratio ours/serf (last survivor): {med(ours, 2) / med(serf, 2):.2f}")
P
