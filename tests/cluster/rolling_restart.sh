# Every member restarted in turn, each back before the community could
# suspect it for long: nine members (eight keepers and the uploader, kept
# running) hold a K=4 M=2 dataset; one after another each daemon is stopped
# and started again, and waits until it is back (and, for a holder, until it
# heartbeats its slot again) before the next goes. No repair may start: no
# member is declared dead, no slot is fetched or rebuilt, and every slot
# keeps its holder. The windows here are wider than the other scenarios'
# (suspicion at least 10 s, a slot lost after 15 s of silence) so that a
# restart, a few seconds, fits well inside them.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONF=$(sed -e 's/^suspicion-multiplier = .*/suspicion-multiplier = 20/' \
  -e 's/^lost-after-missed = .*/lost-after-missed = 10/' <<<"$CLUSTER_FAST_CONF")

N=9
UPLOADER=9
community_up $N "$CONF"
step "nine members see each other; the uploader stores a K=4 M=2 file"
store_dataset $UPLOADER 3000000 4 2
BEFORE=$(view_holders 1)

# Where each log stands before the restarts: only what follows is checked.
declare -A MARK
for ((i = 1; i <= N; i++)); do MARK[$i]=$(wc -l <"$CLUSTER_DIR/m$i.log"); done
after_mark() {  # after_mark I: member I's log lines since the restarts began
  tail -n +$((MARK[$1] + 1)) "$CLUSTER_DIR/m$1.log"
}

for ((i = 1; i <= N; i++)); do
  id=$(cat "$CLUSTER_DIR/m$i.id")
  slot=""
  for s in "${!HOLDERS[@]}"; do [[ ${HOLDERS[s]} == "$id" ]] && slot=$s; done
  started=$SECONDS
  cluster_stop "$i" TERM
  cluster_start "$i" || fail "member $i did not restart"
  cluster_wait_live "$i" $N 30 || fail "member $i does not see the community after its restart"
  if [[ -n $slot ]]; then
    resumed() { [[ $(own_slot "$i") == "$slot stored" ]]; }
    wait_for 30 "member $i holding slot $slot again" resumed
  fi
  step "member $i restarted${slot:+ (holder of slot $slot)}, back in $((SECONDS - started)) s"
done

step "every holder heartbeats again; nobody was declared dead and no slot moved"
all_held() {
  [[ $(cluster_view_field 1 "$CID" complete) == yes && $(cluster_view_field 1 "$CID" states) == "held held held held held held" ]]
}
wait_for 30 "every slot held in member 1's view" all_held
[[ $(view_holders 1) == "$BEFORE" ]] || fail "holders changed: before $BEFORE, now $(view_holders 1)"
for ((i = 1; i <= N; i++)); do
  if after_mark "$i" | grep -E "peer=12D3KooW[^ ]* dead" >"$TEST_TMP/dead"; then
    fail "member $i declared a member dead: $(head -3 "$TEST_TMP/dead")"
  fi
  if after_mark "$i" | grep -E "dataset=$CID slot=[0-9]+ (fetching|rebuilding|stale|dropped)" >"$TEST_TMP/moved"; then
    fail "member $i moved a slot: $(head -3 "$TEST_TMP/moved")"
  fi
done
resumed=$(cat "$CLUSTER_DIR"/m*.log | grep -c "dataset=$CID slot=[0-5] held again: heartbeating it" || true)
((resumed == 6)) || fail "expected each of the six holders to resume its slot once, saw $resumed"
settled_ok || fail "not settled: $SETTLED_WHY"
step "ok"
