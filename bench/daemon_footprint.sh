#!/usr/bin/env bash
# The codex-gossip daemon's footprint with many members connected: its RSS
# and CPU while idle, then its peak RSS while codex-get streams a dataset
# from another member through it, the members still connected.
#   bench/daemon_footprint.sh [PEERS] [IDLE_SECONDS] [FETCH_MIB] [core|no-core]
# (defaults 100 30 256 core). The daemon measured ("hub", the community's
# owner) is a real `codex-gossip run`; the PEERS members are real daemons
# too, run in one process by swarm_bench (cmake --build build --target
# swarm_bench); a holder daemon has the dataset. RSS is VmRSS / VmHWM of
# /proc/PID/status (peak reset with clear_refs before the fetch), CPU is
# utime+stime of /proc/PID/stat.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BUILD_DIR:-build}
[[ $bin = /* ]] || bin=$PWD/$bin
peers=${1:-100} idle=${2:-30} mib=${3:-256} core=${4:-core}
gossip=$bin/codex-gossip
for t in "$gossip" "$bin/swarm_bench" "$bin/codex-chunk" "$bin/codex-put" "$bin/codex-get"; do
  [[ -x $t ]] || { echo "daemon_footprint: $t is not built" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/codex-footprint.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
status_field() { "$gossip" status --json --repo "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local limit=$1 what=$2
  shift 2
  for _ in $(seq 1 $((limit * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "daemon_footprint: timed out waiting for $what" >&2
  exit 1
}
at_least() { [[ $(status_field "$1" members_connected) -ge $2 ]]; }
kib() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)

"$gossip" community create --repo "$work/hub" >/dev/null 2>&1
"$gossip" admit "$("$gossip" id --repo "$work/holder")" --repo "$work/hub" -o "$work/holder.cert" 2>/dev/null
"$gossip" join "$work/holder.cert" --repo "$work/holder" >/dev/null 2>&1
head -c "$((mib << 20))" /dev/urandom >"$work/data"
dataset=$("$bin/codex-chunk" -q "$work/data" | "$bin/codex-put" -q --repo "$work/holder")
rm -f "$work/data"
conf="protocol-core = $([[ $core == core ]] && echo yes || echo no)"
echo "$conf" >"$work/hub/gossip.conf"
echo "$conf" >"$work/holder/gossip.conf"

"$gossip" run --repo "$work/hub" --listen /ip4/127.0.0.1/tcp/0 2>"$work/hub.log" &
hub=$!
pids+=($hub)
wait_for 10 "the hub" "$gossip" status --repo "$work/hub"
hub_addr=$("$gossip" status --json --repo "$work/hub" | python3 -c "import json,sys; print(json.load(sys.stdin)['listen'][0])")
"$gossip" run --repo "$work/holder" --listen /ip4/127.0.0.1/tcp/0 --bootstrap "$hub_addr" 2>"$work/holder.log" &
pids+=($!)
start=$(date +%s.%N)
"$bin/swarm_bench" "$peers" "$work/swarm" "$work/hub/community-owner.key" "$hub_addr" "$core" 2>"$work/swarm.log" &
pids+=($!)
wait_for 300 "$peers members and the holder at the hub" at_least "$work/hub" $((peers + 1))
echo "members connected to the hub: $(status_field "$work/hub" members_connected) (in $(echo "$(date +%s.%N) - $start" | bc) s), protocol core: $core"
sleep 5
rss0=$(kib $hub VmRSS) c0=$(cpu_ticks $hub)
sleep "$idle"
rss1=$(kib $hub VmRSS) c1=$(cpu_ticks $hub)
echo "hub idle: RSS $((rss0 / 1024)) MiB at start, $((rss1 / 1024)) MiB after ${idle} s ($rss1 KiB); CPU $(echo "scale=2; ($c1 - $c0) / $tck" | bc) s over ${idle} s ($(echo "scale=2; 100 * ($c1 - $c0) / $tck / $idle" | bc)% of one core)"
echo 5 >"/proc/$hub/clear_refs"  # VmHWM from here
c0=$(cpu_ticks $hub)
/usr/bin/time -f "%e %U %S" -o "$work/time" "$bin/codex-get" "$dataset" --repo "$work/hub" -o /dev/null
read -r wall user sys <"$work/time"
c1=$(cpu_ticks $hub)
echo "codex-get of $mib MiB streamed from the holder through the hub: ${wall} s wall, codex-get CPU $(echo "$user + $sys" | bc) s, hub CPU $(echo "scale=2; ($c1 - $c0) / $tck" | bc) s"
echo "hub during the fetch: peak RSS $(( $(kib $hub VmHWM) / 1024 )) MiB; just after $(( $(kib $hub VmRSS) / 1024 )) MiB"
sleep 8
echo "hub 8 s after the fetch: RSS $(( $(kib $hub VmRSS) / 1024 )) MiB, members connected $(status_field "$work/hub" members_connected)"
