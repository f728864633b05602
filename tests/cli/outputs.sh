# What -o does to what it names: a FIFO, a device node and a symbolic link are
# written through (never replaced), an existing file keeps its mode, a new one
# gets the umask's, an interrupted run (SIGINT, SIGTERM) leaves no
# *.partial-* file, nothing is fsynced unless --sync, and `codex-get | head`
# ends as a Unix filter does (SIGPIPE, no message). The FIFO and device node
# live in the scratch directory; the real /dev/null is never touched.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

new_repo repo
MiB=1048576
random_file "$TEST_TMP/data" $((3 * MiB))
cid=$(put_file "$TEST_TMP/data")
"$CHUNK" "$TEST_TMP/data" >"$TEST_TMP/reference.car" 2>/dev/null

step "a FIFO is written through, not replaced"
mkfifo "$TEST_TMP/fifo"
cat "$TEST_TMP/fifo" >"$TEST_TMP/from-fifo" &
reader=$!
track_pid $reader
expect_exit 0 "$CHUNK" "$TEST_TMP/data" -o "$TEST_TMP/fifo"
# (Checked before waiting: a replaced FIFO leaves its reader waiting forever.)
[[ -p $TEST_TMP/fifo ]] || fail "codex-chunk -o FIFO replaced the FIFO"
wait $reader
cmp -s "$TEST_TMP/from-fifo" "$TEST_TMP/reference.car" || fail "the FIFO's reader did not get the CAR stream"
cat "$TEST_TMP/fifo" >"$TEST_TMP/from-fifo" &
reader=$!
track_pid $reader
expect_exit 0 "$GET" "$cid" -o "$TEST_TMP/fifo"
[[ -p $TEST_TMP/fifo ]] || fail "codex-get -o FIFO replaced the FIFO"
wait $reader
cmp -s "$TEST_TMP/from-fifo" "$TEST_TMP/data" || fail "codex-get -o FIFO: the reader did not get the data"
[[ -z $(find "$TEST_TMP" -name '*.partial-*') ]] || fail "a *.partial-* file was left beside the FIFO"

if [[ $(id -u) == 0 ]]; then
  step "a character device (a null device made in the scratch directory) is written through"
  mknod "$TEST_TMP/null" c 1 3
  expect_exit 0 "$GET" "$cid" -o "$TEST_TMP/null"
  [[ -c $TEST_TMP/null ]] || fail "codex-get -o DEVICE replaced the device node with a regular file"
  expect_exit 0 "$CHUNK" "$TEST_TMP/data" -o "$TEST_TMP/null"
  [[ -c $TEST_TMP/null ]] || fail "codex-chunk -o DEVICE replaced the device node"
else
  step "not root: no device node can be made; the device case is left to root runs"
fi

step "a symbolic link is followed: its target gets the bytes, the link stays"
echo old >"$TEST_TMP/target.out"
ln -s target.out "$TEST_TMP/link.out"
expect_exit 0 "$GET" "$cid" -o "$TEST_TMP/link.out"
[[ -L $TEST_TMP/link.out ]] || fail "codex-get -o LINK replaced the link"
cmp -s "$TEST_TMP/target.out" "$TEST_TMP/data" || fail "the link's target did not get the data"
ln -s not-yet.out "$TEST_TMP/dangling.out"
expect_exit 0 "$GET" "$cid" -o "$TEST_TMP/dangling.out"
[[ -L $TEST_TMP/dangling.out ]] || fail "codex-get -o DANGLING-LINK replaced the link"
cmp -s "$TEST_TMP/not-yet.out" "$TEST_TMP/data" || fail "the dangling link's target was not created"

