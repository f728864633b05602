# The larger run: sixteen members keep a K=10 M=4 dataset stored by a
# seventeenth, the uploader. The uploader and two holders are killed
# together: the fourteen survivors rebuild the two slots (each then holds
# one), and a get on a survivor is byte-exact.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=17
UPLOADER=17
community_up $N
step "seventeen members see each other; the uploader stores a K=10 M=4 file (14 slots)"
store_dataset $UPLOADER 4000000 10 4
K1=$(cluster_index_of "${HOLDERS[0]}")
K2=$(cluster_index_of "${HOLDERS[7]}")

step "the uploader and members $K1 and $K2 (holders of slots 0 and 7) are killed"
cluster_stop $UPLOADER KILL
cluster_stop "$K1" KILL
cluster_stop "$K2" KILL
started=$SECONDS
WATCH=$(running_members | awk '{print $1}')
wait_for 150 "full health without members $K1 and $K2" healthy_without "$WATCH" "${HOLDERS[0]}" "${HOLDERS[7]}"
step "full health $((SECONDS - started)) s after the kill"
wait_settled 60
rebuilt=$(cat "$CLUSTER_DIR"/m*.log | grep -Ec "dataset=$CID slot=(0|7) rebuilt" || true)
((rebuilt >= 2)) || fail "expected slots 0 and 7 rebuilt in the logs, saw $rebuilt"

step "a survivor gets the file byte-exact; codex-verify --community shows fourteen held slots"
READER=$(running_members | awk '{print $NF}')
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo "$READER")" -o "$TEST_TMP/got"
cmp -s "$FILE" "$TEST_TMP/got" || fail "member $READER got different bytes"
expect_exit 0 "$CODEX_BIN/codex-verify" --community "$CID" --repo "$(cluster_repo "$WATCH")"
[[ $(grep -Ec " held +12D3KooW" "$OUT_FILE") == 14 ]] || fail "codex-verify --community does not show 14 held slots: $(cat "$OUT_FILE")"
step "ok"
