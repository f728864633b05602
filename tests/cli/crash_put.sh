# codex-put killed (SIGKILL) at random moments, and once while it waits for
# more input halfway through a stream. After every kill: the index is sound,
# everything stored before comes back byte-exact, the killed dataset is either
# all there or not there at all, a normal put of the same input works, and the
# packs hold no bytes past what the index has committed (the next writer cuts
# the dead writer's tail), so repeated crashes cannot grow them without bound.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

step "seed $CODEX_TEST_SEED"
new_repo repo
MiB=1048576
SIZE=$((20 * MiB))

declare -A stored  # manifest CID -> sha256 of its bytes
declare -A first   # the datasets stored before any crash
latest=""          # the dataset stored last
sha_of() { sha256sum | cut -d' ' -f1; }

remember() {
  stored[$1]=$(sha_of <"$2")
  latest=$1
}

# check_stored [all]: every dataset stored so far is still listed; the first
# ones and the latest come back byte-exact (all of them with 'all'). The
# latest sits right before the tail a crash leaves, where a wrong cut would
# bite; reading every one after every kill would take minutes.
check_stored() {
  local cid sha code
  for cid in "${!stored[@]}"; do
    code=0
    "$GET" --manifest "$cid" >/dev/null 2>&1 || code=$?
    [[ $code == 0 ]] || fail "dataset $cid stored before the crash is gone (codex-get --manifest exits $code)"
    [[ ${1:-} == all || $cid == "$latest" || -n ${first[$cid]:-} ]] || continue
    sha=$("$GET" "$cid" 2>"$TEST_TMP/get.err" | sha_of) || true
    [[ $sha == "${stored[$cid]}" ]] ||
      fail "dataset $cid stored before the crash no longer comes back byte-exact: $(cat "$TEST_TMP/get.err")"
  done
}

# check_packs: after a successful put (one writer at a time), the packs hold
# exactly the committed bytes, and those are the indexed blocks.
check_packs() {
  local files committed blocks
  files=$(pack_bytes)
  committed=$(sql "SELECT IFNULL(SUM(committed_size), 0) FROM packs")
  blocks=$(sql "SELECT IFNULL(SUM(size), 0) FROM blocks")
  [[ $files == "$committed" ]] ||
    fail "the packs hold $files bytes but only $committed are committed: a dead writer's tail was not cut"
  ((committed <= blocks + 65536)) ||
    fail "the packs have $committed committed bytes for $blocks bytes of indexed blocks"
}

# put_normally FILE: a clean put through a pipe, its round trip, bookkeeping;
# the CID in $put_cid (not printed: a $(...) subshell would lose the bookkeeping).
put_normally() {
  local cid
  cid=$(put_file "$1")
  [[ $("$GET" "$cid" | sha_of) == $(sha_of <"$1") ]] || fail "$cid does not round-trip after the crash"
  remember "$cid" "$1"
  put_cid=$cid
}

# after_kill FILE CID LABEL: the checks every kill is followed by.
after_kill() {
  local f=$1 cid=$2 label=$3 code=0 outcome
  check_integrity
  check_stored
  "$GET" "$cid" >"$TEST_TMP/killed.out" 2>"$TEST_TMP/killed.err" || code=$?
  case $code in
    0) cmp -s "$TEST_TMP/killed.out" "$f" || fail "$label: the killed put left dataset $cid visible but wrong"
       outcome="the put had finished" ;;
    3) [[ ! -s $TEST_TMP/killed.out ]] || fail "$label: codex-get of the absent dataset wrote data"
       outcome="the dataset is absent" ;;
    *) fail "$label: after the kill, codex-get $cid exits $code (expected 0: all there, or 3: absent): $(cat "$TEST_TMP/killed.err")" ;;
  esac
  rm -f "$TEST_TMP/killed.out"
  local tail=$(($(pack_bytes) - $(sql "SELECT IFNULL(SUM(committed_size), 0) FROM packs")))
  step "  $label: $outcome; uncommitted pack tail $tail bytes"
  put_normally "$f"
  check_packs
  [[ $code == 3 ]] && killed_midway=$((killed_midway + 1))
  return 0
}

