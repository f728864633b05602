#!/usr/bin/env bash
# The performance goals (docs/performance.md), each measured against its
# reference or peer in the same run:
#   bench/goals.sh [SIZE_MIB [ROUNDS]]      (defaults 512 and 5)
# Every round runs every command once, interleaved, so that a machine whose
# load changes affects both sides of a ratio alike; the table gives medians
# over the rounds (of the times and of each round's ratio). Inputs are random
# bytes read from the page cache; outputs go to files on the same disk.
#
# The peers are installed on demand, here only (never by the tests):
# python3-zfec and python3-pyeclib from Debian, ipfs-car from npm (into
# bench/.peers, not committed). Needs ~8x SIZE of free disk.
# Environment: BUILD_DIR (default build), BENCH_DIR (scratch, default a new
# directory under bench/), NO_PEERS=1 to skip what is not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-512}
rounds=${2:-5}
bin=${BUILD_DIR:-build}
[[ $bin = /* ]] || bin=$PWD/$bin
here=$PWD/bench
work=${BENCH_DIR:-$(mktemp -d "$here/work.XXXXXX")}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
export CODEX_REPO=$work/repo
py=/usr/bin/python3  # Debian's, where python3-zfec and python3-pyeclib live

# --- peers, on demand --------------------------------------------------------
install_peers() {
  local want=()
  $py -c 'import zfec' 2>/dev/null || want+=(python3-zfec)
  $py -c 'import pyeclib' 2>/dev/null || want+=(python3-pyeclib)
  if ((${#want[@]})) && [ -z "${NO_PEERS:-}" ]; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  fi
  if [ ! -x "$here/.peers/node_modules/.bin/ipfs-car" ] && [ -z "${NO_PEERS:-}" ]; then
    mkdir -p "$here/.peers"
    npm install --prefix "$here/.peers" --no-audit --no-fund --silent ipfs-car@3 >/dev/null
  fi
}
install_peers
have_zfec=$($py -c 'import zfec' 2>/dev/null && echo 1 || true)
have_pyeclib=$($py -c 'import pyeclib' 2>/dev/null && echo 1 || true)
ipfs_car=$here/.peers/node_modules/.bin/ipfs-car
[ -x "$ipfs_car" ] || ipfs_car=""

# --- inputs ------------------------------------------------------------------
file=$work/input.bin
head -c "$((size_mib << 20))" /dev/urandom > "$file"
"$bin/codex-chunk" -q "$file" > "$work/in.car"
cat "$file" "$work/in.car" > /dev/null

# --- measuring ---------------------------------------------------------------
times=$work/times  # lines: round name seconds
spills=$work/spills
: > "$times"
: > "$spills"
# run NAME COMMAND...: wall and CPU (user + system) time of one run, the
# command's stdout discarded. BEFORE (untimed) removes what the previous round
# left: a command writing into an existing file would otherwise be timed
# truncating it first, which here waits 0.25-0.35 s for a 768 MiB file
# (the peers' output directories were always removed untimed). On a machine shared with other work the wall
# ratios lean towards the CPU ratios (the scheduler shares CPU between
# sessions, not threads), so both are reported.
run() {
  local name=$1
  shift
  [ -n "${BEFORE:-}" ] && eval "$BEFORE"
  /usr/bin/time -f '%e %U %S' -o "$work/time" sh -c "$*" > /dev/null
  read -r wall user sys < "$work/time"
  echo "$round $name $wall $(echo "$user + $sys" | bc -l)" >> "$times"
}
# Bytes a command dirtied in the page cache beyond its output file: its spill
# files (GNU time's %O counts 512-byte blocks written; page-cache writes count
# when dirtied). Pass 2 reading the data again is not a write, so it shows as 0.
spill() {
  local name=$1 output=$2
  shift 2
  /usr/bin/time -f '%O' -o "$work/oublock" sh -c "$*" > /dev/null
  local written=$(( $(tail -1 "$work/oublock") * 512 )) out
  out=$(stat -c %s "$output")
  echo "$name $(( (written - out) >> 20 )) MiB spilled ($(( written >> 20 )) MiB written, output $(( out >> 20 )) MiB)" >> "$spills"
}

enc() {  # K M: encode in.car to a file
  echo "'$bin/codex-encode' -q -k $1 -m $2 '$work/in.car' > '$work/enc.car'"
}

echo "input: $size_mib MiB of random bytes, $rounds rounds, $(nproc) cores,$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(uname -sr)"
echo "load before: $(uptime)"
# Time the hypervisor ran other guests on this machine's cores (the steal
# column of /proc/stat, in clock ticks): on a virtual machine it is lost to
# every command alike, but a burst of it during one command skews its ratio.
stolen() { awk '/^cpu /{print $9}' /proc/stat; }
steal_before=$(stolen)
for round in $(seq 1 "$rounds"); do
  run sha_in "openssl dgst -sha256 '$file'"
  run chunk_null "'$bin/codex-chunk' -q '$file' > /dev/null"
  BEFORE="rm -f '$work/out.car'" run chunk_car "'$bin/codex-chunk' -q '$file' > '$work/out.car'"
  if [ -n "$ipfs_car" ]; then
    BEFORE="rm -f '$work/ipfs.car'" run ipfs_car "'$ipfs_car' pack --no-wrap '$file' > '$work/ipfs.car' 2>/dev/null"
  fi
  run sha_car "openssl dgst -sha256 '$work/in.car'"
  for km in "4 2" "10 4"; do
    set -- $km
    BEFORE="rm -f '$work/enc.car'" run "encode_$1_$2" "$(enc "$1" "$2")"
    BEFORE="rm -f '$work/enc.car'" run "encode_pipe_$1_$2" "cat '$work/in.car' | '$bin/codex-encode' -q -k $1 -m $2 > '$work/enc.car'"
    if [ -n "$have_zfec" ]; then
      BEFORE="rm -rf '$work/zfec'" run "zfec_$1_$2" "$py '$here/peers.py' zfec $1 $(($1 + $2)) '$work/in.car' '$work/zfec'"
    fi
    if [ -n "$have_pyeclib" ]; then
      BEFORE="rm -rf '$work/ecl'" run "pyeclib_$1_$2" "$py '$here/peers.py' pyeclib $1 $2 '$work/in.car' '$work/ecl'"
    fi
  done
  rm -rf "$work/zfec" "$work/ecl"
  BEFORE="rm -f '$work/copy'; sync" run cp_sync "cp '$file' '$work/copy' && sync"
  rm -f "$work/copy"
  BEFORE="rm -rf '$CODEX_REPO'; sync" run chunk_put "'$bin/codex-chunk' -q '$file' | '$bin/codex-put' && sync"
done

# Reading a K=4 M=2 dataset back, intact and with two data slots lost.
rm -rf "$CODEX_REPO"
"$bin/codex-encode" -q -k 4 -m 2 "$work/in.car" | "$bin/codex-put" > "$work/pcid"
cp -r "$CODEX_REPO" "$work/intact"
pcid=$(cat "$work/pcid")
$py - "$CODEX_REPO/codex.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
count, leaves = db.execute("SELECT leaf_count, leaves FROM trees ORDER BY leaf_count DESC LIMIT 1").fetchone()
steps = count // 6
for slot in (0, 1):  # two data slots: every group needs decoding
    for i in range(slot * steps, (slot + 1) * steps):
        db.execute("DELETE FROM blocks WHERE digest = ?", (leaves[i * 32:(i + 1) * 32],))
db.commit()
PY
for round in $(seq 1 "$rounds"); do
  BEFORE="rm -f '$work/got'" run get_lost "'$bin/codex-get' $pcid > '$work/got'"
  BEFORE="rm -f '$work/got'" run get_intact "CODEX_REPO='$work/intact' '$bin/codex-get' $pcid > '$work/got'"
  run get_lost_pipe "'$bin/codex-get' $pcid | cat > /dev/null"
  run get_intact_pipe "CODEX_REPO='$work/intact' '$bin/codex-get' $pcid | cat > /dev/null"
done
cmp -s "$work/got" "$file" || { echo "codex-get returned other bytes" >&2; exit 1; }

# Spill: what each encode wrote beyond its output.
for km in "4 2" "10 4"; do
  set -- $km
  spill "encode -k $1 -m $2 FILE > FILE" "$work/enc.car" "$(enc "$1" "$2")"
  spill "encode -k $1 -m $2 < pipe > FILE" "$work/enc.car" \
    "cat '$work/in.car' | '$bin/codex-encode' -q -k $1 -m $2 > '$work/enc.car'"
done
echo "load after:  $(uptime)"
echo "CPU time stolen by the hypervisor meanwhile: $(echo "scale=2; ($(stolen) - $steal_before) / $(getconf CLK_TCK)" | bc -l) s"

# --- the table -----------------------------------------------------------------
$py - "$times" <<'PY'
import statistics, sys
from collections import defaultdict
wall, cpu = defaultdict(dict), defaultdict(dict)
for line in open(sys.argv[1]):
    r, name, w, c = line.split()
    wall[name][int(r)], cpu[name][int(r)] = float(w), float(c)
def ratio(table, name, ref, invert):
    rounds = sorted(set(table[name]) & set(table[ref]))
    ratios = [table[name][r] / table[ref][r] for r in rounds]
    return statistics.median([1 / x for x in ratios] if invert else ratios)
# faster=True: the goal is to beat the peer ("faster than"), so a ratio of
# exactly the goal is not met.
def row(label, name, ref_label, ref, goal, higher_is_better=False, faster=False):
    if not wall.get(name) or not wall.get(ref):
        print(f"{label:40} (not measured: {ref_label})")
        return
    w, c = ratio(wall, name, ref, higher_is_better), ratio(cpu, name, ref, higher_is_better)
    ok = (w >= goal) if higher_is_better else (round(w, 2) < goal if faster else w <= goal)
    med = lambda t, n: statistics.median(t[n].values())
    print(f"{label:40} {med(wall, name):6.2f} {med(cpu, name):6.2f}  {ref_label:32} {med(wall, ref):6.2f} {med(cpu, ref):6.2f}"
          f"  {w:5.2f} {c:5.2f}  {'>=' if higher_is_better else '<' if faster else '<='} {goal:<4} {'met' if ok else 'NOT met'}")
print()
print(f"{'command':40} {'wall':>6} {'cpu':>6}  {'reference (same rounds)':32} {'wall':>6} {'cpu':>6}  ratio: wall cpu  goal (wall)")
row("codex-chunk F > /dev/null", "chunk_null", "openssl dgst -sha256 F", "sha_in", 0.6)
row("codex-chunk F > out.car", "chunk_car", "ipfs-car pack F", "ipfs_car", 0.2)
for k, m in ((4, 2), (10, 4)):
    row(f"codex-encode -k {k} -m {m} IN.car > out", f"encode_{k}_{m}", "openssl dgst -sha256 IN.car", "sha_car", 2.0)
    row(f"codex-encode -k {k} -m {m} IN.car > out", f"encode_{k}_{m}", f"zfec {k}-of-{k+m} share files", f"zfec_{k}_{m}", 1.0, faster=True)
    row(f"codex-encode -k {k} -m {m} IN.car > out", f"encode_{k}_{m}", f"PyECLib isa_l_rs_cauchy {k}+{m}", f"pyeclib_{k}_{m}", 1.0, faster=True)
    row(f"cat IN.car | codex-encode -k {k} -m {m}", f"encode_pipe_{k}_{m}", "openssl dgst -sha256 IN.car", "sha_car", 2.0)
row("codex-get > file, 2 of 6 slots lost", "get_lost", "the same, nothing lost", "get_intact", 0.6, True)
row("codex-get | cat, 2 of 6 slots lost", "get_lost_pipe", "the same, nothing lost", "get_intact_pipe", 0.6, True)
row("codex-chunk F | codex-put (+ sync)", "chunk_put", "cp F + sync", "cp_sync", 2.0)
print("(seconds, medians over the rounds; a ratio is the median of the rounds' ratios;")
print(" for get it is speed lost / speed intact, higher is better)")
PY
echo
cat "$spills"
