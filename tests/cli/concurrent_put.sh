# Two codex-puts into one repository at the same time: both succeed, both
# datasets round-trip, and the packs and index stay consistent (each writer
# holds its own pack; SQLite serialises the commits).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

step "seed $CODEX_TEST_SEED"
new_repo repo
MiB=1048576
declare -A stored  # CID -> input file

# put_bg FILE TAG: codex-chunk FILE | codex-put in the background; PID in $bg_pid.
put_bg() {
  "$CHUNK" -q <"$1" | "$PUT" >"$TEST_TMP/$2.cid" 2>"$TEST_TMP/$2.err" &
  bg_pid=$!
  track_pid "$bg_pid"
}

# finish PID TAG FILE: the put exits 0 with the right CID, and round-trips.
finish() {
  local code=0 cid
  wait "$1" || code=$?
  [[ $code == 0 ]] || fail "concurrent put '$2' exited with $code: $(cat "$TEST_TMP/$2.err")"
  cid=$(cat "$TEST_TMP/$2.cid")
  expect_eq "CID of concurrent put '$2'" "$cid" "$("$CHUNK" --cid-only <"$3")"
  stored[$cid]=$3
}

check_all() {
  local cid files committed
  check_integrity
  for cid in "${!stored[@]}"; do check_get "$cid" "${stored[$cid]}"; done
  expect_eq "datasets" "$(dataset_count)" "${#stored[@]}"
  files=$(pack_bytes)
  committed=$(sql "SELECT IFNULL(SUM(committed_size), 0) FROM packs")
  expect_eq "pack bytes vs committed bytes" "$files" "$committed"
}

for round in 1 2 3; do
  step "round $round: two different files at once"
  random_file "$TEST_TMP/a$round" "$(random_between $((2 * MiB)) $((4 * MiB)))"
  random_file "$TEST_TMP/b$round" "$(random_between $((2 * MiB)) $((4 * MiB)))"
  put_bg "$TEST_TMP/a$round" "a$round"
  pid_a=$bg_pid
  put_bg "$TEST_TMP/b$round" "b$round"
  pid_b=$bg_pid
  finish "$pid_a" "a$round" "$TEST_TMP/a$round"
  finish "$pid_b" "b$round" "$TEST_TMP/b$round"
  check_all
done

# Both writers hold a batch (and so a pack lock) at the same moment: each
# reads half its stream from a FIFO, then waits for the rest.
step "two puts that certainly overlap: both halfway through their streams at once"
for tag in x y; do
  random_file "$TEST_TMP/$tag" $((3 * MiB))
  "$CHUNK" -q <"$TEST_TMP/$tag" >"$TEST_TMP/$tag.car"
  mkfifo "$TEST_TMP/$tag.fifo"
done
"$PUT" <"$TEST_TMP/x.fifo" >"$TEST_TMP/x.cid" 2>"$TEST_TMP/x.err" &
pid_x=$!
track_pid "$pid_x"
"$PUT" <"$TEST_TMP/y.fifo" >"$TEST_TMP/y.cid" 2>"$TEST_TMP/y.err" &
pid_y=$!
track_pid "$pid_y"
exec 3>"$TEST_TMP/x.fifo" 4>"$TEST_TMP/y.fifo"
half=$((3 * MiB / 2))
head -c "$half" "$TEST_TMP/x.car" >&3
head -c "$half" "$TEST_TMP/y.car" >&4
sleep 0.2
packs_in_use=$(find "$REPO/packs" -name 'pack-*.dat' | wc -l)
tail -c +$((half + 1)) "$TEST_TMP/y.car" >&4
exec 4>&-
tail -c +$((half + 1)) "$TEST_TMP/x.car" >&3
exec 3>&-
finish "$pid_x" x "$TEST_TMP/x"
finish "$pid_y" y "$TEST_TMP/y"
((packs_in_use >= 2)) || fail "two writers at once used $packs_in_use pack file(s); each needs its own"
check_all

step "two puts of the same dataset at once: both succeed, one dataset"
random_file "$TEST_TMP/same" $((3 * MiB))
put_bg "$TEST_TMP/same" same1
pid_1=$bg_pid
put_bg "$TEST_TMP/same" same2
pid_2=$bg_pid
finish "$pid_1" same1 "$TEST_TMP/same"
finish "$pid_2" same2 "$TEST_TMP/same"
check_all
step "packs: $(find "$REPO/packs" -name 'pack-*.dat' | wc -l) files, $(pack_bytes) bytes"
step "ok"