step "a few datasets stored before any crash"
for size in 1000 $((3 * MiB)); do
  random_file "$TEST_TMP/base-$size" "$size"
  put_normally "$TEST_TMP/base-$size"
  first[$put_cid]=1
done

step "how long one put of $((SIZE / MiB)) MiB takes"
random_file "$TEST_TMP/timing" "$SIZE"
start=$(date +%s%N)
put_normally "$TEST_TMP/timing"
put_ms=$((($(date +%s%N) - start) / 1000000))
rm -f "$TEST_TMP/timing"
step "  ${put_ms} ms; kills come at random in 0..$((put_ms * 3 / 2 + 20)) ms"

killed_midway=0
for round in $(seq 1 10); do
  f=$TEST_TMP/round-$round
  random_file "$f" "$SIZE"
  cid=$("$CHUNK" --cid-only <"$f")
  delay_ms=$(random_between 0 $((put_ms * 3 / 2 + 20)))
  if ((round % 2)); then
    how="chunk | put"
    "$CHUNK" -q <"$f" 2>/dev/null | "$PUT" >/dev/null 2>&1 &
  else
    how="put FILE"
    "$CHUNK" -q <"$f" >"$TEST_TMP/round.car"
    "$PUT" "$TEST_TMP/round.car" >/dev/null 2>&1 &
  fi
  pid=$!
  track_pid "$pid"
  sleep "$(printf '0.%03d' "$delay_ms")" 2>/dev/null || sleep "$((delay_ms / 1000))"
  kill -9 "$pid" 2>/dev/null || true
  { wait "$pid" || true; } 2>/dev/null
  wait 2>/dev/null || true  # the chunk of a pipe, which fails once put is gone
  after_kill "$f" "$cid" "round $round ($how, killed after ${delay_ms} ms)"
  rm -f "$f" "$TEST_TMP/round.car"
done

# A put that has read and written half a stream and waits for the rest: the
# kill certainly lands mid-stream, with bytes already in the pack.
for round in 1 2; do
  f=$TEST_TMP/stall-$round
  random_file "$f" "$SIZE"
  cid=$("$CHUNK" --cid-only <"$f")
  "$CHUNK" -q <"$f" >"$TEST_TMP/stall.car"
  rm -f "$TEST_TMP/fifo"
  mkfifo "$TEST_TMP/fifo"
  "$PUT" <"$TEST_TMP/fifo" >/dev/null 2>&1 &
  pid=$!
  track_pid "$pid"
  exec 3>"$TEST_TMP/fifo"
  head -c $((SIZE / 2)) "$TEST_TMP/stall.car" >&3
  sleep 0.3
  kill -9 "$pid" 2>/dev/null || true
  { wait "$pid" || true; } 2>/dev/null
  exec 3>&-
  after_kill "$f" "$cid" "stall $round (killed waiting for input after $((SIZE / 2 / MiB)) MiB)"
  rm -f "$f"
done

step "a put of a dataset already stored, killed: the dataset stays"
f=$TEST_TMP/base-$((3 * MiB))
cid=$("$CHUNK" --cid-only <"$f")
"$CHUNK" -q <"$f" >"$TEST_TMP/again.car"
rm -f "$TEST_TMP/fifo"
mkfifo "$TEST_TMP/fifo"
"$PUT" <"$TEST_TMP/fifo" >/dev/null 2>&1 &
pid=$!
track_pid "$pid"
exec 3>"$TEST_TMP/fifo"
head -c $((MiB * 2)) "$TEST_TMP/again.car" >&3
sleep 0.2
kill -9 "$pid" 2>/dev/null || true
{ wait "$pid" || true; } 2>/dev/null
exec 3>&-
check_integrity
check_stored
check_get "$cid" "$f"

step "$killed_midway of 12 kills landed before the put committed"
((killed_midway >= 2)) || fail "only $killed_midway kills landed mid-put: the crash test did not test crashes"
step "datasets held: $(dataset_count); pack bytes: $(pack_bytes)"
expect_eq "datasets held" "$(dataset_count)" "${#stored[@]}"
check_stored all
check_packs
step "ok"
