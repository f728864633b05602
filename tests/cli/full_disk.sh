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
