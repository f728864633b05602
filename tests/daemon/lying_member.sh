#!/usr/bin/env bash
# Members that misbehave, as real daemons on loopback (misbehaving_member:
# the daemon with a serve hook): one that serves corrupt blocks and one that
# never answers want-block. codex-get through its daemon refuses the liar's
# blocks, names it, and gets the data from an honest member; with only the
# liar (or only the staller) left it fails with exit 5 (unavailable) and
# writes nothing; the stall costs one request timeout (2 s here), not more.
# With --store, nothing of the liar's is stored (every stored block checks).
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"

FAIL_LOG_DIR=$TEST_TMP  # a failure shows the end of each daemon's log

GOSSIP=$CODEX_BIN/codex-gossip
[[ -x $GOSSIP ]] || fail "codex-gossip is not built"
[[ -x ${MISBEHAVING_MEMBER:-} ]] || fail "misbehaving_member is not built (MISBEHAVING_MEMBER)"

status_field() { "$GOSSIP" status --json --repo "$1" | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
members_connected() { [[ $(status_field "$1" members_connected) == "$2" ]]; }
address_of() { "$GOSSIP" status --json --repo "$TEST_TMP/$1" | "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)['listen'][0])"; }

declare -A PID
start() {  # start NAME PROGRAM-AND-MODE... : a daemon on a free loopback port
  local name=$1
  shift
  "$@" --repo "$TEST_TMP/$name" --listen /ip4/127.0.0.1/tcp/0 2>>"$TEST_TMP/$name.log" &
  PID[$name]=$!
  track_pid $!
  wait_for 10 "daemon $name up" "$GOSSIP" status --repo "$TEST_TMP/$name"
}
stop() { kill "${PID[$1]}" && wait "${PID[$1]}" 2>/dev/null || true; }

step "a community: honest, liar, staller, fetcher"
expect_exit 0 "$GOSSIP" community create --repo "$TEST_TMP/honest"
for m in liar staller fetcher; do
  "$GOSSIP" admit "$("$GOSSIP" id --repo "$TEST_TMP/$m")" --repo "$TEST_TMP/honest" -o "$TEST_TMP/$m.cert" 2>/dev/null
  expect_exit 0 "$GOSSIP" join "$TEST_TMP/$m.cert" --repo "$TEST_TMP/$m"
done
LIAR=$("$GOSSIP" id --repo "$TEST_TMP/liar")
STALLER=$("$GOSSIP" id --repo "$TEST_TMP/staller")
# The fetcher gives a silent member 2 s (the default is 300 s).
printf 'request-timeout = 2\n' >"$TEST_TMP/fetcher/gossip.conf"
head -c 3000000 /dev/urandom >"$TEST_TMP/data"
D=$("$CHUNK" "$TEST_TMP/data" 2>/dev/null | "$PUT" -q --repo "$TEST_TMP/honest")
for m in liar staller; do "$GET" "$D" --car --repo "$TEST_TMP/honest" | "$PUT" -q --repo "$TEST_TMP/$m" >/dev/null; done

start honest "$GOSSIP" run
start liar "$MISBEHAVING_MEMBER" corrupt
start fetcher "$GOSSIP" run --bootstrap "$(address_of honest)" --bootstrap "$(address_of liar)"
wait_for 20 "the fetcher sees the honest member and the liar" members_connected "$TEST_TMP/fetcher" 2

step "a member that lies is refused and named; the data comes from the honest one"
expect_exit 0 "$GET" "$D" --repo "$TEST_TMP/fetcher" -o "$TEST_TMP/got"
cmp -s "$TEST_TMP/data" "$TEST_TMP/got" || fail "the fetched data differs"
grep -q "member $LIAR sent a wrong block" "$ERR_FILE" || fail "codex-get did not name the liar: $(cat "$ERR_FILE")"
grep -q "peer=$LIAR dropped: sent a wrong block" "$TEST_TMP/fetcher.log" || fail "the fetcher's daemon did not log the liar"

step "with --store, nothing of the liar's is stored"
# The liar was cut off; the daemon dials it again (it is a bootstrap peer).
wait_for 20 "the liar back" members_connected "$TEST_TMP/fetcher" 2
expect_exit 0 "$GET" "$D" --store --repo "$TEST_TMP/fetcher" -o "$TEST_TMP/got2"
cmp -s "$TEST_TMP/data" "$TEST_TMP/got2" || fail "the data fetched with --store differs"
expect_exit 0 "$CODEX_BIN/codex-verify" --repo "$TEST_TMP/fetcher"
stop fetcher
rm -rf "$TEST_TMP/fetcher/packs" "$TEST_TMP/fetcher"/codex.db*
start fetcher "$GOSSIP" run --bootstrap "$(address_of honest)" --bootstrap "$(address_of liar)"

step "with only the liar left: exit 5, the liar named, no output"
stop honest
wait_for 20 "the fetcher sees only the liar" members_connected "$TEST_TMP/fetcher" 1
expect_exit 5 "$GET" "$D" --repo "$TEST_TMP/fetcher" -o "$TEST_TMP/got3"
grep -q "member $LIAR sent a wrong block" "$ERR_FILE" || fail "codex-get did not name the liar: $(cat "$ERR_FILE")"
grep -q "error: .*every member asked failed to give it" "$ERR_FILE" || fail "unexpected error: $(cat "$ERR_FILE")"
[[ ! -e $TEST_TMP/got3 ]] || fail "codex-get wrote an output from the liar"
stop liar

step "a member that stalls loses its requests after the request timeout"
start honest "$GOSSIP" run
start staller "$MISBEHAVING_MEMBER" stall
stop fetcher
start fetcher "$GOSSIP" run --bootstrap "$(address_of honest)" --bootstrap "$(address_of staller)"
wait_for 20 "the fetcher sees the honest member and the staller" members_connected "$TEST_TMP/fetcher" 2
expect_exit 0 timeout 60 "$GET" "$D" --repo "$TEST_TMP/fetcher" -o "$TEST_TMP/got4"
cmp -s "$TEST_TMP/data" "$TEST_TMP/got4" || fail "the data differs"
grep -q "member $STALLER answered nothing for 2 s" "$ERR_FILE" || fail "codex-get did not name the staller: $(cat "$ERR_FILE")"

step "with only the staller left: exit 5 within the timeout, no output"
stop honest
wait_for 20 "the fetcher sees only the staller" members_connected "$TEST_TMP/fetcher" 1
expect_exit 5 timeout 60 "$GET" "$D" --repo "$TEST_TMP/fetcher" -o "$TEST_TMP/got5"
grep -q "member $STALLER answered nothing" "$ERR_FILE" || fail "codex-get did not name the staller: $(cat "$ERR_FILE")"
[[ ! -e $TEST_TMP/got5 ]] || fail "codex-get wrote an output"
step "ok"
