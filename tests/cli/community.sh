# The community at work, real daemons on loopback with short protocol
# intervals: eight members keep a K=4 M=2 dataset that a ninth, the uploader,
# stored with `codex-put --wait` (its daemon publishes it, placement names six
# holders, each fetches and checks its slot). Then the uploader and two
# holders are killed: the survivors detect it, the next placed members rebuild
# the two slots from the other holders, and a get on a survivor is byte-exact. A killed holder that comes back drops its stale copy
# once the new holder heartbeats it.
#
# Why nine processes: a slot's holder holds no other slot of the dataset, so
# six slots need six live members after the kill; with the uploader and two
# holders gone, eight members would leave five.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CODEX_SOURCE/scripts/community-cluster.sh"

ENCODE=$CODEX_BIN/codex-encode
[[ -x $CLUSTER_GOSSIP && -x $ENCODE ]] || fail "codex-gossip and codex-encode must be built"

# Every wait is bounded (wait_for); the scenario takes about a minute.
N=9
UPLOADER=9
cluster_init "$TEST_TMP/c" $N || fail "cannot make the community"
KEEP_DIR=$TEST_TMP/c  # CODEX_TEST_KEEP=DIR keeps it
for ((i = 1; i <= N; i++)); do cluster_start $i || fail "member $i did not start"; done

step "nine members see each other"
for ((i = 1; i <= N; i++)); do
  cluster_wait_live $i $N 40 || fail "member $i does not see the community"
done

step "the uploader stores a K=4 M=2 file; codex-put --wait returns once six members hold their slots"
random_file "$TEST_TMP/file" 3000000
"$CHUNK" -q "$TEST_TMP/file" | "$ENCODE" -q -k 4 -m 2 |
  "$PUT" --wait --wait-timeout 90 --repo "$(cluster_repo $UPLOADER)" >"$TEST_TMP/cid" 2>"$TEST_TMP/put.err" ||
  fail "codex-put --wait failed: $(cat "$TEST_TMP/put.err")"
CID=$(cat "$TEST_TMP/cid")
grep -q "published to the community: 6 slot(s) placed" "$TEST_TMP/put.err" || fail "not published: $(cat "$TEST_TMP/put.err")"
[[ $(cluster_view_field 1 "$CID" complete) == yes ]] || fail "member 1 does not see every slot held"
read -r -a HOLDERS <<<"$(cluster_view_field 1 "$CID" holders)"
((${#HOLDERS[@]} == 6)) || fail "expected 6 slots, got ${HOLDERS[*]}"
[[ $(printf '%s\n' "${HOLDERS[@]}" | sort -u | wc -l) == 6 ]] || fail "a member holds two slots: ${HOLDERS[*]}"
UPLOADER_ID=$(cat "$CLUSTER_DIR/m$UPLOADER.id")
for h in "${HOLDERS[@]}"; do
  [[ $h != "$UPLOADER_ID" ]] || fail "the uploader was placed a slot"
done
# Each holder's repository holds its slot, checked against the slot root.
for h in "${HOLDERS[@]}"; do
  idx=$(cluster_index_of "$h") || fail "holder $h is no member"
  grep -q "dataset=$CID slot=[0-5] stored" "$CLUSTER_DIR/m$idx.log" || fail "member $idx did not log its stored slot"
done
"$CLUSTER_GOSSIP" dataset "$CID" --repo "$(cluster_repo 1)" >"$TEST_TMP/view.txt" || fail "codex-gossip dataset failed"
[[ $(grep -c " held " "$TEST_TMP/view.txt") == 6 ]] || fail "the table does not show six held slots: $(cat "$TEST_TMP/view.txt")"

step "the uploader and two holders are killed; the survivors rebuild the two slots"
K1=$(cluster_index_of "${HOLDERS[0]}")
K2=$(cluster_index_of "${HOLDERS[3]}")
cluster_stop $UPLOADER KILL
cluster_stop "$K1" KILL
cluster_stop "$K2" KILL
started=$SECONDS
SURVIVORS=()
for ((i = 1; i <= 8; i++)); do [[ $i == "$K1" || $i == "$K2" ]] || SURVIVORS+=($i); done
WATCH=${SURVIVORS[0]}
healthy() {
  local v holders
  [[ $(cluster_view_field "$WATCH" "$CID" complete) == yes ]] || return 1
  holders=$(cluster_view_field "$WATCH" "$CID" holders)
  [[ $holders != *"${HOLDERS[0]}"* && $holders != *"${HOLDERS[3]}"* ]]
}
wait_for 120 "full health again (member $WATCH's view)" healthy
step "full health $((SECONDS - started)) s after the kill: $(cluster_view_field "$WATCH" "$CID" holders)"
read -r -a NEW_HOLDERS <<<"$(cluster_view_field "$WATCH" "$CID" holders)"
[[ $(printf '%s\n' "${NEW_HOLDERS[@]}" | sort -u | wc -l) == 6 ]] || fail "a member holds two slots: ${NEW_HOLDERS[*]}"
rebuilt=$(cat "$CLUSTER_DIR"/m*.log | grep -c "dataset=$CID slot=[0-5] rebuilt" || true)
((rebuilt >= 2)) || fail "expected two slots rebuilt in the logs, saw $rebuilt"

step "a survivor gets the file (its own slot here, the rest from the other holders), byte-exact"
READER=${SURVIVORS[${#SURVIVORS[@]} - 1]}
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo "$READER")" -o "$TEST_TMP/got"
cmp -s "$TEST_TMP/file" "$TEST_TMP/got" || fail "member $READER got different bytes"

step "codex-verify --community: the local slot beside the community's view; codex-repair --daemon: nothing waits"
expect_exit 0 "$CODEX_BIN/codex-verify" --community "$CID" --repo "$(cluster_repo "$READER")"
grep -Eq "^ +[0-5] +yes +intact +held +$(cat "$CLUSTER_DIR/m$READER.id")" "$OUT_FILE" || fail "no held slot of member $READER beside the view: $(cat "$OUT_FILE")"
[[ $(grep -Ec " held +12D3KooW" "$OUT_FILE") == 6 ]] || fail "codex-verify --community does not show six held slots: $(cat "$OUT_FILE")"
expect_exit 0 "$CODEX_BIN/codex-repair" --daemon --repo "$(cluster_repo "$READER")"
# A repository with no daemon: its own check works, the community's view is not there (exit 3).
"$CHUNK" -q "$TEST_TMP/file" | "$ENCODE" -q -k 4 -m 2 | "$PUT" -q --repo "$TEST_TMP/alone" >/dev/null
expect_exit 0 "$CODEX_BIN/codex-verify" "$CID" --repo "$TEST_TMP/alone"
expect_exit 3 "$CODEX_BIN/codex-verify" --community "$CID" --repo "$TEST_TMP/alone"

step "a killed holder comes back: it drops its stale copy once the new holder heartbeats"
cluster_start "$K1" || fail "member $K1 did not restart"
stale_dropped() { grep -q "dataset=$CID slot=[0-5] stale copy dropped" "$CLUSTER_DIR/m$K1.log"; }
wait_for 60 "member $K1 dropping its stale copy" stale_dropped
wait_for 30 "full health with member $K1 back" healthy
[[ $(cluster_view_field "$WATCH" "$CID" holders) == "${NEW_HOLDERS[*]}" ]] ||
  fail "holders changed after member $K1 came back: $(cluster_view_field "$WATCH" "$CID" holders)"
step "ok"
