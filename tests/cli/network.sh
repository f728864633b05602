#!/usr/bin/env bash
# Members on loopback, real daemons: five members of one community fetch
# datasets from each other (codex-get through the local daemon, streamed as a
# block source, or with --store into the repository); a member
# killed mid-transfer is routed around; an interrupted fetch resumes; gc
# beside a fetch waits for it and drops none of its blocks; a peer
# that is not admitted, and one that is revoked, get nothing; garbage and
# half-open connections on a listening port leave the daemon serving.
# (Members serving wrong blocks or stalling: tests/daemon/lying_member.sh,
# with a daemon built to misbehave, and tests/daemon/fetch_test.cpp.)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GOSSIP=$CODEX_BIN/codex-gossip
[[ -x $GOSSIP ]] || fail "codex-gossip is not built"

# Every wait below is bounded; the whole scenario stays well under a minute.

status_field() {  # status_field REPO FIELD
  "$GOSSIP" status --json --repo "$1" | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}

members_connected_at_least() { [[ $(status_field "$1" members_connected) -ge $2 ]]; }

declare -A DAEMON_PID
start_daemon() {  # start_daemon NAME [bootstrap addresses...]
  local name=$1 repo=$TEST_TMP/$1
  shift
  local args=()
  for a in "$@"; do args+=(--bootstrap "$a"); done
  "$GOSSIP" run --repo "$repo" --listen /ip4/127.0.0.1/tcp/0 "${args[@]}" 2>>"$TEST_TMP/$name.log" &
  DAEMON_PID[$name]=$!
  track_pid $!
  wait_for 10 "daemon $name up" "$GOSSIP" status --repo "$repo"
}

address_of() {  # the first listen multiaddr (with /p2p/) of a running daemon
  "$GOSSIP" status --json --repo "$TEST_TMP/$1" | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['listen'][0])"
}

step "a community of five"
OWNER=$TEST_TMP/m1
expect_exit 0 "$GOSSIP" community create --repo "$OWNER"
COMMUNITY=$(cat "$OUT_FILE")
[[ $COMMUNITY == 12D3KooW* ]] || fail "community id '$COMMUNITY'"
for m in m2 m3 m4 m5; do
  id=$("$GOSSIP" id --repo "$TEST_TMP/$m")
  "$GOSSIP" admit "$id" --repo "$OWNER" -o "$TEST_TMP/$m.cert" 2>/dev/null
  expect_exit 0 "$GOSSIP" join "$TEST_TMP/$m.cert" --repo "$TEST_TMP/$m"
done
# A certificate is for one node only.
expect_exit 9 "$GOSSIP" join "$TEST_TMP/m2.cert" --repo "$TEST_TMP/m3"

ADDRS=()
for m in m1 m2 m3 m4 m5; do
  start_daemon $m "${ADDRS[@]}"
  ADDRS+=("$(address_of $m)")
done
for m in m1 m2 m3 m4 m5; do
  wait_for 20 "$m sees the four others as members" members_connected_at_least "$TEST_TMP/$m" 4
done
"$GOSSIP" members --repo "$TEST_TMP/m3" >"$TEST_TMP/members.txt"
[[ $(wc -l <"$TEST_TMP/members.txt") == 5 ]] || fail "m3 lists $(wc -l <"$TEST_TMP/members.txt") members, expected 5"

step "members fetch datasets from each other"
head -c 3000000 /dev/urandom >"$TEST_TMP/d1"
head -c 2000000 /dev/urandom >"$TEST_TMP/d2"
D1=$("$CHUNK" "$TEST_TMP/d1" 2>/dev/null | "$PUT" -q --repo "$TEST_TMP/m1")
D2=$("$CHUNK" "$TEST_TMP/d2" 2>/dev/null | "$PUT" -q --repo "$TEST_TMP/m2")
for pair in "m3 $D1 d1" "m3 $D2 d2" "m4 $D1 d1" "m5 $D2 d2" "m2 $D1 d1"; do
  read -r m cid file <<<"$pair"
  expect_exit 0 "$GET" "$cid" --repo "$TEST_TMP/$m" -o "$TEST_TMP/$m.$file"
  cmp -s "$TEST_TMP/$file" "$TEST_TMP/$m.$file" || fail "$m got a different $file"
done
# codex-get streams from members without keeping the blocks; --car (like
# --store) fetches the dataset into the repository first.
expect_exit 0 "$GET" "$D2" --car --repo "$TEST_TMP/m5" -o "$TEST_TMP/d2.car"
served=0
for m in m1 m2 m3; do served=$((served + $(status_field "$TEST_TMP/$m" blocks_served))); done
((served > 0)) || fail "no member served a block"
# Without a daemon every tool works on its repository alone, as before.
expect_exit 3 "$GET" "$D1" --repo "$TEST_TMP/m1-alone" -o "$TEST_TMP/x"

