# A repairer killed in the middle of its repair: nine members keep a K=4 M=2
# dataset of 16 KiB blocks (the uploader, a tenth, stores it and is killed),
# every member's slot transfers capped at 1 MB/s so that a rebuild (about
# 6 MB to fetch) takes seconds. A holder is killed; the member rebuilding
# its slot is killed once its rebuild is part-way through fetching. Another
# member then rebuilds the slot, the dataset is back to full health, and
# nothing corrupt is stored anywhere: codex-verify passes on every
# repository and every block of every repository (the killed repairer's
# scratch repository too) hashes to its digest. The killed repairer, started
# again, holds nothing of the dataset, and removes its scratch repository
# once no rebuild has used it for its repair timeout (shortened to 3 s for
# it alone: the community's 60 s would make the scenario a minute longer).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=10
UPLOADER=10
community_up $N "$CLUSTER_FAST_CONF
repair-bandwidth = 1000000"
step "ten members see each other; the uploader stores a K=4 M=2 file and is killed"
store_dataset $UPLOADER 6000000 4 2 --block-size 16384
cluster_stop $UPLOADER KILL

LOST=$(cluster_index_of "${HOLDERS[2]}")
step "member $LOST, the holder of slot 2, is killed"
cluster_stop "$LOST" KILL

# The member rebuilding slot 2, once it has fetched some but not all of what it needs.
REPAIRER=""
find_repairer() {
  local i
  for i in $(running_members); do
    if cluster_json "$i" jobs | "$PYTHON" -c '
import json, sys
for j in json.load(sys.stdin).get("jobs", []):
    if j["kind"] == "rebuild" and j["slot"] == 2 and j["phase"] == "fetching" and 0 < j["blocks_done"] < j["blocks_total"]:
        sys.exit(0)
sys.exit(1)'; then
      REPAIRER=$i
      return 0
    fi
  done
  return 1
}
wait_for 90 "a member part-way through rebuilding slot 2" find_repairer
cluster_json "$REPAIRER" jobs >"$TEST_TMP/jobs.json"
step "member $REPAIRER is rebuilding slot 2: killed mid-way ($(grep -o '"blocks_done":[0-9]*,"bytes_fetched":[0-9]*' "$TEST_TMP/jobs.json" | head -1))"
cluster_stop "$REPAIRER" KILL
killed=$SECONDS

WATCH=$(running_members | awk '{print $1}')
wait_for 120 "full health without members $LOST and $REPAIRER" \
  healthy_without "$WATCH" "${HOLDERS[2]}" "$(cat "$CLUSTER_DIR/m$REPAIRER.id")"
NEW=$(cluster_index_of "$(view_holders "$WATCH" | awk '{print $3}')")
step "member $NEW finished the repair, full health $((SECONDS - killed)) s after the kill"
grep -q "dataset=$CID slot=2 rebuilt" "$CLUSTER_DIR/m$NEW.log" || fail "member $NEW did not log slot 2 rebuilt"
if grep -q "dataset=$CID slot=2 rebuilt" "$CLUSTER_DIR/m$REPAIRER.log"; then
  fail "the killed repairer finished its rebuild before the kill: the kill did not land mid-way"
fi
[[ -n $(ls "$(cluster_repo "$REPAIRER")"/repairs 2>/dev/null) ]] || fail "the killed repairer left no scratch repository to check"
wait_settled 60

step "nothing corrupt stored anywhere; the killed repairer comes back holding nothing"
verify_all
sed -i 's/^repair-timeout-ms = .*/repair-timeout-ms = 3000/' "$(cluster_repo "$REPAIRER")/gossip.conf"
cluster_start "$REPAIRER" || fail "member $REPAIRER did not restart"
cluster_wait_live "$REPAIRER" 8 30 || fail "member $REPAIRER does not see the community after its restart"
[[ -z $(repo_slots "$REPAIRER") ]] || fail "the killed repairer's repository records slot(s) $(repo_slots "$REPAIRER")"
scratch_gone() { [[ -z $(ls "$(cluster_repo "$REPAIRER")"/repairs 2>/dev/null) ]]; }
wait_for 30 "the restarted repairer's leftover scratch repository removed" scratch_gone
grep -q "scratch .* removed: no rebuild used it" "$CLUSTER_DIR/m$REPAIRER.log" ||
  fail "member $REPAIRER did not log the removal of its scratch repository"
wait_settled 30
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo "$WATCH")" -o "$TEST_TMP/got"
cmp -s "$FILE" "$TEST_TMP/got" || fail "member $WATCH got different bytes"
step "ok"
