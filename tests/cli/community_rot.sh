# Silent damage on a holder's disk, real daemons on loopback: eight members
# keep a K=4 M=2 dataset (the eighth is the uploader). While its daemon
# runs, one holder's pack files get bytes flipped in every block, and later
# another holder's block rows are deleted from its database (the uploader
# has left by then, so repairs read only from holders). Neither daemon
# is told: each finds out when it next has to prove its slot (a watcher's
# heartbeat challenge or audit), the slot is reported damaged and rebuilt
# from the other holders (every rebuilt block checked against the slot
# root), and a get on a survivor is byte-exact.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CODEX_SOURCE/scripts/community-cluster.sh"

ENCODE=$CODEX_BIN/codex-encode
[[ -x $CLUSTER_GOSSIP && -x $ENCODE ]] || fail "codex-gossip and codex-encode must be built"

FAIL_LOG_DIR=$TEST_TMP/c  # the cluster below; a failure shows the end of each member's log

N=8
UPLOADER=8
cluster_init "$TEST_TMP/c" $N || fail "cannot make the community"
KEEP_DIR=$TEST_TMP/c  # CODEX_TEST_KEEP=DIR keeps it
for ((i = 1; i <= N; i++)); do cluster_start $i || fail "member $i did not start"; done
for ((i = 1; i <= N; i++)); do
  cluster_wait_live $i $N 40 || fail "member $i does not see the community"
done

step "the uploader stores a K=4 M=2 file; six members hold a slot each"
random_file "$TEST_TMP/file" 3000000
"$CHUNK" -q "$TEST_TMP/file" | "$ENCODE" -q -k 4 -m 2 |
  "$PUT" --wait --wait-timeout 90 --repo "$(cluster_repo $UPLOADER)" >"$TEST_TMP/cid" 2>"$TEST_TMP/put.err" ||
  fail "codex-put --wait failed: $(cat "$TEST_TMP/put.err")"
CID=$(cat "$TEST_TMP/cid")
read -r -a HOLDERS <<<"$(cluster_view_field 1 "$CID" holders)"
((${#HOLDERS[@]} == 6)) || fail "expected 6 slots, got ${HOLDERS[*]}"
ROT=$(cluster_index_of "${HOLDERS[1]}") || fail "holder ${HOLDERS[1]} is no member"
GONE=$(cluster_index_of "${HOLDERS[4]}") || fail "holder ${HOLDERS[4]} is no member"

# The slot's blocks in a holder's database (the manifest and tree rows stay).
slot_rows() { sqlite3 "$(cluster_repo "$1")/codex.db" "SELECT count(*) FROM blocks"; }
(($(slot_rows "$ROT") > 0)) || fail "holder $ROT holds no blocks"
# The uploader leaves: every block of a repair comes from the holders.
cluster_stop $UPLOADER TERM

# Full health again, after a rebuild of slot `slot`. A member that lost a
# slot to damage is asked to rebuild it only after every other member
# (docs/protocol.md, Repair). Here another member can, so the damaged one
# must never hold its slot again. (Views sent before the damage report
# reached their senders once named the damaged holder "held" and stopped
# the only other claimant, and the damaged member took its slot back after
# the repair timeout: slot epochs, docs/protocol.md, make such views older
# than the loss.)
healed() {  # healed WATCH SLOT
  grep -q "dataset=$CID slot=$2 rebuilt" "$CLUSTER_DIR"/m*.log || return 1
  [[ $(cluster_view_field "$1" "$CID" complete) == yes ]]
}

step "member $ROT's pack files rot (a byte flipped every 4 KiB) while its daemon runs"
"$PYTHON" - "$(cluster_repo "$ROT")/packs" <<'EOF'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        path = os.path.join(root, name)
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            for i in range(0, len(data), 4096):
                data[i] ^= 0x5A
            f.seek(0)
            f.write(data)
EOF
WATCH=1
while [[ $WATCH == "$ROT" || $WATCH == "$GONE" ]]; do WATCH=$((WATCH + 1)); done
# rebuilt_elsewhere SLOT DAMAGED WHAT: wait for slot SLOT's rebuild and full
# health, check that member DAMAGED reported its slot damaged and that the
# slot is held by another member, not rebuilt by the damaged one.
rebuilt_elsewhere() {
  local slot=$1 damaged=$2 what=$3 started=$SECONDS holder took
  wait_for 90 "slot $slot rebuilt, full health (member $WATCH's view)" healed "$WATCH" "$slot"
  holder=$(cluster_view_field "$WATCH" "$CID" holders | cut -d' ' -f$((slot + 1)))
  took=$((SECONDS - started))
  step "slot $slot held by $holder $took s after the $what"
  [[ $holder != "${HOLDERS[$slot]}" ]] || fail "member $damaged holds the slot it lost to $what again"
  ! grep -q "dataset=$CID slot=$slot rebuilt" "$CLUSTER_DIR/m$damaged.log" ||
    fail "member $damaged rebuilt the slot it lost to $what"
  grep -q "dataset=$CID slot=$slot cannot be proven: reported damaged" "$CLUSTER_DIR/m$damaged.log" ||
    fail "member $damaged did not report its damaged slot"
}
# Member ROT restarts as soon as it has reported the damage: its daemon
# remembers the report (DIR/damaged-slots), so the restarted member still
# does not take that slot within the repair timeout.
# (The slot's drop is logged once the report is on disk.)
reported() { grep -q "dataset=$CID slot=1 dropped" "$CLUSTER_DIR/m$ROT.log"; }
wait_for 90 "member $ROT to report and drop its damaged slot" reported
cluster_stop "$ROT" TERM
cluster_start "$ROT" || fail "member $ROT did not restart"
remembered() { grep -q "dataset=$CID slot=1 reported damaged [0-9]* ms before this start" "$CLUSTER_DIR/m$ROT.log"; }
wait_for 20 "member $ROT to remember its damage report after the restart" remembered
rebuilt_elsewhere 1 "$ROT" damage

step "member $GONE's block rows are deleted from its database while its daemon runs"
sqlite3 "$(cluster_repo "$GONE")/codex.db" "DELETE FROM blocks" || fail "cannot delete member $GONE's rows"
rebuilt_elsewhere 4 "$GONE" deletion

# A member whose disk rotted under its dropped slot fetches what it needs
# again: no rebuild fails on a bad local copy.
! grep -h "dataset=$CID slot=[0-5] failed: .*corrupt" "$CLUSTER_DIR"/m*.log ||
  fail "a rebuild failed on a corrupt local block instead of fetching it again"

read -r -a NOW <<<"$(cluster_view_field "$WATCH" "$CID" holders)"
[[ $(printf '%s\n' "${NOW[@]}" | sort -u | wc -l) == 6 ]] || fail "a member holds two slots: ${NOW[*]}"
for s in 1 4; do
  idx=$(cluster_index_of "${NOW[$s]}") || fail "slot $s holder ${NOW[$s]} is no member"
  expect_exit 0 "$CODEX_BIN/codex-verify" --community "$CID" --repo "$(cluster_repo "$idx")"
  grep -Eq "^ +$s +yes +intact +held" "$OUT_FILE" || fail "member $idx does not hold slot $s intact: $(cat "$OUT_FILE")"
done

step "a get on a survivor is byte-exact"
for ((i = 1; i <= N; i++)); do
  [[ $i != "$ROT" && $i != "$GONE" && $i != "$UPLOADER" ]] && { READER=$i; break; }
done
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo "$READER")" -o "$TEST_TMP/got"
cmp -s "$TEST_TMP/file" "$TEST_TMP/got" || fail "member $READER got different bytes"
step "ok"
