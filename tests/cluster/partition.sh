# A partition: nine members keep a K=4 M=2 dataset (the uploader, a tenth,
# stores it and is killed). Three members - two holders and a spare - are
# cut off from the other six (codex-gossip partition --drop on both sides,
# the daemons' test fault injection) for longer than the loss timeout: the
# six see the two holders dead and rebuild their slots; the three see the
# six dead and cannot rebuild anything (two slots of K=4). Then the cut is
# healed: no data is lost, every slot ends with exactly one holder (by the
# claim order: the worse copy of a slot rebuilt on both sides steps down),
# and no extra copy stays recorded in any repository.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10
UPLOADER=10
community_up $N
step "ten members see each other; the uploader stores a K=4 M=2 file and is killed"
store_dataset $UPLOADER 3000000 4 2
cluster_stop $UPLOADER KILL

# The minority: the holders of slots 0 and 1, and one member holding nothing.
H0=$(cluster_index_of "${HOLDERS[0]}")
H1=$(cluster_index_of "${HOLDERS[1]}")
SPARE=""
for ((i = 1; i < UPLOADER; i++)); do
  [[ " ${HOLDERS[*]} " == *" $(cat "$CLUSTER_DIR/m$i.id") "* ]] || { SPARE=$i; break; }
done
[[ -n $SPARE ]] || fail "no member without a slot"
MINORITY=("$H0" "$H1" "$SPARE")
MAJORITY=()
for ((i = 1; i < UPLOADER; i++)); do
  [[ " ${MINORITY[*]} " == *" $i "* ]] || MAJORITY+=("$i")
done
WATCH=${MAJORITY[0]}

step "members ${MINORITY[*]} are cut off from members ${MAJORITY[*]}"
read -r -a MINORITY_IDS <<<"$(ids_of "${MINORITY[@]}")"
read -r -a MAJORITY_IDS <<<"$(ids_of "${MAJORITY[@]}" $UPLOADER)"
drop_args() { local id; for id in "$@"; do printf -- '--drop\n%s\n' "$id"; done; }
for i in "${MINORITY[@]}"; do
  mapfile -t args < <(drop_args "${MAJORITY_IDS[@]}")
  expect_exit 0 "$CLUSTER_GOSSIP" partition "${args[@]}" --repo "$(cluster_repo "$i")"
done
for i in "${MAJORITY[@]}"; do
  mapfile -t args < <(drop_args "${MINORITY_IDS[@]}")
  expect_exit 0 "$CLUSTER_GOSSIP" partition "${args[@]}" --json --repo "$(cluster_repo "$i")"
done
[[ $(json_field loss_percent <"$OUT_FILE") == 0 ]] || fail "partition --json: $(cat "$OUT_FILE")"
[[ $(json_field dropped <"$OUT_FILE") == *"${MINORITY_IDS[2]}"* ]] || fail "partition --json: $(cat "$OUT_FILE")"
started=$SECONDS

minority_alone() { [[ $(cluster_field "${MINORITY[0]}" core.live_members) == 3 ]]; }
wait_for 60 "the minority seeing only itself" minority_alone
wait_for 120 "the majority back to full health without members $H0 and $H1" \
  healthy_without "$WATCH" "${HOLDERS[0]}" "${HOLDERS[1]}"
step "the six rebuilt slots 0 and 1 in $((SECONDS - started)) s: $(view_holders "$WATCH")"
read -r -a MAJORITY_HOLDERS <<<"$(view_holders "$WATCH")"
for h in "${MAJORITY_HOLDERS[@]}"; do
  [[ " ${MINORITY_IDS[*]} " != *" $h "* ]] || fail "the majority's view names a member cut off: $h"
done
# The cut lasts a little longer still: the minority keeps failing to rebuild.
sleep 3
[[ $(own_slot "${MINORITY[0]}") == "0 stored" ]] || fail "member ${MINORITY[0]} gave its slot up while cut off"

step "the cut is healed"
for ((i = 1; i < UPLOADER; i++)); do
  expect_exit 0 "$CLUSTER_GOSSIP" partition --heal --repo "$(cluster_repo "$i")"
done
healed=$SECONDS
for ((i = 1; i < UPLOADER; i++)); do
  cluster_wait_live "$i" 9 60 || fail "member $i does not see all nine after the heal"
done
wait_settled 120
step "settled $((SECONDS - healed)) s after the heal: every slot held once, no extra copy recorded"
wait_for 30 "a complete view on member ${MINORITY[2]}" healthy_without "${MINORITY[2]}"
dropped=$(cat "$CLUSTER_DIR"/m*.log | grep -Ec "dataset=$CID slot=[0-5] (dropped|stale copy dropped)" || true)
((dropped >= 2)) || fail "expected the two extra copies dropped in the logs, saw $dropped"
verify_all
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo "${MINORITY[2]}")" -o "$TEST_TMP/got"
cmp -s "$FILE" "$TEST_TMP/got" || fail "member ${MINORITY[2]} got different bytes"
step "ok"
