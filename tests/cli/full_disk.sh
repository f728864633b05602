# Writes that fail: a file-size limit (ulimit -f; the tools ignore SIGXFSZ, so
# writes past it fail with EFBIG like on a full disk), /dev/full, a closed
# pipe. Each must exit 5 (io) naming what could not be written, leave no
# partial output file, and leave the repository as it was and usable.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

step "seed $CODEX_TEST_SEED"
new_repo repo
MiB=1048576
random_file "$TEST_TMP/good" $((1 * MiB))
good_cid=$(put_file "$TEST_TMP/good")
random_file "$TEST_TMP/big" $((5 * MiB))
"$CHUNK" -q <"$TEST_TMP/big" >"$TEST_TMP/big.car"
big_cid=$("$CHUNK" --cid-only <"$TEST_TMP/big")

# limited KIB CMD...: CMD under a file-size limit of KIB KiB.
limited() {
  local kib=$1
  shift
  (
    ulimit -f "$kib"
    exec "$@"
  )
}

# io_failure REGEX CMD...: CMD exits 5 with "<tool>: error: ..." matching REGEX.
io_failure() {
  local regex=$1 tool
  shift
  expect_exit 5 "$@"
  tool=$(tool_of "$@")
  expect_err "^$tool: error: .*($regex)"
}

unchanged() {
  check_integrity
  check_get "$good_cid" "$TEST_TMP/good"
  expect_eq "datasets" "$(dataset_count)" "$datasets_before"
  expect_eq "pack bytes" "$(pack_bytes)" "$packs_before"
  [[ -z $(find "$REPO" -name '*.partial*') ]] || fail "temporary files left in the repository"
}

datasets_before=$(dataset_count)
packs_before=$(pack_bytes)

step "codex-put into a pack that hits the file-size limit (2 MiB) fails with exit 5"
io_failure "pack-[0-9]+\.dat.*(File too large|too large|space)" limited 2048 "$PUT" "$TEST_TMP/big.car"
unchanged
step "  the same through a pipe"
"$CHUNK" -q <"$TEST_TMP/big" >"$TEST_TMP/pipe.car"
io_failure "pack-[0-9]+\.dat" limited 2048 "$PUT" <"$TEST_TMP/pipe.car"
unchanged
expect_exit 3 "$GET" "$big_cid"

step "the repository works afterwards: a put without the limit succeeds"
expect_exit 0 "$PUT" "$TEST_TMP/big.car"
expect_eq "CID of the put" "$(cat "$OUT_FILE")" "$big_cid"
check_get "$big_cid" "$TEST_TMP/big"
check_get "$good_cid" "$TEST_TMP/good"
check_integrity
datasets_before=$(dataset_count)
packs_before=$(pack_bytes)

step "codex-chunk -o past the limit: exit 5, no output file, no temporary file"
mkdir "$TEST_TMP/out"
io_failure "out/big\.car" limited 1024 "$CHUNK" "$TEST_TMP/big" -o "$TEST_TMP/out/big.car"
expect_eq "files left in the -o directory" "$(ls -A "$TEST_TMP/out")" ""
step "codex-chunk -o over an existing file, past the limit: the old file stays"
printf 'old' >"$TEST_TMP/out/keep.car"
io_failure "out/keep\.car" limited 1024 "$CHUNK" "$TEST_TMP/big" -o "$TEST_TMP/out/keep.car"
expect_eq "the old file" "$(cat "$TEST_TMP/out/keep.car")" old
expect_eq "files left in the -o directory" "$(ls -A "$TEST_TMP/out")" keep.car

step "codex-get -o past the limit: exit 5, no output file, no temporary file"
io_failure "out/big\.bin" limited 1024 "$GET" "$big_cid" -o "$TEST_TMP/out/big.bin"
expect_eq "files left in the -o directory" "$(ls -A "$TEST_TMP/out")" keep.car
io_failure "out/keep\.car" limited 1024 "$GET" "$big_cid" -o "$TEST_TMP/out/keep.car"
expect_eq "the old file" "$(cat "$TEST_TMP/out/keep.car")" old
unchanged

