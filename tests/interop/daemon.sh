#!/usr/bin/env bash
# Interop of a stock js-libp2p node with the codex-gossip daemon itself, on
# loopback (TCP, TLS 1.3, yamux):
#   1. a js node with no certificate dials a running daemon, pings it and
#      identifies it; the community's protocols are refused to it (not even
#      offered in identify), and a made-up certificate on the admission
#      protocol is refused and the connection closed;
#   2. a js node the owner admitted shows its certificate (the hex record
#      `codex-gossip admit` writes), is accepted, and fetches a block (a
#      dataset's manifest) over Codex block exchange, checking it against
#      its CID;
#   3. once revoked it is refused again;
#   4. a daemon dials a js node (a bootstrap address) and the two identify
#      each other.
# js-libp2p comes from npm at test time (setup.sh); skipped (exit 77) only
# when the npm registry cannot be reached.
# Environment: CODEX_BIN (the tools), BUILD_DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/setup.sh"
GOSSIP=${CODEX_BIN:?}/codex-gossip
for tool in "$GOSSIP" "$CODEX_BIN/codex-chunk" "$CODEX_BIN/codex-put"; do
  [ -x "$tool" ] || { echo "interop-daemon: $tool is not built" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "interop-daemon: FAILED: $*" >&2
  for log in "$tmp"/*.log; do [ -e "$log" ] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
  exit 1
}
listen_address() {  # the first listen multiaddr of the daemon on repo $1
  "$GOSSIP" status --json --repo "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['listen'][0])"
}
wait_up() {
  for _ in $(seq 1 100); do "$GOSSIP" status --repo "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "daemon on $1 did not come up"
}
seed() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
expect() {  # expect TEXT LINE: the probe's output has LINE
  grep -qxF -- "$2" <<<"$1" || fail "expected '$2' in the probe's output:
$1"
}

owner=$tmp/owner
"$GOSSIP" community create --repo "$owner" >/dev/null
head -c 300000 /dev/urandom >"$tmp/data"
dataset=$("$CODEX_BIN/codex-chunk" -q "$tmp/data" | "$CODEX_BIN/codex-put" -q --repo "$owner")
# The CID's bytes (base58btc text, multibase prefix z) for the block-exchange want.
cid_hex=$(python3 -c '
import sys
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
text = sys.argv[1]
assert text[0] == "z", text
n = 0
for c in text[1:]:
    n = n * 58 + alphabet.index(c)
print(n.to_bytes((n.bit_length() + 7) // 8, "big").hex())' "$dataset")
"$GOSSIP" run --repo "$owner" --listen /ip4/127.0.0.1/tcp/0 2>"$tmp/owner.log" &
pids+=($!)
wait_up "$owner"
addr=$(listen_address "$owner")
echo "interop-daemon: daemon listens on $addr"

echo "interop-daemon: 1. a js node without a certificate"
stranger=$(seed)
stranger_id=$("${js[@]}" peer-id "$stranger")
out=$(timeout 90 "${js[@]}" probe "$addr" "$stranger" 2>"$tmp/js1.log") || fail "the js probe failed: $(cat "$tmp/js1.log")"
echo "$out"
expect "$out" "ping=ok"
grep -qx "agent=codex-tools/.*" <<<"$out" || fail "no codex-tools agent in identify"
protocols=$(grep '^protocols=' <<<"$out")
case $protocols in *"/codex/admission/1.0.0"*) ;; *) fail "identify does not offer the admission protocol: $protocols" ;; esac
case $protocols in *"/codex/blockexc/"* | *"/codex/tree/"* | *"/codex/altruistic/"*) fail "identify offers community protocols to a stranger: $protocols" ;; esac
expect "$out" "before-admission /codex/blockexc/1.0.0=refused"
expect "$out" "before-admission /codex/tree/1.0.0=refused"
grep -q "^admission=refused reason=." <<<"$out" || fail "a made-up certificate was not refused"
grep -q "peer=$stranger_id refused" "$tmp/owner.log" || fail "the daemon did not log the refusal"

echo "interop-daemon: 2. a js node the owner admitted"
member=$(seed)
member_id=$("${js[@]}" peer-id "$member")
"$GOSSIP" admit "$member_id" --repo "$owner" -o "$tmp/member.cert" 2>/dev/null
out=$(timeout 90 "${js[@]}" probe "$addr" "$member" "$tmp/member.cert" "$cid_hex" 2>"$tmp/js2.log") ||
  fail "the js probe failed: $(cat "$tmp/js2.log")"
echo "$out"
expect "$out" "before-admission /codex/blockexc/1.0.0=refused"
expect "$out" "admission=accepted"
expect "$out" "after-admission /codex/blockexc/1.0.0=open"
expect "$out" "after-admission /codex/tree/1.0.0=open"
grep -qx "block=[1-9][0-9]* bytes sha256=matches-cid" <<<"$out" || fail "no block over block exchange"
grep -q "peer=$member_id admitted" "$tmp/owner.log" || fail "the daemon did not log the admission"

echo "interop-daemon: 3. the same js node, revoked"
"$GOSSIP" revoke "$member_id" --repo "$owner" >/dev/null 2>&1
out=$(timeout 90 "${js[@]}" probe "$addr" "$member" "$tmp/member.cert" "$cid_hex" 2>"$tmp/js3.log") ||
  fail "the js probe failed: $(cat "$tmp/js3.log")"
echo "$out"
grep -q "^admission=refused reason=.*revoked" <<<"$out" || fail "a revoked certificate was not refused"

echo "interop-daemon: 4. a daemon dials a js node"
mkfifo "$tmp/js-listen.in"
"${js[@]}" listen <"$tmp/js-listen.in" >"$tmp/js-listen.out" 2>"$tmp/js-listen.log" &
pids+=($!)
exec {hold}>"$tmp/js-listen.in"
for _ in $(seq 1 300); do [ -s "$tmp/js-listen.out" ] && break; sleep 0.1; done
js_addr=$(head -n1 "$tmp/js-listen.out")
[ -n "$js_addr" ] || fail "the js node printed no address"
js_id=${js_addr##*/p2p/}
dialer=$tmp/dialer
"$GOSSIP" run --repo "$dialer" --listen /ip4/127.0.0.1/tcp/0 --bootstrap "$js_addr" 2>"$tmp/dialer.log" &
pids+=($!)
wait_up "$dialer"
dialer_id=$("$GOSSIP" id --repo "$dialer")
for _ in $(seq 1 200); do grep -q "identified $dialer_id agent=codex-tools/" "$tmp/js-listen.log" && break; sleep 0.1; done
grep -q "identified $dialer_id agent=codex-tools/" "$tmp/js-listen.log" || fail "the js node was not dialled and identified by the daemon"
"$GOSSIP" peers --json --repo "$dialer" | grep -q "\"$js_id\"" || fail "the daemon does not list the js node as a peer"
echo "interop-daemon: the daemon dialled js-libp2p $js_id; all passed"
