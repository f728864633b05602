# Plain datasets in a community, real daemons on loopback: a plain dataset
# (not erasure coded) is never placed; its owner's daemon serves it to
# members who ask, and a member may keep one by choice: `codex-gossip pin`
# fetches it (every block checked), keeps it and serves it, so it stays
# available after the owner leaves; `unpin` stops keeping it. Protected
# datasets are kept by placement and cannot be pinned.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CODEX_SOURCE/scripts/community-cluster.sh"

ENCODE=$CODEX_BIN/codex-encode
[[ -x $CLUSTER_GOSSIP && -x $ENCODE ]] || fail "codex-gossip and codex-encode must be built"

N=3
cluster_init "$TEST_TMP/c" $N || fail "cannot make the community"
for ((i = 1; i <= N; i++)); do cluster_start $i || fail "member $i did not start"; done
for ((i = 1; i <= N; i++)); do cluster_wait_live $i $N 40 || fail "member $i does not see the community"; done
in_datasets() {  # in_datasets I CID: the member's core lists the dataset as plain and stored
  cluster_json "$1" datasets | "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
sys.exit(0 if any(d["cid"] == sys.argv[1] and d["plain"] and d["stored"] for d in v["datasets"]) else 1)' "$2"
}

step "member 1 stores a plain file; its daemon serves it"
random_file "$TEST_TMP/file" 1500000
"$CHUNK" -q "$TEST_TMP/file" | "$PUT" --repo "$(cluster_repo 1)" >"$TEST_TMP/cid" 2>"$TEST_TMP/put.err" ||
  fail "codex-put failed: $(cat "$TEST_TMP/put.err")"
CID=$(cat "$TEST_TMP/cid")
wait_for 20 "member 1 listing the plain dataset" in_datasets 1 "$CID"
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo 3)" -o "$TEST_TMP/got1"
cmp -s "$TEST_TMP/file" "$TEST_TMP/got1" || fail "member 3 got different bytes from member 1"
keeps() { "$CODEX_BIN/codex-repo" ls --cids --repo "$(cluster_repo "$1")" 2>/dev/null | grep -qx "$2"; }
keeps 3 "$CID" && fail "a get through the daemon kept the dataset"

step "member 2 pins it: fetched, kept, listed, served"
expect_exit 0 "$CLUSTER_GOSSIP" pin "$CID" --repo "$(cluster_repo 2)"
[[ $(cat "$OUT_FILE") == "$CID" ]] || fail "pin printed '$(cat "$OUT_FILE")'"
grep -q "kept and served here" "$ERR_FILE" || fail "pin said: $(cat "$ERR_FILE")"
in_datasets 2 "$CID" || fail "member 2's core does not list the pinned dataset"
keeps 2 "$CID" || fail "member 2 does not keep the pinned dataset"
grep -q "dataset $CID pinned" "$CLUSTER_DIR/m2.log" || fail "member 2 did not log the pin"
expect_exit 0 "$CODEX_BIN/codex-verify" "$CID" --repo "$(cluster_repo 2)"
expect_exit 0 "$CLUSTER_GOSSIP" pin "$CID" --repo "$(cluster_repo 2)" --json
[[ $(json_field fetched <"$OUT_FILE") == 0 ]] || fail "a second pin fetched again: $(cat "$OUT_FILE")"

step "the owner leaves: the pinned copy serves the others, byte-exact"
cluster_stop 1 TERM
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo 3)" -o "$TEST_TMP/got2"
cmp -s "$TEST_TMP/file" "$TEST_TMP/got2" || fail "member 3 got different bytes from member 2"

step "a pinned dataset is kept across a restart"
cluster_stop 2 TERM
cluster_start 2 || fail "member 2 did not restart"
wait_for 30 "member 2 listing the pinned dataset again" in_datasets 2 "$CID"

step "a protected dataset cannot be pinned; a dataset nobody has cannot either"
"$CHUNK" -q "$TEST_TMP/file" | "$ENCODE" -q -k 2 -m 1 | "$PUT" -q --no-publish --repo "$(cluster_repo 2)" >"$TEST_TMP/pcid"
expect_exit 2 "$CLUSTER_GOSSIP" pin "$(cat "$TEST_TMP/pcid")" --repo "$(cluster_repo 3)"
grep -q "is protected" "$ERR_FILE" || fail "unexpected error: $(cat "$ERR_FILE")"
random_file "$TEST_TMP/other" 100000
OTHER=$("$CHUNK" -q "$TEST_TMP/other" | "$PUT" -q --no-publish --repo "$TEST_TMP/nobody")
"$CLUSTER_GOSSIP" pin "$OTHER" --repo "$(cluster_repo 3)" >/dev/null 2>"$TEST_TMP/pin.err" && fail "pinned a dataset nobody has"
grep -q "error:" "$TEST_TMP/pin.err" || fail "no error for a dataset nobody has: $(cat "$TEST_TMP/pin.err")"

step "member 2 unpins it: no longer kept or listed"
expect_exit 0 "$CLUSTER_GOSSIP" unpin "$CID" --repo "$(cluster_repo 2)"
in_datasets 2 "$CID" && fail "member 2's core still lists the unpinned dataset"
keeps 2 "$CID" && fail "member 2's repository still holds the unpinned dataset"
expect_exit 3 "$CLUSTER_GOSSIP" unpin "$CID" --repo "$(cluster_repo 2)"
step "ok"
