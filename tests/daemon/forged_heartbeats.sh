#!/usr/bin/env bash
# Forged, replayed and revoked heartbeats on the wire, against real daemons
# on loopback: seven members keep a K=4 M=2 dataset; one holder is
# misbehaving_member forge (the real daemon and core, holding and
# heartbeating its slot honestly), which follows every heartbeat with a copy
# whose signature does not match, a replay of its first heartbeat to that
# watcher, and a heartbeat in another holder's name signed with its own key.
# The watchers refuse each (counted in `codex-gossip status`, logged with the
# sender and why) and nothing in the community's view changes: same holders,
# no loss, no repair. Then the owner revokes the forger, which keeps
# sending validly signed heartbeats: the members refuse it at admission, and
# its slot is rebuilt on another member; a get is byte-exact.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
source "$CODEX_SOURCE/scripts/community-cluster.sh"

ENCODE=$CODEX_BIN/codex-encode
[[ -x $CLUSTER_GOSSIP && -x $ENCODE ]] || fail "codex-gossip and codex-encode must be built"
[[ -x ${MISBEHAVING_MEMBER:-} ]] || fail "misbehaving_member is not built (MISBEHAVING_MEMBER)"

FAIL_LOG_DIR=$TEST_TMP/c  # the cluster below; a failure shows the end of each member's log

N=7
FORGER=6
UPLOADER=7
cluster_init "$TEST_TMP/c" $N || fail "cannot make the community"
KEEP_DIR=$TEST_TMP/c  # CODEX_TEST_KEEP=DIR keeps it

# The forger: cluster_start's daemon with the forging core.
start_forger() {
  local j args=()
  for ((j = 1; j <= N; j++)); do ((j == FORGER)) || args+=(--bootstrap "$(cluster_addr "$j")"); done
  "$MISBEHAVING_MEMBER" forge --repo "$(cluster_repo $FORGER)" --listen "/ip4/127.0.0.1/tcp/$(cluster_port $FORGER)" \
    "${args[@]}" 2>>"$CLUSTER_DIR/m$FORGER.log" &
  FORGER_PID=$!
  echo $FORGER_PID >"$CLUSTER_DIR/m$FORGER.pid"
  track_pid $FORGER_PID
  wait_for 10 "the forger up" "$CLUSTER_GOSSIP" status --repo "$(cluster_repo $FORGER)"
}
for ((i = 1; i <= N; i++)); do
  if ((i == FORGER)); then start_forger; else cluster_start $i || fail "member $i did not start"; fi
done
for ((i = 1; i <= N; i++)); do cluster_wait_live $i $N 40 || fail "member $i does not see the community"; done
FORGER_ID=$(cat "$CLUSTER_DIR/m$FORGER.id")
HONEST=(1 2 3 4 5)

step "the uploader stores a K=4 M=2 file; the six others hold a slot each, the forger too"
random_file "$TEST_TMP/file" 2000000
"$CHUNK" -q "$TEST_TMP/file" | "$ENCODE" -q -k 4 -m 2 |
  "$PUT" --wait --wait-timeout 90 --repo "$(cluster_repo $UPLOADER)" >"$TEST_TMP/cid" 2>"$TEST_TMP/put.err" ||
  fail "codex-put --wait failed: $(cat "$TEST_TMP/put.err")"
CID=$(cat "$TEST_TMP/cid")
BEFORE=$(cluster_view_field 1 "$CID" holders)
read -r -a HOLDERS <<<"$BEFORE"
FSLOT=-1
for s in "${!HOLDERS[@]}"; do [[ ${HOLDERS[$s]} == "$FORGER_ID" ]] && FSLOT=$s; done
((FSLOT >= 0)) || fail "the forger holds no slot: $BEFORE"

sum_field() {  # sum_field FIELD: over the honest members' core counters
  local i total=0 v
  for i in "${HONEST[@]}"; do
    v=$(cluster_field "$i" "core.$1")
    total=$((total + ${v:-0}))
  done
  echo $total
}
refused_enough() { (($(sum_field refused_signature) >= 10 && $(sum_field refused_replay) >= 10)); }

step "the forger's bad signatures and replays are refused by the watchers"
wait_for 60 "ten bad signatures and ten replays refused" refused_enough
sleep 3  # a few more rounds of forgeries, then look at the view
for what in "bad signature" "replayed" "not the sender's own"; do
  grep -q "peer=$FORGER_ID message refused: .*$what" "$CLUSTER_DIR"/m[1-5].log ||
    fail "no member logged the forger's heartbeat refused ($what)"
done
step "refused: $(sum_field refused_signature) bad signatures, $(sum_field refused_replay) replays, $(sum_field refused) in all"

step "nothing in the community's view changed: same holders, no loss, no repair"
[[ $(cluster_view_field 1 "$CID" complete) == yes ]] || fail "the dataset is not at full health"
[[ $(cluster_view_field 1 "$CID" holders) == "$BEFORE" ]] || fail "holders changed: $(cluster_view_field 1 "$CID" holders)"
[[ $(cluster_view_field 1 "$CID" states) == "held held held held held held" ]] ||
  fail "slots not all held: $(cluster_view_field 1 "$CID" states)"
(($(sum_field losses_confirmed) == 0)) || fail "a loss was confirmed"
for i in "${HONEST[@]}"; do
  [[ $(cluster_field "$i" core.rebuilds_started) == 0 ]] || fail "member $i started a rebuild"
done
(($(sum_field heartbeats_accepted) > 0)) || fail "no heartbeat accepted at all"

step "the owner revokes the forger; it keeps sending validly signed heartbeats"
expect_exit 0 "$CLUSTER_GOSSIP" revoke "$FORGER_ID" --repo "$(cluster_repo 1)" -o "$TEST_TMP/revocation"
kill -USR1 "$FORGER_PID"
WATCH=${HONEST[1]}
rebuilt_elsewhere() {
  local holders
  [[ $(cluster_view_field "$WATCH" "$CID" complete) == yes ]] || return 1
  read -r -a holders <<<"$(cluster_view_field "$WATCH" "$CID" holders)"
  [[ ${holders[$FSLOT]} != "$FORGER_ID" && ${holders[$FSLOT]} != - ]]
}
wait_for 120 "the forger's slot $FSLOT rebuilt on another member" rebuilt_elsewhere
grep -q "forge: resent [1-9][0-9]* validly signed heartbeat" "$CLUSTER_DIR/m$FORGER.log" ||
  fail "the forger did not keep sending heartbeats after its revocation"
grep -q "admission: peer=.* refused" "$CLUSTER_DIR"/m[1-5].log || fail "no member logged the revoked forger refused"
step "slot $FSLOT now held by $(cluster_view_field "$WATCH" "$CID" holders | cut -d' ' -f$((FSLOT + 1)))"

step "a get on an honest member is byte-exact"
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo 2)" -o "$TEST_TMP/got"
cmp -s "$TEST_TMP/file" "$TEST_TMP/got" || fail "member 2 got different bytes"
step "ok"
