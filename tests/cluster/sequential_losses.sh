# Losses one after another: nine members keep a K=4 M=2 dataset (the
# uploader, a tenth, stores it and is killed). Three holders are killed one
# at a time, and the community is back to full health before the next: more
# slots lost in all (3) than M (2), and the dataset is intact and byte-exact.
# Six members are left at the end for six slots: each holds one.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10
UPLOADER=10
WATCH=1  # never killed: its gathered view is the one waited on
community_up $N
step "ten members see each other; the uploader stores a K=4 M=2 file and is killed"
store_dataset $UPLOADER 3000000 4 2
cluster_stop $UPLOADER KILL

KILLED=()
for round in 1 2 3; do
  read -r -a NOW <<<"$(view_holders $WATCH)"
  victim=""
  for h in "${NOW[@]}"; do
    idx=$(cluster_index_of "$h") || fail "holder $h is no member"
    ((idx != WATCH)) && { victim=$idx; break; }
  done
  [[ -n $victim ]] || fail "no holder to kill in ${NOW[*]}"
  KILLED+=("$(cat "$CLUSTER_DIR/m$victim.id")")
  step "loss $round: member $victim (a holder) killed"
  cluster_stop "$victim" KILL
  started=$SECONDS
  wait_for 120 "full health after loss $round" healthy_without $WATCH "${KILLED[@]}"
  step "loss $round: full health $((SECONDS - started)) s after the kill"
done

step "three slots lost in all (M=2): every member left holds one slot; the file comes back byte-exact"
wait_settled 60
rebuilt=$(cat "$CLUSTER_DIR"/m*.log | grep -c "dataset=$CID slot=[0-5] rebuilt" || true)
((rebuilt >= 3)) || fail "expected three slots rebuilt in the logs, saw $rebuilt"
verify_all
READER=$(running_members | awk '{print $NF}')
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo "$READER")" -o "$TEST_TMP/got"
cmp -s "$FILE" "$TEST_TMP/got" || fail "member $READER got different bytes"
step "ok"