step "stdout is /dev/full: exit 5"
to_dev_full() { "$@" >/dev/full; }
io_failure "stdout" to_dev_full "$GET" "$big_cid"
expect_err "codex-get: error: "
io_failure "stdout" to_dev_full "$GET" --manifest "$big_cid"
expect_err "codex-get: error: "
io_failure "stdout" to_dev_full "$CHUNK" "$TEST_TMP/big"
expect_err "codex-chunk: error: "
io_failure "stdout" to_dev_full "$CHUNK" --cid-only "$TEST_TMP/big"
expect_err "codex-chunk: error: "
unchanged

step "a closed pipe downstream: the tool ends quietly by SIGPIPE (141), as cat does"
code=0
{
  "$GET" "$big_cid" 2>"$TEST_TMP/pipe.err" | head -c 10 >/dev/null
  code=${PIPESTATUS[0]}
} || true
expect_eq "exit code of codex-get | head -c 10" "$code" 141
[[ ! -s $TEST_TMP/pipe.err ]] || fail "codex-get | head printed: $(cat "$TEST_TMP/pipe.err")"
{
  "$CHUNK" <"$TEST_TMP/big" 2>"$TEST_TMP/pipe.err" | head -c 10 >/dev/null
  code=${PIPESTATUS[0]}
} || true
expect_eq "exit code of codex-chunk | head -c 10" "$code" 141
[[ ! -s $TEST_TMP/pipe.err ]] || fail "codex-chunk | head printed: $(cat "$TEST_TMP/pipe.err")"
unchanged
step "codex-get | cat with two data slots lost, its spill past the limit: exit 5 naming the spill file"
# 5 MiB at K=4 M=2 in 4 KiB blocks: 320 groups. Each group's row 1 is
# rebuilt with its row 0, five batches of 64 blocks before its turn, and
# waits in a spill file (1.25 MiB) meanwhile; the spill is written by a
# thread of its own, whose failure must still end the get with exit 5 and
# no more than the original's first bytes.
new_repo spill
"$CHUNK" -q --block-size 4096 "$TEST_TMP/big" >"$TEST_TMP/big4k.car" || fail "codex-chunk failed"
"$CODEX_BIN/codex-encode" -q -k 4 -m 2 "$TEST_TMP/big4k.car" >"$TEST_TMP/protected.car" || fail "codex-encode failed"
protected_cid=$("$PUT" "$TEST_TMP/protected.car") || fail "codex-put of the protected dataset failed"
"$PYTHON" - "$REPO/codex.db" <<'PY' || fail "cannot delete slots 0 and 1"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
count, leaves = db.execute("SELECT leaf_count, leaves FROM trees ORDER BY leaf_count DESC LIMIT 1").fetchone()
steps = count // 6
with db:
    for i in range(0, 2 * steps):  # slots 0 and 1: data rows 0 and 1 of every group
        db.execute("DELETE FROM blocks WHERE digest = ?", (leaves[i * 32:(i + 1) * 32],))
PY
# into_cat CMD...: CMD's stdout through a pipe into $TEST_TMP/spilled.out; CMD's exit code.
into_cat() {
  "$@" | cat >"$TEST_TMP/spilled.out"
  return "${PIPESTATUS[0]}"
}
io_failure "temporary file in .*(File too large|too large|space)" into_cat limited 256 "$GET" "$protected_cid"
[[ $(file_size "$TEST_TMP/spilled.out") -lt $(file_size "$TEST_TMP/big") ]] || fail "the failed get wrote everything"
cmp -s "$TEST_TMP/spilled.out" <(head -c "$(file_size "$TEST_TMP/spilled.out")" "$TEST_TMP/big") ||
  fail "the failed get wrote bytes that are not the original's"
step "  without the limit the same get gives the original"
check_get "$protected_cid" "$TEST_TMP/big"
# Last, so that a failure here does not hide the checks above.
step "codex-put into a fresh repository whose index cannot be written: exit 5, naming codex.db"
new_repo tiny
for kib in 8 24; do
  io_failure "codex\.db" limited "$kib" "$PUT" "$TEST_TMP/big.car"
done
step "  the same repository works once the limit is gone"
expect_exit 0 "$PUT" "$TEST_TMP/big.car"
check_get "$big_cid" "$TEST_TMP/big"
check_integrity
expect_eq "datasets" "$(dataset_count)" 1
step "ok"