step "a streamed get that rebuilt blocks no member gave says so in one line (not with -q)"
# m2 holds slots 1-3 of a K=2 M=2 dataset: slot 0's data blocks are on no member.
head -c 600000 /dev/urandom >"$TEST_TMP/dp"
DP=$("$CHUNK" -q "$TEST_TMP/dp" | "$CODEX_BIN/codex-encode" -q -k 2 -m 2 |
  "$PUT" -q --no-publish --slots 1-3 --repo "$TEST_TMP/m2")
expect_exit 0 "$GET" "$DP" --repo "$TEST_TMP/m4" -o "$TEST_TMP/m4.dp"
cmp -s "$TEST_TMP/dp" "$TEST_TMP/m4.dp" || fail "m4 got a different dp"
expect_eq "stderr lines of a streamed get that rebuilt blocks" "$(wc -l <"$ERR_FILE")" 1
expect_err "^codex-get: warning: [1-9][0-9]* block\(s\) no member gave were rebuilt from parity"
expect_exit 0 "$GET" -q "$DP" --repo "$TEST_TMP/m4" -o "$TEST_TMP/m4.dp"
[[ ! -s $ERR_FILE ]] || fail "codex-get -q printed: $(cat "$ERR_FILE")"

step "a member killed mid-transfer is routed around"
head -c 24000000 /dev/urandom >"$TEST_TMP/d3"
D3=$("$CHUNK" "$TEST_TMP/d3" 2>/dev/null | "$PUT" -q --repo "$TEST_TMP/m1")
"$GET" "$D3" --car --repo "$TEST_TMP/m1" | "$PUT" --repo "$TEST_TMP/m2" >/dev/null
"$GET" "$D3" -o "$TEST_TMP/m5.d3" --repo "$TEST_TMP/m5" 2>"$TEST_TMP/get5.err" &
GET_PID=$!
track_pid $GET_PID
sleep 0.3
kill -9 "${DAEMON_PID[m1]}"
wait $GET_PID || fail "codex-get on m5 failed after m1 was killed: $(cat "$TEST_TMP/get5.err")"
cmp -s "$TEST_TMP/d3" "$TEST_TMP/m5.d3" || fail "m5 got a different d3"

step "an interrupted fetch with --store resumes"
# Large enough that the fetch is still running when the kill comes (24 MB
# could finish between two polls of packs_over on a quiet machine).
head -c 96000000 /dev/urandom >"$TEST_TMP/d6"
D6=$("$CHUNK" "$TEST_TMP/d6" 2>/dev/null | "$PUT" -q --repo "$TEST_TMP/m2")
# Killed once it has written 12 MB of blocks (8 MiB are committed at a time).
packs_bytes() { local b; b=$(du -sb "$TEST_TMP/m4/packs" 2>/dev/null | cut -f1); echo "${b:-0}"; }
PACKS_BEFORE=$(packs_bytes)
"$GET" "$D6" --store -o "$TEST_TMP/m4.d6" --repo "$TEST_TMP/m4" 2>/dev/null &
GET_PID=$!
track_pid $GET_PID
packs_over() { (($(packs_bytes) > PACKS_BEFORE + 12000000)); }
wait_for 20 "m4 storing blocks" packs_over
kill -9 "${DAEMON_PID[m4]}"
wait $GET_PID 2>/dev/null || true
start_daemon m4 "${ADDRS[1]}" "${ADDRS[2]}" "${ADDRS[4]}"
wait_for 20 "m4 back among members" members_connected_at_least "$TEST_TMP/m4" 3
expect_exit 0 "$GET" "$D6" --store -o "$TEST_TMP/m4.d6" --repo "$TEST_TMP/m4" -v
cmp -s "$TEST_TMP/d6" "$TEST_TMP/m4.d6" || fail "m4 got a different d6"
grep -E "from members: [0-9]+ blocks fetched, [1-9][0-9]* already here" "$ERR_FILE" >/dev/null ||
  fail "the fetch did not resume (nothing already here): $(cat "$ERR_FILE")"
step "$(grep -o 'from members.*' "$ERR_FILE")"

