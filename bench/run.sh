#!/usr/bin/env bash
# Benchmarks of the data path against references measured in the same run.
#   bench/run.sh [SIZE_MIB]       (default 1024; needs ~6x SIZE of free disk)
# Prints each figure and its ratio to the reference (lower is better for
# times; a ratio <= 1.0 means at least as fast as the reference). Files are
# read from the page cache (warmed first). Best of 3 runs for each command.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-1024}
bin=$PWD/${BUILD_DIR:-build}
work=${BENCH_DIR:-$(mktemp -d "$PWD/bench-work.XXXXXX")}
trap 'rm -rf "$work"' EXIT
export CODEX_REPO=$work/repo

best() {  # best wall time of 3 runs of a shell command, in seconds
  local best=999999 t0 t1 t
  for _ in 1 2 3; do
    [ -n "${BEFORE:-}" ] && eval "$BEFORE"
    t0=$(date +%s.%N); eval "$1" >/dev/null; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc -l); (( $(echo "$t < $best" | bc -l) )) && best=$t
  done
  printf '%.3f' "$best"
}
report() {  # name, time, reference name, reference time
  printf '%-44s %8.3f s   %-28s %8.3f s   ratio %5.2f   %6.0f MiB/s\n' "$1" "$2" "$3" "$4" \
    "$(echo "$2 / $4" | bc -l)" "$(echo "$size_mib / $2" | bc -l)"
}

file=$work/input.bin
head -c "$((size_mib << 20))" /dev/urandom > "$file"
cat "$file" > /dev/null
echo "input: $size_mib MiB random, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

ref_sha=$(best "openssl dgst -sha256 '$file'")
t=$(best "'$bin/codex-chunk' -q '$file' > /dev/null")
report "codex-chunk FILE > /dev/null" "$t" "openssl dgst -sha256" "$ref_sha"

ref_cp=$(BEFORE="rm -f '$work/copy'" best "cp '$file' '$work/copy' && sync")
t=$(BEFORE="rm -rf '$CODEX_REPO'" best "'$bin/codex-chunk' -q '$file' | '$bin/codex-put' && sync")
report "codex-chunk FILE | codex-put" "$t" "cp FILE + sync" "$ref_cp"
cid=$("$bin/codex-chunk" -q "$file" | "$bin/codex-put")

ref_cat=$(best "cat '$file' > /dev/null")
t=$(best "'$bin/codex-get' $cid > /dev/null")
report "codex-get CID > /dev/null" "$t" "cat FILE > /dev/null" "$ref_cat"

"$bin/codex-chunk" -q "$file" -o "$work/plain.car" >/dev/null
ref_car=$(best "openssl dgst -sha256 '$work/plain.car'")
for km in "4 2" "10 4"; do
  set -- $km
  t=$(best "'$bin/codex-encode' -q -k $1 -m $2 '$work/plain.car' > /dev/null")
  report "codex-encode -k $1 -m $2 (file) > /dev/null" "$t" "openssl dgst -sha256 (CAR)" "$ref_car"
  if [ -x "$bin/erasure_bench" ]; then
    # liberasurecode_encode as a plain caller uses it (fresh buffers per call),
    # same geometry and amount of data: prints GB/s of data in.
    rate=$("$bin/erasure_bench" --raw isa_l_rs_cauchy "$1" "$2" $((64 << 20)) "$(echo "$size_mib / 1024" | bc -l)")
    raw=$(echo "$size_mib * 1048576 / ($rate * 1000000000)" | bc -l)
    report "codex-encode -k $1 -m $2 (file) > /dev/null" "$t" "raw liberasurecode encode" "$raw"
  fi
done

# Reading a protected dataset with M slots lost vs none.
"$bin/codex-encode" -q -k 4 -m 2 "$work/plain.car" | "$bin/codex-put" > "$work/pcid"
pcid=$(cat "$work/pcid")
t_all=$(best "'$bin/codex-get' $pcid > /dev/null")
python3 - "$CODEX_REPO/codex.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
count, leaves = db.execute("SELECT leaf_count, leaves FROM trees ORDER BY leaf_count DESC LIMIT 1").fetchone()
steps = count // 6
for slot in (0, 1):  # two data slots: every group needs decoding
    for i in range(slot * steps, (slot + 1) * steps):
        db.execute("DELETE FROM blocks WHERE digest = ?", (leaves[i * 32:(i + 1) * 32],))
db.commit()
PY
t_lost=$(best "'$bin/codex-get' $pcid > /dev/null")
report "codex-get, 2 of 6 slots lost (K=4 M=2)" "$t_lost" "codex-get, no loss" "$t_all"
"$bin/codex-repair" -q "$pcid" >/dev/null || true

# Storage proofs: one proof of slot 2, made and checked.
challenge=$(openssl rand -hex 32)
# The first proof of a slot reads the whole slot for its cell roots (cached).
first=$(BEFORE="sqlite3 '$CODEX_REPO/codex.db' 'DELETE FROM slot_trees'" \
  best "'$bin/codex-verify' --prove $pcid --slot 2 --challenge $challenge -o '$work/proof.json'")
t=$(best "'$bin/codex-verify' --prove $pcid --slot 2 --challenge $challenge -o '$work/proof.json'")
c=$(best "'$bin/codex-verify' -q --check-proof '$work/proof.json'")
printf '%-44s %8.3f s (reads and hashes the %d MiB slot)\n' "codex-verify --prove, first proof of a slot" "$first" "$((size_mib / 4))"
printf '%-44s %8.3f s (cell roots cached; process start included)\n' "codex-verify --prove, later proofs" "$t"
printf '%-44s %8.3f s (process start included)\n' "codex-verify --check-proof" "$c"
