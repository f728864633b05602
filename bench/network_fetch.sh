#!/usr/bin/env bash
# A dataset fetched over loopback from three members, against codex-get from
# the local repository, same run, same machine:
#   bench/network_fetch.sh [SIZE_MIB [ROUNDS [MODES]]]   (defaults 1024, 1, "stream store")
# Three holders run codex-gossip daemons with the dataset in their
# repositories; a fourth member, f, with an empty repository, runs
# `codex-get CID -o FILE` through its daemon:
#   stream  blocks come from the members through f's daemon as a block
#           source (verified, written to the output, not stored)
#   store   --store: f's daemon fetches the dataset into f's repository
#           (verified and stored), then codex-get reads it (f's repository
#           is emptied and its daemon restarted before each such round)
# The reference is `codex-get CID -o OUT` on a holder. OUT is /dev/null (the
# fetch, not the disk, is measured; this machine's disk writes vary tenfold),
# or, with OUTPUT=file, a file in the scratch directory. Whatever the mode,
# the fetched bytes are compared with the original once more at the end. For each run: wall
# time, MiB/s, the ratio to the local get of the same round, and CPU seconds
# (user+sys) of codex-get and of all four daemons during it (and of f's and
# each holder's daemon). The load average is printed before each round. Also printed:
# each daemon's resident memory when idle (VmRSS) before and after.
# Environment: BUILD_DIR (default build), BENCH_DIR (scratch; default a new
# directory under bench/; needs ~5x SIZE of free disk), OUTPUT (null or
# file), PERF_OUT (record `perf record -a -g` into this file during the
# first stream run).
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
rounds=${2:-1}
modes=${3:-stream store}
bin=${BUILD_DIR:-build}
[[ $bin = /* ]] || bin=$PWD/$bin
work=${BENCH_DIR:-$(mktemp -d "$PWD/bench/work.XXXXXX")}
mkdir -p "$work"
pids=(0 0 0 0)
cleanup() {
  for p in "${pids[@]}"; do [[ $p == 0 ]] || kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
G=$bin/codex-gossip
names=(h1 h2 h3 f)
out=/dev/null
[[ ${OUTPUT:-null} == file ]] && out=$work/out

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status"; }
status_field() { "$G" status --json --repo "$work/$1" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$2\"])"; }
# CPU seconds (user+sys) a process has used so far.
cpu() { awk -v t="$(getconf CLK_TCK)" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
daemons_cpu() {
  local sum=0
  for p in "${pids[@]}"; do sum=$(python3 -c "print($sum + $(cpu "$p"))"); done
  echo "$sum"
}
# Runs a command; prints "WALL USER+SYS" of it (children included).
timed() {
  python3 - "$@" <<'EOF'
import os, sys, time
t = time.monotonic()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
wall = time.monotonic() - t
if os.waitstatus_to_exitcode(status) != 0:
    sys.exit(f"{sys.argv[1]} failed (exit {os.waitstatus_to_exitcode(status)})")
print(f"{wall:.3f} {usage.ru_utime + usage.ru_stime:.3f}")
EOF
}

start_daemon() {  # index
  local m=${names[$1]} args=()
  for ((j = 0; j < $1; j++)); do args+=(--bootstrap "${addrs[$j]}"); done
  "$G" run --repo "$work/$m" --listen /ip4/127.0.0.1/tcp/0 "${args[@]}" 2>>"$work/$m.log" &
  pids[$1]=$!
  for _ in $(seq 100); do "$G" status --repo "$work/$m" >/dev/null 2>&1 && break; sleep 0.1; done
  addrs[$1]=$("$G" status --json --repo "$work/$m" | python3 -c 'import json,sys; print(json.load(sys.stdin)["listen"][0])')
}
wait_connected() {
  for _ in $(seq 200); do
    [[ $(status_field f members_connected) == 3 ]] && return 0
    sleep 0.1
  done
  echo "f did not see three members" >&2
  exit 1
}

"$G" community create --repo "$work/h1" >/dev/null 2>&1
for m in h2 h3 f; do
  "$G" admit "$("$G" id --repo "$work/$m")" --repo "$work/h1" -o "$work/$m.cert" 2>/dev/null
  "$G" join "$work/$m.cert" --repo "$work/$m" 2>/dev/null
done
head -c $((size_mib << 20)) /dev/urandom >"$work/data"
cid=$("$bin/codex-chunk" -q "$work/data" | "$bin/codex-put" -q --repo "$work/h1")
for m in h2 h3; do "$bin/codex-get" "$cid" --car --repo "$work/h1" | "$bin/codex-put" -q --repo "$work/$m" >/dev/null; done
"$bin/codex-repo" init --repo "$work/f" >/dev/null 2>&1 || true

addrs=()
for i in 0 1 2 3; do start_daemon $i; done
wait_connected
sleep 2
echo "idle RSS with 3 peers: h1 $(rss "${pids[0]}"), f $(rss "${pids[3]}")"

report() {  # label wall cpu daemons_cpu local_wall
  python3 - "$size_mib" "$@" <<'EOF'
import sys
size, label, wall, cpu, dcpu, local, *f = int(sys.argv[1]), sys.argv[2], *map(float, sys.argv[3:])
ratio = f"; ratio {local / wall * 100:.0f}% of local" if label != "local" else ""
fetcher = f" (f's {f[0]:.2f} s; holders' {f[1]:.2f} / {f[2]:.2f} / {f[3]:.2f} s)" if f else ""
print(f"  {label:7s} {wall:7.2f} s {size / wall:6.0f} MiB/s; CPU codex-get {cpu:.2f} s, daemons {dcpu:.2f} s{fetcher}{ratio}")
EOF
}

echo "$size_mib MiB dataset, three holders:"
for ((r = 1; r <= rounds; r++)); do
  sync
  echo "round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  d0=$(daemons_cpu)
  read -r lwall lcpu < <(timed "$bin/codex-get" "$cid" --repo "$work/h1" -o "$out")
  d1=$(daemons_cpu)
  report local "$lwall" "$lcpu" "$(python3 -c "print($d1 - $d0)")" "$lwall"
  for mode in $modes; do
    flags=()
    if [[ $mode == store ]]; then
      flags=(${STORE_FLAG---store})
      kill "${pids[3]}"; wait "${pids[3]}" 2>/dev/null || true
      find "$work/f" -mindepth 1 -maxdepth 1 ! -name node.key ! -name membership.cert ! -name revocations -exec rm -rf {} +
      "$bin/codex-repo" init --repo "$work/f" >/dev/null 2>&1 || true
      start_daemon 3
      wait_connected
    fi
    perf_pid=
    if [[ -n ${PERF_OUT:-} && $mode == stream && $r == 1 ]]; then
      perf record -a -g -o "$PERF_OUT" 2>/dev/null &
      perf_pid=$!
      sleep 1
    fi
    d0=$(daemons_cpu)
    f0=$(cpu "${pids[3]}")
    h0=($(cpu "${pids[0]}") $(cpu "${pids[1]}") $(cpu "${pids[2]}"))
    wall=
    read -r wall ncpu < <(timed "$bin/codex-get" "$cid" --repo "$work/f" -o "$out" -v "${flags[@]}" 2>"$work/get.err")
    d1=$(daemons_cpu)
    f1=$(cpu "${pids[3]}")
    h1=($(cpu "${pids[0]}") $(cpu "${pids[1]}") $(cpu "${pids[2]}"))
    [[ -n $perf_pid ]] && { kill -INT "$perf_pid"; wait "$perf_pid" || true; }
    [[ -n ${wall:-} ]] || { echo "codex-get failed ($mode)" >&2; cat "$work/get.err" >&2; exit 1; }
    if [[ $out != /dev/null ]]; then
      cmp -s "$work/data" "$out" || { echo "fetched data differs ($mode)" >&2; cat "$work/get.err" >&2; exit 1; }
      rm -f "$out"
    fi
    report "$mode" "$wall" "$ncpu" "$(python3 -c "print($d1 - $d0)")" "$lwall" "$(python3 -c "print($f1 - $f0)")" \
      "$(python3 -c "print(${h1[0]} - ${h0[0]})")" "$(python3 -c "print(${h1[1]} - ${h0[1]})")" \
      "$(python3 -c "print(${h1[2]} - ${h0[2]})")"
  done
done
for mode in $modes; do
  flags=()
  [[ $mode == store ]] && flags=(--store)
  "$bin/codex-get" "$cid" --repo "$work/f" -q "${flags[@]}" | cmp -s "$work/data" - ||
    { echo "fetched data differs ($mode)" >&2; exit 1; }
done
echo "fetched bytes equal the original (${modes// /, })"
sleep 2
echo "idle RSS after: h1 $(rss "${pids[0]}"), h2 $(rss "${pids[1]}"), f $(rss "${pids[3]}")"
