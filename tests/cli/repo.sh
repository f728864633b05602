# codex-repo: init, ls, rm, gc and stats. gc reclaims the three kinds of dead
# space (removed datasets' blocks, the duplicate copies of concurrent puts,
# the old copies codex-repair leaves), keeps blocks another dataset uses,
# survives kill -9 at any moment and waits for a put in progress. Completions
# offer the repository's CIDs, backend names and manifest formats.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1
source "$(dirname "${BASH_SOURCE[0]}")/erasure_lib.sh" || exit 1

REPO_TOOL=$CODEX_BIN/codex-repo
[[ -x $REPO_TOOL ]] || fail "codex-repo is not built"
MiB=1048576
stat_field() { "$REPO_TOOL" stats --json | json_field "$1"; }
pack_total() { find "$REPO/packs" -name 'pack-*.dat' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

step "init creates a repository and says so; a second init changes nothing"
new_repo repo
expect_exit 0 "$REPO_TOOL" init
expect_err "created an empty repository in '$REPO'"
[[ -f $REPO/codex.db ]] || fail "init made no codex.db"
expect_exit 0 "$REPO_TOOL" init
expect_err "already exists"
expect_exit 3 "$REPO_TOOL" --repo "$TEST_TMP/nowhere" ls

step "ls: CID, size, K+M, slots, time, file name; --json; --cids"
random_file "$TEST_TMP/a" $((3 * MiB))
random_file "$TEST_TMP/b" $((2 * MiB))
cid_a=$("$CHUNK" -q "$TEST_TMP/a" | "$PUT")
cid_b=$("$CHUNK" -q "$TEST_TMP/b" | "$PUT")
# The same bytes under another name: another manifest over the same blocks.
cp "$TEST_TMP/a" "$TEST_TMP/a-copy"
cid_a2=$("$CHUNK" -q "$TEST_TMP/a-copy" | "$PUT")
cid_p=$(protect "$TEST_TMP/b" 2 1)
"$PUT" -q "$PROTECTED_CAR" >/dev/null
expect_exit 0 "$REPO_TOOL" ls
grep -q "^$cid_a .*3.0 MiB .* a$" "$OUT_FILE" || fail "ls does not show '$cid_a' with its size and name: $(cat "$OUT_FILE")"
grep -q "^$cid_p .* 2+1 *all " "$OUT_FILE" || fail "ls does not show the protected dataset's K+M and slots: $(cat "$OUT_FILE")"
expect_exit 0 "$REPO_TOOL" ls --json
expect_eq "ls --json lines" "$(wc -l <"$OUT_FILE")" 4
while read -r line; do printf '%s' "$line" | is_json || fail "ls --json printed a line that is not JSON: $line"; done <"$OUT_FILE"
expect_eq "size of a in ls --json" "$(grep "\"$cid_a\"" "$OUT_FILE" | json_field size)" $((3 * MiB))
expect_eq "filename of a in ls --json" "$(grep "\"$cid_a\"" "$OUT_FILE" | json_field filename)" a
expect_eq "k of the protected dataset" "$(grep "\"$cid_p\"" "$OUT_FILE" | json_field k)" 2
# When it was stored: UTC, within the minutes this scenario has run.
stored=$(grep "\"$cid_a\"" "$OUT_FILE" | json_field stored)
[[ $stored =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] || fail "ls --json stored time '$stored' is not UTC ISO 8601"
age=$(($(date -u +%s) - $(date -u -d "$stored" +%s)))
((age >= 0 && age < 600)) || fail "ls says a was stored $age s ago"
grep -q "^$cid_a .* ${stored%??????????}" <("$REPO_TOOL" ls) || fail "ls (text) does not show when a was stored"

step "stats: datasets, blocks, packs, bytes"
expect_exit 0 "$REPO_TOOL" stats --json
expect_eq "stats datasets" "$(json_field datasets <"$OUT_FILE")" 4
expect_eq "stats protected datasets" "$(json_field protectedDatasets <"$OUT_FILE")" 1
expect_eq "stats packs" "$(json_field packs <"$OUT_FILE")" "$(find "$REPO/packs" -name 'pack-*.dat' | wc -l)"
expect_eq "stats stored bytes" "$(json_field storedBytes <"$OUT_FILE")" "$(pack_total)"
expect_eq "stats blocks" "$(json_field blocks <"$OUT_FILE")" "$(sql 'SELECT count(*) FROM blocks')"
expect_exit 0 "$REPO_TOOL" stats
grep -q "^datasets: *4 (1 protected)" "$OUT_FILE" || fail "stats (text): $(cat "$OUT_FILE")"
expect_exit 0 "$REPO_TOOL" ls --cids
expect_eq "ls --cids" "$(sort "$OUT_FILE" | tr '\n' ' ')" "$(printf '%s\n' "$cid_a" "$cid_b" "$cid_a2" "$cid_p" | sort | tr '\n' ' ')"

step "rm: a typo is not a CID, an unknown dataset is exit 3, blocks another dataset uses stay"
expect_exit 2 "$REPO_TOOL" rm "${cid_a}x"
expect_err "is not a valid CID"
expect_exit 3 "$REPO_TOOL" rm "$(vector dataset_hello.manifest_A_cid)"
dead_before=$(stat_field deadBytes)
expect_eq "dead bytes before rm" "$dead_before" 0
expect_exit 0 "$REPO_TOOL" rm "$cid_a"
expect_err "codex-repo gc"
expect_eq "dead bytes after removing a dataset whose blocks another uses" "$(stat_field deadBytes)" 0
expect_exit 0 "$REPO_TOOL" gc --json
expect_eq "bytes reclaimed by gc with nothing dead" "$(json_field bytesReclaimed <"$OUT_FILE")" 0
"$GET" "$cid_a2" | cmp -s - "$TEST_TMP/a" || fail "a dataset sharing the removed one's blocks lost them"
expect_exit 3 "$GET" "$cid_a"

step "gc reclaims a removed dataset's blocks, and only those"
expect_exit 0 "$REPO_TOOL" rm "$cid_b"
dead=$(stat_field deadBytes)
((dead >= 2 * MiB)) || fail "stats shows $dead dead bytes after removing a 2 MiB dataset"
before=$(pack_total)
expect_exit 0 "$REPO_TOOL" gc --json
reclaimed=$(json_field bytesReclaimed <"$OUT_FILE")
expect_eq "bytes reclaimed vs stats' dead bytes" "$reclaimed" "$dead"
expect_eq "pack bytes on disk after gc" "$(pack_total)" $((before - reclaimed))
expect_eq "dead bytes after gc" "$(stat_field deadBytes)" 0
"$GET" "$cid_a2" | cmp -s - "$TEST_TMP/a" || fail "gc damaged a live dataset"
expect_exit 0 "$VERIFY" -q
"$GET" "$cid_p" | cmp -s - "$TEST_TMP/b" || fail "gc damaged the protected dataset (it shares no blocks with b)"
expect_eq "integrity" "$(sql 'PRAGMA integrity_check')" ok

step "gc reclaims the old copy codex-repair leaves"
repo_tool corrupt "$REPO" "$cid_p" 1
expect_code 8 "$CODEX_BIN/codex-repair" -q "$cid_p"
dead=$(stat_field deadBytes)
((dead >= 4096)) || fail "no dead bytes after a repair replaced a block ($dead)"
expect_exit 0 "$REPO_TOOL" gc --json
expect_eq "bytes reclaimed after a repair" "$(json_field bytesReclaimed <"$OUT_FILE")" "$dead"
expect_exit 0 "$VERIFY" -q "$cid_p"

# A put held mid-stream: the CAR stream but its last bytes (the manifest) go
# into a FIFO, so the put has written its blocks to its own pack and waits.
start_held_put() {  # CAR
  local car=$1 size
  size=$(file_size "$car")
  rm -f "$TEST_TMP/held"
  mkfifo "$TEST_TMP/held"
  "$PUT" -q <"$TEST_TMP/held" >"$TEST_TMP/held.out" 2>"$TEST_TMP/held.err" &
  HELD_PUT=$!
  track_pid $HELD_PUT
  exec {HELD_FD}>"$TEST_TMP/held"
  head -c $((size - 300)) "$car" >&"$HELD_FD"
  HELD_REST=$(mktemp "$TEST_TMP/rest.XXXXXX")
  tail -c 300 "$car" >"$HELD_REST"
}
finish_held_put() {
  cat "$HELD_REST" >&"$HELD_FD"
  exec {HELD_FD}>&-
  wait "$HELD_PUT" || fail "the held put failed: $(cat "$TEST_TMP/held.err")"
}
wait_for_pack_bytes() {  # BYTES: until the packs hold at least BYTES
  for _ in $(seq 200); do
    (($(pack_total) >= $1)) && return 0
    sleep 0.05
  done
  fail "the held put wrote nothing"
}

step "gc reclaims the duplicate copies of two concurrent puts of one dataset"
new_repo dup
# Large enough that the put processes most of it before it needs the held end
# (it reads the stream in batches of several MiB).
random_file "$TEST_TMP/c" $((16 * MiB))
"$CHUNK" -q "$TEST_TMP/c" >"$TEST_TMP/c.car"
"$REPO_TOOL" -q init
start_held_put "$TEST_TMP/c.car"
wait_for_pack_bytes $((8 * MiB))
cid_c=$("$PUT" "$TEST_TMP/c.car" {HELD_FD}>&-)  # a second pack: the held put locks the first
finish_held_put
expect_eq "CID of the held put" "$(cat "$TEST_TMP/held.out")" "$cid_c"
dead=$(stat_field deadBytes)
((dead >= 8 * MiB)) || fail "two concurrent puts left only $dead dead bytes"
expect_exit 0 "$REPO_TOOL" gc --json
expect_eq "bytes reclaimed after concurrent puts" "$(json_field bytesReclaimed <"$OUT_FILE")" "$dead"
"$GET" "$cid_c" | cmp -s - "$TEST_TMP/c" || fail "gc after concurrent puts damaged the dataset"

step "gc waits for a put that found its blocks already stored (they are dead, but about to be used)"
new_repo wait
random_file "$TEST_TMP/d" $((16 * MiB))
cid_d=$("$CHUNK" -q "$TEST_TMP/d" | "$PUT")
"$REPO_TOOL" -q rm "$cid_d"                       # its blocks: dead but indexed
cp "$TEST_TMP/d" "$TEST_TMP/d-again"
"$CHUNK" -q "$TEST_TMP/d-again" >"$TEST_TMP/d2.car"  # same blocks, another manifest
start_held_put "$TEST_TMP/d2.car"
sleep 0.5                                          # the put has skipped the stored blocks
# (without the FIFO's write end, or the put would never see its stream end)
"$REPO_TOOL" gc >"$TEST_TMP/gc.out" 2>"$TEST_TMP/gc.err" {HELD_FD}>&- &
gc_pid=$!
track_pid $gc_pid
for _ in $(seq 100); do
  grep -q waiting "$TEST_TMP/gc.err" && break
  sleep 0.05
done
grep -q "waiting for a put" "$TEST_TMP/gc.err" || fail "gc did not wait for the put in progress: $(cat "$TEST_TMP/gc.err")"
kill -0 $gc_pid 2>/dev/null || fail "gc ended while a put was in progress"
finish_held_put
wait $gc_pid || fail "gc failed: $(cat "$TEST_TMP/gc.err")"
cid_d2=$(cat "$TEST_TMP/held.out")
"$GET" "$cid_d2" | cmp -s - "$TEST_TMP/d" || fail "gc beside a put dropped blocks the put relied on"
expect_exit 0 "$VERIFY" -q

step "kill -9 at random moments of gc loses nothing still referenced"
new_repo crash
for i in 1 2 3 4 5 6; do
  random_file "$TEST_TMP/e$i" $((4 * MiB))
  cids[i]=$("$CHUNK" -q "$TEST_TMP/e$i" | "$PUT")
done
"$REPO_TOOL" -q rm "${cids[1]}" "${cids[3]}" "${cids[5]}"
for delay in 0.01 0.02 0.04 0.06 0.08 0.1 0.15 0.2; do
  # Fresh dead space each round, so that every gc has packs to rewrite.
  random_file "$TEST_TMP/dead" $((6 * MiB))
  "$REPO_TOOL" -q rm "$("$CHUNK" -q "$TEST_TMP/dead" | "$PUT")"
  "$REPO_TOOL" -q gc >/dev/null 2>&1 &
  pid=$!
  sleep "$delay"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  for i in 2 4 6; do
    "$GET" "${cids[i]}" | cmp -s - "$TEST_TMP/e$i" || fail "after kill -9 of gc (at ${delay}s), dataset $i is damaged"
  done
  expect_eq "integrity after kill -9 (at ${delay}s)" "$(sql 'PRAGMA integrity_check')" ok
done
expect_exit 0 "$REPO_TOOL" gc
expect_eq "dead bytes after a complete gc" "$(stat_field deadBytes)" 0
expect_exit 0 "$VERIFY" -q
live=$(stat_field liveBytes)
expect_eq "pack bytes on disk are the live bytes" "$(pack_total)" "$live"

step "completions offer the repository's CIDs, the backends and the manifest formats"
BIN_ABS=$(cd "$CODEX_BIN" && pwd)
complete_words() {  # SCRIPT WORD...: what bash completion offers for the last word
  PATH=$BIN_ABS:$PATH bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    fn=$(complete -p "$1" | sed -E "s/.*-F ([^ ]+) .*/\1/")
    "$fn"; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
src=$(cd "$CODEX_SOURCE" && pwd)/completions/bash
( cd "$TEST_TMP" && touch zDvZ-not-a-cid.txt
  offered=$(complete_words "$src/codex-get" codex-get --repo "$REPO" "")
  grep -qx "${cids[2]}" <<<"$offered" || fail "codex-get completion does not offer the CID ${cids[2]}: $offered"
  ! grep -q "not-a-cid" <<<"$offered" || fail "codex-get completion offers file names for a CID"
  offered=$(complete_words "$src/codex-repo" codex-repo --repo "$REPO" rm "")
  grep -qx "${cids[4]}" <<<"$offered" || fail "codex-repo rm completion does not offer the CID: $offered"
  offered=$(complete_words "$src/codex-repo" codex-repo "")
  expect_eq "codex-repo verbs" "$(sort <<<"$offered" | tr '\n' ' ')" "gc init ls rm stats "
  offered=$(complete_words "$src/codex-chunk" codex-chunk --manifest-format "")
  expect_eq "manifest formats" "$(tr '\n' ' ' <<<"$offered")" "current legacy "
  offered=$(complete_words "$src/codex-encode" codex-encode --backend "")
  expect_eq "backends" "$offered" "$("$BIN_ABS/codex-encode" --list-backends)"
) || exit 1
step "ok"