step "gc while the daemon fetches with --store waits for the fetch and keeps its blocks"
# The blocks arrive in several batches and the dataset is recorded only at
# the end: a gc sweep in between would find blocks no dataset names yet.
m5_packs() { local b; b=$(du -sb "$TEST_TMP/m5/packs" 2>/dev/null | cut -f1); echo "${b:-0}"; }
M5_BEFORE=$(m5_packs)
"$GET" "$D6" --store -o "$TEST_TMP/m5.d6" --repo "$TEST_TMP/m5" 2>"$TEST_TMP/get5.err" &
GET_PID=$!
track_pid $GET_PID
m5_storing() { (($(m5_packs) > M5_BEFORE + 4000000)); }
wait_for 20 "m5 storing blocks" m5_storing
expect_exit 0 "$CODEX_BIN/codex-repo" gc --repo "$TEST_TMP/m5"
expect_err "waiting for a put, a repair or a daemon's fetch"
wait $GET_PID || fail "codex-get --store on m5 failed beside gc: $(cat "$TEST_TMP/get5.err")"
cmp -s "$TEST_TMP/d6" "$TEST_TMP/m5.d6" || fail "m5 got a different d6"
expect_exit 0 "$CODEX_BIN/codex-verify" -q "$D6" --repo "$TEST_TMP/m5"

step "a peer that is not admitted gets nothing"
"$GOSSIP" id --repo "$TEST_TMP/stranger" >/dev/null
start_daemon stranger "${ADDRS[1]}"
wait_for 10 "m2 refuses the stranger" grep -q "refused" "$TEST_TMP/m2.log"
[[ $(status_field "$TEST_TMP/stranger" member) == False ]] || fail "the stranger thinks it is a member"
[[ $(status_field "$TEST_TMP/stranger" members_connected) == 0 ]] || fail "the stranger has member connections"
expect_exit 3 "$GET" "$D2" --repo "$TEST_TMP/stranger" -o "$TEST_TMP/x"
[[ ! -e $TEST_TMP/x ]] || fail "the stranger wrote an output file"

step "a revoked member is cut off everywhere"
M3_ID=$("$GOSSIP" id --repo "$TEST_TMP/m3")
# The owner's daemon is gone (killed above): revoke offline, then hand the
# revocation to a running member, which spreads it.
expect_exit 0 "$GOSSIP" revoke "$M3_ID" --repo "$OWNER" -o "$TEST_TMP/m3.revocation"
"$PYTHON" - "$TEST_TMP/m2/gossip.sock" "$(cat "$TEST_TMP/m3.revocation")" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall((json.dumps({"command": "revoke", "revocation": sys.argv[2]}) + "\n").encode())
answer = json.loads(s.makefile().readline())
assert answer["ok"], answer
EOF
for m in m2 m4 m5; do
  wait_for 15 "$m drops revoked m3" bash -c "! '$GOSSIP' members --repo '$TEST_TMP/$m' | grep -q '$M3_ID'"
done
head -c 500000 /dev/urandom >"$TEST_TMP/d4"
D4=$("$CHUNK" "$TEST_TMP/d4" 2>/dev/null | "$PUT" -q --repo "$TEST_TMP/m2")
expect_exit 3 "$GET" "$D4" --repo "$TEST_TMP/m3" -o "$TEST_TMP/x"
expect_exit 0 "$GET" "$D4" --repo "$TEST_TMP/m5" -o "$TEST_TMP/m5.d4"
cmp -s "$TEST_TMP/d4" "$TEST_TMP/m5.d4" || fail "m5 got a different d4"

step "garbage and half-open connections on a listening port"
PORT=$(address_of m2 | cut -d/ -f5)
"$PYTHON" - "$PORT" <<'EOF' &
import os, socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(40):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.sendall(os.urandom(4096))           # garbage
    elif i % 4 == 0:
        s.sendall(b"\x13/multistream/1.0.0\n")  # a start, then silence
    held.append(s)                             # the rest: connect and say nothing
time.sleep(6)
EOF
HALF_OPEN_PID=$!
track_pid $HALF_OPEN_PID
sleep 1
expect_exit 0 "$GOSSIP" status --repo "$TEST_TMP/m2"
head -c 800000 /dev/urandom >"$TEST_TMP/d5"
D5=$("$CHUNK" "$TEST_TMP/d5" 2>/dev/null | "$PUT" -q --repo "$TEST_TMP/m2")
expect_exit 0 "$GET" "$D5" --repo "$TEST_TMP/m4" -o "$TEST_TMP/m4.d5"
cmp -s "$TEST_TMP/d5" "$TEST_TMP/m4.d5" || fail "m4 got a different d5"
wait $HALF_OPEN_PID || true
kill -0 "${DAEMON_PID[m2]}" || fail "m2's daemon died"

step "SIGTERM shuts a daemon down cleanly"
kill -TERM "${DAEMON_PID[m5]}"
wait "${DAEMON_PID[m5]}" || fail "m5's daemon exited with $? on SIGTERM"
[[ ! -e $TEST_TMP/m5/gossip.sock ]] || fail "m5 left its control socket behind"
grep -q "shutting down" "$TEST_TMP/m5.log" || fail "m5 did not log its shutdown"
step "ok"
