# Shared helpers for the CLI scenario scripts in tests/cli: where the tools
# are, a scratch directory removed on exit, a fresh repository per scenario,
# exit-code and message checks, test inputs and CAR stream surgery. Scenario
# scripts source it first:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# ctest runs every tests/cli/*.sh, this file included: run directly it checks
# its own helpers against the built tools.
set -euo pipefail

: "${CODEX_BIN:?set CODEX_BIN to the build directory that holds codex-chunk, codex-put and codex-get}"
CODEX_SOURCE=${CODEX_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CODEX_TEST_DATA=${CODEX_TEST_DATA:-$CODEX_SOURCE/tests/data}
CHUNK=$CODEX_BIN/codex-chunk
PUT=$CODEX_BIN/codex-put
GET=$CODEX_BIN/codex-get
VECTORS=$CODEX_TEST_DATA/codex-vectors.json

SCENARIO=$(basename "$0" .sh)

# Scenarios that run daemons set FAIL_LOG_DIR: a failure then also prints
# the end of each *.log there. They set KEEP_DIR too: CODEX_TEST_KEEP=DIR
# keeps a copy of it (the members' repositories and logs) for a look afterwards.
FAIL_LOG_DIR=
KEEP_DIR=
fail() {
  printf '%s: FAIL: %s\n' "$SCENARIO" "$*" >&2
  local log
  if [[ -n $FAIL_LOG_DIR ]]; then
    for log in "$FAIL_LOG_DIR"/*.log; do
      [[ -e $log ]] || continue
      printf -- '--- %s (last lines)\n' "${log##*/}" >&2
      tail -n 15 "$log" >&2
    done
  fi
  exit 1
}

step() { printf '%s: %s\n' "$SCENARIO" "$*"; }

for tool in "$CHUNK" "$PUT" "$GET"; do
  [[ -x $tool ]] || fail "tool '$tool' is not built (CODEX_BIN=$CODEX_BIN)"
done
command -v python3 >/dev/null || fail "python3 is needed by the CLI tests"
# The interpreter itself: a version-manager shim costs a tenth of a second a call.
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
command -v sqlite3 >/dev/null || fail "sqlite3 is needed by the CLI tests"

