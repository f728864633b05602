# A community of real daemons on loopback, for the cluster test
# (tests/cli/community.sh) and scripts/demo.sh. Sourced, not run.
#
#   cluster_init DIR N [CONF]   N member repositories DIR/m1..mN, one community
#                               (m1 owns it), CONF written as each gossip.conf
#   cluster_start I             start member I (listens on a fixed loopback port,
#                               dials every other member)
#   cluster_stop I [SIGNAL]     stop it (default TERM; KILL for a crash)
#   cluster_wait_live I N SECS  until member I sees N live members
#   cluster_json I CMD [CID]    a control command's JSON answer
#   cluster_field I PATH        one field of `codex-gossip status --json` (a.b.c)
#
# Needs CODEX_BIN (the built tools) and PYTHON.

CLUSTER_GOSSIP=${CODEX_BIN:?}/codex-gossip

# Short intervals: failure detection in seconds, not hours (the defaults are
# for a real community; docs/protocol.md says why).
CLUSTER_FAST_CONF='probe-interval-ms = 500
probe-timeout-ms = 250
suspicion-multiplier = 3
sync-interval-ms = 3000
heartbeat-interval-ms = 1000
suspect-after-missed = 2
lost-after-missed = 4
loss-confirmations = 2
repair-backoff-ms = 1000
repair-timeout-ms = 60000
join-wait-ms = 1500'

cluster_init() {
  local dir=$1 n=$2 conf=${3:-$CLUSTER_FAST_CONF} i
  CLUSTER_DIR=$dir
  CLUSTER_N=$n
  mkdir -p "$dir"
  # Ports: a block of N (fixed per member across restarts) below Linux's
  # ephemeral range (32768 and up), where the members' own outgoing
  # connections take their local ports: a member whose port an outgoing
  # connection had taken could not start ("Address already in use"), which
  # made cluster scenarios fail now and then. A block with a port in use
  # (another cluster on this machine) is passed over.
  if [[ -z ${CLUSTER_PORT_BASE:-} ]]; then
    local tries
    for ((tries = 0; tries < 50; tries++)); do
      CLUSTER_PORT_BASE=$((20000 + (RANDOM % 120) * 100))
      cluster_ports_free "$CLUSTER_PORT_BASE" "$n" && break
    done
  fi
  "$CLUSTER_GOSSIP" community create --repo "$dir/m1" >"$dir/community-id" 2>/dev/null || return 1
  for ((i = 1; i <= n; i++)); do
    if ((i > 1)); then
      local id
      id=$("$CLUSTER_GOSSIP" id --repo "$dir/m$i" 2>/dev/null) || return 1
      "$CLUSTER_GOSSIP" admit "$id" --repo "$dir/m1" -o "$dir/m$i.cert" 2>/dev/null || return 1
      "$CLUSTER_GOSSIP" join "$dir/m$i.cert" --repo "$dir/m$i" >/dev/null 2>&1 || return 1
    fi
    printf '%s\n' "$conf" >"$dir/m$i/gossip.conf"
    "$CLUSTER_GOSSIP" id --repo "$dir/m$i" >"$dir/m$i.id" 2>/dev/null
  done
}

# cluster_ports_free BASE N: no process listens on 127.0.0.1 ports BASE+1..BASE+N.
cluster_ports_free() {
  "$PYTHON" - "$1" "$2" <<'PY'
import socket, sys
base, n = int(sys.argv[1]), int(sys.argv[2])
for port in range(base + 1, base + n + 1):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        sys.exit(1)
    finally:
        s.close()
PY
}

cluster_port() { echo $((CLUSTER_PORT_BASE + $1)); }
cluster_addr() { echo "/ip4/127.0.0.1/tcp/$(cluster_port "$1")/p2p/$(cat "$CLUSTER_DIR/m$1.id")"; }
cluster_repo() { echo "$CLUSTER_DIR/m$1"; }

cluster_start() {
  local i=$1 j args=()
  for ((j = 1; j <= CLUSTER_N; j++)); do
    ((j == i)) || args+=(--bootstrap "$(cluster_addr "$j")")
  done
  "$CLUSTER_GOSSIP" run --repo "$CLUSTER_DIR/m$i" --listen "/ip4/127.0.0.1/tcp/$(cluster_port "$i")" "${args[@]}" \
    2>>"$CLUSTER_DIR/m$i.log" &
  echo $! >"$CLUSTER_DIR/m$i.pid"
  if declare -F track_pid >/dev/null; then track_pid $!; fi
  local k
  for ((k = 0; k < 100; k++)); do
    "$CLUSTER_GOSSIP" status --repo "$CLUSTER_DIR/m$i" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "member $i did not start (see $CLUSTER_DIR/m$i.log)" >&2
  return 1
}

cluster_stop() {
  local i=$1 sig=${2:-TERM} pid
  pid=$(cat "$CLUSTER_DIR/m$i.pid" 2>/dev/null) || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$CLUSTER_DIR/m$i.pid"
}

cluster_running() { [[ -f $CLUSTER_DIR/m$1.pid ]] && kill -0 "$(cat "$CLUSTER_DIR/m$1.pid")" 2>/dev/null; }

cluster_stop_all() {
  local i
  for ((i = 1; i <= ${CLUSTER_N:-0}; i++)); do cluster_stop "$i" TERM; done
}

cluster_json() {  # cluster_json I COMMAND [CID]
  local args=("$2")
  [[ -n ${3:-} ]] && args+=("$3")
  "$CLUSTER_GOSSIP" "${args[@]}" --json --repo "$CLUSTER_DIR/m$1" 2>/dev/null
}

cluster_field() {  # cluster_field I core.live_members
  "$CLUSTER_GOSSIP" status --json --repo "$CLUSTER_DIR/m$1" 2>/dev/null |
    "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v.get(k) if isinstance(v, dict) else None
print("" if v is None else v)' "$2"
}

cluster_wait_live() {  # cluster_wait_live I N SECONDS
  local i=$1 n=$2 limit=$3 live deadline=$((SECONDS + $3))
  while ((SECONDS < deadline)); do
    live=$(cluster_field "$i" core.live_members)
    [[ -n $live && $live -eq $n ]] && return 0
    sleep 0.2
  done
  echo "member $i sees ${live:-?} live members, not $n, after ${limit}s" >&2
  return 1
}

# The dataset view as a member sees it (JSON), and its summary fields.
cluster_view() { "$CLUSTER_GOSSIP" dataset "$2" --json --repo "$CLUSTER_DIR/m$1" 2>/dev/null; }
cluster_view_field() {  # cluster_view_field I CID complete|held|holders
  cluster_view "$1" "$2" | "$PYTHON" -c '
import json, sys
v = json.load(sys.stdin)
what = sys.argv[1]
slots = v.get("slots", [])
if what == "complete": print("yes" if v.get("complete") else "no")
elif what == "held": print(sum(1 for s in slots if s.get("holder")))
elif what == "holders": print(" ".join(s.get("holder") or "-" for s in slots))
elif what == "states": print(" ".join(s.get("state") for s in slots))
' "$3"
}

# Which member (index) is this peer id?
cluster_index_of() {
  local j
  for ((j = 1; j <= CLUSTER_N; j++)); do
    [[ $(cat "$CLUSTER_DIR/m$j.id") == "$1" ]] && { echo "$j"; return 0; }
  done
  return 1
}
