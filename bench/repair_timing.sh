#!/usr/bin/env bash
# From a holder's death to the dataset's full health, real daemons on
# loopback, split into its phases, and the rebuild's throughput against
# codex-repair of the same slot from a local full copy:
#   bench/repair_timing.sh [SLOT_MIB [ROUNDS]]   (defaults 64, 1)
# Eight members (scripts/community-cluster.sh's short test intervals: probe
# 500 ms, heartbeat 1 s, loss after 4 missed); member 8 stores a K=4 M=2
# file of 4 x SLOT_MIB (so each slot is SLOT_MIB), `codex-put --wait` until
# six members hold their slots, then leaves (TERM): every block of the
# repair comes from holders. One holder is killed (SIGKILL) at t0. From the
# members' logs (millisecond timestamps):
#   detection  t0 -> the first survivor logs the holder suspect / dead
#   claim      dead -> the rebuilding member logs "rebuilding" (loss
#              confirmed by two watchers, repair requested, claimed)
#   fetch      its "rebuilt" line: metadata + fetch ms (K rows of the slot's
#              groups, from the other holders, every block checked)
#   decode     its "rebuilt" line: decode ms (and store ms: slot root check)
#   health     t0 -> a survivor's `codex-gossip dataset` shows every slot held
# Reference: the uploader's full copy with that slot's block rows deleted,
# `codex-repair CID` on it (wall, user+sys). Printed per round, then medians.
# Needs ~12 x SLOT_MIB of disk. Environment: BUILD_DIR (default build), TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."
slot_mib=${1:-64}
rounds=${2:-1}
CODEX_BIN=${BUILD_DIR:-build}
[[ $CODEX_BIN = /* ]] || CODEX_BIN=$PWD/$CODEX_BIN
export CODEX_BIN
PYTHON=$(command -v python3)
source scripts/community-cluster.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/codex-repair-timing.XXXXXX")
trap 'cluster_stop_all 2>/dev/null; rm -rf "$work"' EXIT
N=8
UP=8
now() { date +%s.%N; }
results=()

for ((r = 1; r <= rounds; r++)); do
  rm -rf "$work/c" "$work/ref"
  CLUSTER_PORT_BASE=$((20000 + (RANDOM % 400) * 100))
  cluster_init "$work/c" $N
  for ((i = 1; i <= N; i++)); do cluster_start "$i" >/dev/null; done
  for ((i = 1; i <= N; i++)); do cluster_wait_live "$i" $N 60; done
  head -c $((4 * slot_mib * 1024 * 1024)) /dev/urandom >"$work/file"
  cid=$("$CODEX_BIN/codex-chunk" -q "$work/file" | "$CODEX_BIN/codex-encode" -q -k 4 -m 2 |
    "$CODEX_BIN/codex-put" -q --wait --wait-timeout 600 --repo "$(cluster_repo $UP)")
  rm -f "$work/file"
  cluster_stop $UP TERM
  cp -r "$(cluster_repo $UP)" "$work/ref"
  read -r -a holders <<<"$(cluster_view_field 1 "$cid" holders)"
  slot=$((RANDOM % 6))
  victim=$(cluster_index_of "${holders[$slot]}")
  watch=1
  [[ $watch == "$victim" ]] && watch=2
  sleep 3
  for ((i = 1; i <= N; i++)); do wc -l <"$CLUSTER_DIR/m$i.log" >"$CLUSTER_DIR/m$i.mark"; done
  t0=$(now)
  cluster_stop "$victim" KILL
  deadline=$((SECONDS + 600))
  t_health=""
  while ((SECONDS < deadline)); do
    read -r -a now_holders <<<"$(cluster_view_field "$watch" "$cid" holders)"
    if [[ $(cluster_view_field "$watch" "$cid" complete) == yes && ${now_holders[$slot]} != "${holders[$slot]}" ]]; then
      t_health=$(now)
      break
    fi
    sleep 0.2
  done
  load=$(cut -d' ' -f1 /proc/loadavg)
  [[ -n $t_health ]] || { echo "round $r: no full health within 600 s"; cluster_stop_all; continue; }
  line=$("$PYTHON" - "$t0" "$t_health" "$(cat "$CLUSTER_DIR/m$victim.id")" "$slot" "$cid" "$CLUSTER_DIR" "$N" "$victim" <<'P'
import datetime, re, sys
t0, th, vid, slot, cid, d, n, victim = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7]), int(sys.argv[8])
def ts(line):
    return datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()
suspect = dead = None
rebuilt = None
starts = {}
for i in range(1, n + 1):
    if i == victim: continue
    skip = int(open(f"{d}/m{i}.mark").read())
    for line in open(f"{d}/m{i}.log").read().splitlines()[skip:]:
        if f"member: peer={vid} suspect" in line and (suspect is None or ts(line) < suspect): suspect = ts(line)
        if f"member: peer={vid} dead" in line and (dead is None or ts(line) < dead): dead = ts(line)
        if f"dataset={cid} slot={slot} rebuilding" in line: starts[i] = ts(line)
        m = re.search(rf"dataset={cid} slot={slot} rebuilt: (\d+) blocks, (\d+) bytes fetched in (\d+) ms \(metadata (\d+) ms, fetch (\d+) ms, decode (\d+) ms, store (\d+) ms\)", line)
        if m: rebuilt = (i, ts(line)) + tuple(int(x) for x in m.groups())
if rebuilt is None: print("no rebuilt line"); sys.exit()
i, t_rebuilt, blocks, fetched, total, meta, fetch, decode, store = rebuilt
detect = min(x for x in (suspect, dead, starts[i]) if x is not None)
print(f"{(suspect or float('nan')) - t0:.2f} {(dead or float('nan')) - t0:.2f} {starts[i] - (dead or detect):.2f} "
      f"{(meta + fetch) / 1000:.2f} {decode / 1000:.2f} {store / 1000:.2f} {total / 1000:.2f} {th - t0:.2f} {fetched}")
P
)
  cluster_stop_all
  # The reference: the full copy with the slot's rows deleted, codex-repair.
  "$PYTHON" - "$work/ref/codex.db" "$slot" 6 <<'P'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
slot, slots = int(sys.argv[2]), int(sys.argv[3])
(tree,) = db.execute("SELECT tree_cid FROM datasets").fetchone()
(count, leaves) = db.execute("SELECT leaf_count, leaves FROM trees WHERE tree_cid = ?", (tree,)).fetchone()
steps = count // slots
digests = [leaves[32 * i:32 * i + 32] for i in range(slot * steps, (slot + 1) * steps)]
db.executemany("DELETE FROM blocks WHERE digest = ?", [(x,) for x in digests])
db.commit()
P
  sync
  /usr/bin/time -f "%e %U %S" -o "$work/ref.time" "$CODEX_BIN/codex-repair" -q "$cid" --repo "$work/ref" >/dev/null 2>&1 || true
  "$CODEX_BIN/codex-verify" -q "$cid" --repo "$work/ref" || echo "round $r: the reference repair did not leave the dataset intact"
  ref=$(tail -1 "$work/ref.time")
  read -r s_suspect s_dead s_claim s_fetch s_decode s_store s_total s_health fetched <<<"$line"
  read -r ref_wall ref_user ref_sys <<<"$ref"
  echo "round $r (slot $slot, $slot_mib MiB, load $load): suspect ${s_suspect} s, dead ${s_dead} s after the kill; claim +${s_claim} s;" \
    "rebuild ${s_total} s (fetch ${s_fetch} s of $((fetched / 1048576)) MiB, decode ${s_decode} s, store/check ${s_store} s);" \
    "full health ${s_health} s after the kill; codex-repair from a local copy ${ref_wall} s wall (${ref_user}+${ref_sys} s CPU)"
  results+=("$line $ref_wall")
  rm -rf "$work/ref"
done
"$PYTHON" - "$slot_mib" "${results[@]}" <<'P'
import statistics, sys
mib = int(sys.argv[1])
rows = [[float(x) for x in r.split()] for r in sys.argv[2:]]
if not rows: sys.exit()
med = lambda c: statistics.median(r[c] for r in rows)
print(f"medians over {len(rows)} round(s): suspect {med(0):.2f} s, dead {med(1):.2f} s, claim +{med(2):.2f} s, "
      f"fetch {med(3):.2f} s, decode {med(4):.2f} s, store {med(5):.2f} s, rebuild {med(6):.2f} s, full health {med(7):.2f} s")
print(f"rebuild throughput {mib / med(6):.1f} MiB/s of slot; codex-repair from a local copy {mib / med(9):.1f} MiB/s "
      f"({med(9):.2f} s); ratio community/local {med(9) / med(6):.2f}")
P