# Scratch space; background jobs registered with track_pid are killed on exit.
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/codex-cli-$SCENARIO.XXXXXX")
# No test may touch the user's own repository: until a test picks one with
# new_repo, every tool's default is a repository inside the scratch directory.
export CODEX_REPO=$TEST_TMP/default-repo
TRACKED_PIDS=()
track_pid() { TRACKED_PIDS+=("$1"); }
cleanup() {
  local pid
  if [[ -n ${CODEX_TEST_KEEP:-} && -n $KEEP_DIR && -d $KEEP_DIR ]]; then
    rm -rf "$CODEX_TEST_KEEP" && cp -r "$KEEP_DIR" "$CODEX_TEST_KEEP"
  fi
  for pid in "${TRACKED_PIDS[@]}"; do
    # Only a child of this shell: a PID reaped earlier may belong to anyone now.
    [[ $(cut -d' ' -f4 "/proc/$pid/stat" 2>/dev/null) == "$$" ]] || continue
    { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  rm -rf "$TEST_TMP"
}
trap cleanup EXIT

# Random inputs are reproducible: CODEX_TEST_SEED=N reruns a failing case.
CODEX_TEST_SEED=${CODEX_TEST_SEED:-$((RANDOM * 32768 + RANDOM))}
RANDOM=$CODEX_TEST_SEED

# new_repo NAME: a fresh, empty repository in $CODEX_REPO (and $REPO).
new_repo() {
  REPO=$TEST_TMP/${1:-repo}
  rm -rf "$REPO"
  export CODEX_REPO=$REPO
}

# expect_exit CODE CMD...: runs CMD (stdin passes through), its stdout into
# $OUT_FILE and stderr into $ERR_FILE, and fails unless it exits with CODE. A
# codex tool that fails must say so in the one error format, naming itself:
# "codex-put: error: <message>".
OUT_FILE=$TEST_TMP/last.out
ERR_FILE=$TEST_TMP/last.err
expect_exit() {
  local want=$1 got=0
  shift
  "$@" >"$OUT_FILE" 2>"$ERR_FILE" || got=$?
  if [[ $got != "$want" ]]; then
    printf '%s: stderr of the command:\n' "$SCENARIO" >&2
    sed 's/^/    /' "$ERR_FILE" >&2
    fail "'$(describe "$@")' exited with $got, expected $want"
  fi
  local tool
  tool=$(tool_of "$@")
  if [[ $want != 0 && -n $tool ]] && ! grep -q "^$tool: error: ." "$ERR_FILE" &&
    ! grep -q "^{\"tool\":\"$tool\",\"error\":\"." "$ERR_FILE"; then
    sed 's/^/    /' "$ERR_FILE" >&2
    fail "'$(describe "$@")' exited with $got but printed no '$tool: error: <message>' line"
  fi
  return 0
}

# tool_of CMD...: the name of the first codex tool in a command line (CMD may
# be a wrapper such as 'limited 2048 codex-put ...'), or nothing.
tool_of() {
  local arg
  for arg in "$@"; do
    if [[ $(basename -- "$arg") == codex-* && -x $arg ]]; then
      basename -- "$arg"
      return 0
    fi
  done
}

# expect_err REGEX: the last expect_exit's stderr matches REGEX (grep -E).
expect_err() {
  if ! grep -Eq -- "$1" "$ERR_FILE"; then
    sed 's/^/    /' "$ERR_FILE" >&2
    fail "stderr does not match /$1/"
  fi
}

# A command line for messages, tool paths shortened to their names.
describe() {
  local out="" arg
  for arg in "$@"; do
    [[ $arg == "$CODEX_BIN"/* ]] && arg=${arg#"$CODEX_BIN"/}
    out+="${out:+ }$arg"
  done
  printf '%s' "$out"
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
  [[ $2 == "$3" ]] || fail "$1: got '$2', expected '$3'"
}

file_size() { stat -c %s "$1"; }

# wait_for SECONDS DESCRIPTION CMD...: polls CMD until it succeeds; fails the
# scenario, naming DESCRIPTION, after SECONDS (every wait in a scenario is bounded).
wait_for() {
  local limit=$1 what=$2 deadline=$((SECONDS + $1))
  shift 2
  while ((SECONDS < deadline)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "timed out after ${limit}s waiting for: $what"
}

# random_file PATH SIZE: SIZE reproducible random bytes (from the seed).
random_file() {
  "$PYTHON" - "$1" "$2" "$RANDOM$RANDOM" <<'EOF'
import random, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "wb") as f:
    f.write(random.Random(seed).randbytes(size))
EOF
}

# pattern_file PATH SIZE: byte i is i mod 251 (the vectors' inputs).
pattern_file() {
  "$PYTHON" - "$1" "$2" <<'EOF'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(bytes(i % 251 for i in range(size)))
EOF
}

# random_between LO HI: a reproducible integer in [LO, HI].
random_between() {
  local lo=$1 hi=$2
  printf '%d' $((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
}

# vector PATH: a value from tests/data/codex-vectors.json, e.g.
# vector dataset_hello.manifest_A_cid or dataset_hello.block_cids.0
vector() {
  "$PYTHON" - "$VECTORS" "$1" <<'EOF'
import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(value)
EOF
}

# json_field FIELD < JSON: one field of a JSON object (fails if not JSON).
# Booleans print as true/false, null as null.
json_field() {
  "$PYTHON" -c '
import json, sys
value = json.loads(sys.stdin.read())[sys.argv[1]]
print(json.dumps(value) if not isinstance(value, str) else value)' "$1"
}

# is_json < TEXT: the text is exactly one JSON value.
is_json() { "$PYTHON" -c 'import json, sys; json.loads(sys.stdin.read())'; }

# put_file FILE [chunk options]: chunk FILE (on stdin, so no filename in the
# manifest) into the repository through a pipe; prints the manifest CID
# (checked to be the one chunk printed).
put_file() {
  local file=$1 cid_chunk cid_put
  shift
  cid_put=$("$CHUNK" "$@" <"$file" 2>"$TEST_TMP/put_file.err" | "$PUT") || fail "chunk | put of '$file' failed"
  cid_chunk=$(cat "$TEST_TMP/put_file.err")
  [[ $cid_put == "$cid_chunk" ]] || fail "put printed '$cid_put' for '$file', chunk printed '$cid_chunk'"
  printf '%s' "$cid_put"
}

# check_get CID FILE: the dataset comes back byte-exact through stdout.
check_get() {
  local got=0
  "$GET" "$1" >"$TEST_TMP/check_get.out" 2>"$TEST_TMP/check_get.err" || got=$?
  if [[ $got != 0 ]]; then
    sed 's/^/    /' "$TEST_TMP/check_get.err" >&2
    fail "codex-get $1 exited with $got (expected the bytes of '$2')"
  fi
  cmp -s "$TEST_TMP/check_get.out" "$2" || fail "codex-get $1 does not give back the bytes of '$2'"
  rm -f "$TEST_TMP/check_get.out"
}

# sql QUERY: one query against the current repository's index.
sql() { sqlite3 "$REPO/codex.db" "$1"; }

# check_integrity: SQLite says the repository's index is sound.
check_integrity() {
  local result
  result=$(sql "PRAGMA integrity_check") || fail "cannot open '$REPO/codex.db' with sqlite3"
  [[ $result == ok ]] || fail "PRAGMA integrity_check of '$REPO/codex.db' says: $result"
}

dataset_count() { sql "SELECT count(*) FROM datasets"; }

# pack_bytes: the bytes of all pack files of the current repository.
pack_bytes() {
  local total=0 f
  for f in "$REPO"/packs/pack-*.dat; do
    [[ -e $f ]] && total=$((total + $(file_size "$f")))
  done
  printf '%d' "$total"
}

# car_tool COMMAND ARGS: CAR stream surgery for the bad-input cases.
#   sections CAR              one line per section: start data_start end codec
#   cids CAR                  each section's CID, base58btc ('z...')
#   data CAR INDEX            section INDEX's data in hex (negative: from the end)
#   cut CAR OFFSET OUT        the first OFFSET bytes
#   drop CAR INDEX OUT        without section INDEX
#   flip CAR INDEX OUT        one byte in the middle of section INDEX's data flipped
#   splice HEAD_CAR FROM TO TAIL_CAR FROM2 TO2 OUT
#                             header of HEAD_CAR, its sections [FROM, TO), then
#                             sections [FROM2, TO2) of TAIL_CAR (negative: from the end)
car_tool() {
  "$PYTHON" - "$@" <<'EOF'
import sys

def varint(buf, pos):
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos

def sections(buf):
    length, pos = varint(buf, 0)
    header_end = pos + length
    out, pos = [], header_end
    while pos < len(buf):
        start = pos
        length, pos = varint(buf, pos)
        end = pos + length
        # CIDv1: version, codec, hash code, digest length, digest
        p = pos
        _, p = varint(buf, p)
        codec, p = varint(buf, p)
        _, p = varint(buf, p)
        dlen, p = varint(buf, p)
        out.append((start, p + dlen, end, codec))
        pos = end
    return header_end, out

def pick(secs, a, b):
    return secs[slice(int(a), int(b) if b != "end" else None)]

cmd, args = sys.argv[1], sys.argv[2:]
read = lambda path: open(path, "rb").read()
if cmd == "sections":
    _, secs = sections(read(args[0]))
    for s in secs:
        print(*s[:3], hex(s[3]))
elif cmd == "cids":
    buf = read(args[0])
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    for start, data, end, _ in sections(buf)[1]:
        _, cid_start = varint(buf, start)
        raw = buf[cid_start:data]
        n, text = int.from_bytes(raw, "big"), ""
        while n:
            n, r = divmod(n, 58)
            text = alphabet[r] + text
        print("z" + "1" * (len(raw) - len(raw.lstrip(b"\0"))) + text)
elif cmd == "data":
    buf = read(args[0])
    _, data, end, _ = sections(buf)[1][int(args[1])]
    print(buf[data:end].hex())
elif cmd == "cut":
    open(args[2], "wb").write(read(args[0])[: int(args[1])])
elif cmd == "drop":
    buf = read(args[0])
    _, secs = sections(buf)
    start, _, end, _ = secs[int(args[1])]
    open(args[2], "wb").write(buf[:start] + buf[end:])
elif cmd == "flip":
    buf = bytearray(read(args[0]))
    _, secs = sections(buf)
    _, data, end, _ = secs[int(args[1])]
    assert end > data, "section has no data to flip"
    buf[(data + end) // 2] ^= 0x01
    open(args[2], "wb").write(buf)
elif cmd == "splice":
    head, a, b, tail, c, d, out = args
    hbuf, tbuf = read(head), read(tail)
    header_end, hsecs = sections(hbuf)
    _, tsecs = sections(tbuf)
    parts = [hbuf[:header_end]]
    parts += [hbuf[s[0]:s[2]] for s in pick(hsecs, a, b)]
    parts += [tbuf[s[0]:s[2]] for s in pick(tsecs, c, d)]
    open(out, "wb").write(b"".join(parts))
else:
    sys.exit(f"car_tool: unknown command {cmd}")
EOF
}

# Run directly (as ctest does): check the helpers themselves, so that a broken
# helper cannot make every scenario pass vacuously.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  step "seed $CODEX_TEST_SEED"
  new_repo self
  step "expect_exit catches a wrong exit code"
  if (expect_exit 0 false) 2>/dev/null; then fail "expect_exit 0 accepted a command that exits 1"; fi
  if (expect_exit 3 "$GET" --no-such-option) 2>/dev/null; then fail "expect_exit 3 accepted exit 2"; fi
  expect_exit 2 "$GET" --no-such-option
  expect_err 'codex-get: error: '
  if (expect_err 'no such text anywhere') 2>/dev/null; then fail "expect_err matched text that is not there"; fi
  step "check_get catches different bytes"
  random_file "$TEST_TMP/a" 1000
  random_file "$TEST_TMP/b" 1000
  cmp -s "$TEST_TMP/a" "$TEST_TMP/b" && fail "random_file gave the same bytes twice"
  cid=$(put_file "$TEST_TMP/a")
  check_get "$cid" "$TEST_TMP/a"
  if (check_get "$cid" "$TEST_TMP/b") 2>/dev/null; then fail "check_get accepted the wrong bytes"; fi
  check_integrity
  expect_eq "datasets" "$(dataset_count)" 1
  step "car_tool finds the sections of a stream"
  "$CHUNK" -q --block-size 4096 "$TEST_TMP/a" >"$TEST_TMP/a.car"
  sections=$(car_tool sections "$TEST_TMP/a.car")
  expect_eq "sections" "$(wc -l <<<"$sections")" 2
  expect_eq "first section" "$(head -1 <<<"$sections")" "18 58 4154 0xcd02"
  expect_eq "vector lookup" "$(vector dataset_hello.blockSize)" 65536
  step "ok"
fi

# same_car_body A B: the two CAR streams carry the same sections, whatever
# their headers (a file written with -o names its root; a pipe has none).
car_body() { local n; n=$(od -An -tu1 -N1 "$1" | tr -d ' '); tail -c +$((n + 2)) "$1"; }
same_car_body() { cmp -s <(car_body "$1") <(car_body "$2"); }
# car_root FILE: the root a CAR file's header names ("" for none), as hex.
car_root() { od -An -tx1 -v -N64 "$1" | tr -d ' \n' | sed -n 's/.*d82a582700\(.\{76\}\).*/\1/p'; }