step "modes, as an unprivileged user: an existing file keeps its mode, a new one follows the umask"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  chmod 755 "$TEST_TMP"
  chmod 755 "$REPO" "$REPO/packs"
  chmod 644 "$REPO"/codex.db* "$REPO"/packs/*
  mkdir -m 777 "$TEST_TMP/nobody"
  run_user() { as_nobody "$@"; }
else
  mkdir "$TEST_TMP/nobody"
  run_user() { "$@"; }
fi
dir=$TEST_TMP/nobody
# 0640: neither what the umask gives a new file (0644) nor what a temporary
# file is created with (0600), so only a kept mode passes.
run_user sh -c "umask 022; echo old >'$dir/private.out'; chmod 640 '$dir/private.out'"
run_user sh -c "umask 022; '$GET' '$cid' -o '$dir/private.out'" || fail "codex-get -o over an existing file failed"
expect_eq "mode of an existing 0640 file after -o" "$(stat -c %a "$dir/private.out")" 640
cmp -s "$dir/private.out" "$TEST_TMP/data" || fail "-o over an existing file wrote the wrong bytes"
run_user sh -c "umask 027; '$CHUNK' '$TEST_TMP/data' -o '$dir/new.car'" >/dev/null || fail "codex-chunk -o NEW failed"
expect_eq "mode of a new file under umask 027" "$(stat -c %a "$dir/new.car")" 640

step "SIGTERM and SIGINT during -o leave no *.partial-* file"
set -m  # job control: background jobs get SIGINT like foreground ones would
for sig in TERM INT; do
  mkfifo "$TEST_TMP/slow-$sig"
  # The writer sends some bytes, then stalls: codex-chunk is mid-output.
  { head -c $((2 * MiB)) "$TEST_TMP/data"; sleep 60; } >"$TEST_TMP/slow-$sig" &
  writer=$!
  track_pid $writer
  "$CHUNK" -o "$TEST_TMP/interrupted-$sig.car" <"$TEST_TMP/slow-$sig" &
  chunker=$!
  track_pid $chunker
  for _ in $(seq 100); do
    [[ -n $(find "$TEST_TMP" -maxdepth 1 -name "interrupted-$sig.car.partial-*" -size +0) ]] && break
    sleep 0.1
  done
  [[ -n $(find "$TEST_TMP" -maxdepth 1 -name "interrupted-$sig.car.partial-*") ]] ||
    fail "no partial file appeared while codex-chunk was writing (the test cannot see the window)"
  kill -"$sig" $chunker
  status=0
  wait $chunker || status=$?
  kill -9 -- -$writer 2>/dev/null || kill -9 $writer 2>/dev/null || true
  wait $writer 2>/dev/null || true
  want=$((128 + $(kill -l "$sig")))
  expect_eq "exit status of codex-chunk killed by SIG$sig" "$status" "$want"
  left=$(find "$TEST_TMP" -maxdepth 1 -name "interrupted-$sig.car*")
  [[ -z $left ]] || fail "SIG$sig left: $left"
done
set +m

if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
  step "-o does not fsync unless --sync"
  strace -f -e trace=fsync,fdatasync,sync_file_range -o "$TEST_TMP/strace" "$CHUNK" "$TEST_TMP/data" -o "$TEST_TMP/nosync.car" >/dev/null
  ! grep -Eq 'fsync|fdatasync' "$TEST_TMP/strace" || fail "codex-chunk -o fsynced without --sync: $(grep -E 'fsync|fdatasync' "$TEST_TMP/strace" | head -3)"
  strace -f -e trace=fsync,fdatasync -o "$TEST_TMP/strace" "$CHUNK" "$TEST_TMP/data" --sync -o "$TEST_TMP/sync.car" >/dev/null
  grep -Eq 'fsync|fdatasync' "$TEST_TMP/strace" || fail "codex-chunk --sync -o did not fsync"
  cmp -s "$TEST_TMP/nosync.car" "$TEST_TMP/sync.car" || fail "--sync changed the output"
else
  step "strace is not usable here: the fsync check is skipped"
fi

step "codex-get | head ends quietly, by SIGPIPE"
random_file "$TEST_TMP/big" $((16 * MiB))
big=$(put_file "$TEST_TMP/big")
set +e
set -o pipefail
"$GET" "$big" 2>"$TEST_TMP/get.err" | head -c 100 >/dev/null
statuses=("${PIPESTATUS[@]}")
set -e
[[ ! -s $TEST_TMP/get.err ]] || fail "codex-get | head printed on stderr: $(cat "$TEST_TMP/get.err")"
expect_eq "exit status of codex-get whose reader left (128+SIGPIPE, as cat's)" "${statuses[0]}" 141
step "ok"
