# What the tools tell people: codex-get says in one line when it rebuilt
# damaged blocks (not with -q); codex-verify -q is silent on a healthy
# repository; a put that creates the repository says so; the usual mistakes
# get messages that say what to do (a file given to codex-put, a mistyped CID,
# a protected dataset given to codex-encode); with --json errors are JSON on
# stderr; on a terminal, a message never lands inside another tool's progress
# line, and progress never counts more than the input. A repository the user
# may only read can be read (get, verify, repair --dry-run), and
# repair --dry-run changes nothing at all.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1
source "$(dirname "${BASH_SOURCE[0]}")/erasure_lib.sh" || exit 1
REPAIR=$CODEX_BIN/codex-repair
MiB=1048576

step "a put that creates the repository says so; the next one does not"
new_repo repo
random_file "$TEST_TMP/f" 300000
"$CHUNK" -q "$TEST_TMP/f" >"$TEST_TMP/f.car"
expect_exit 0 "$PUT" "$TEST_TMP/f.car"
expect_err "created a new repository in '$REPO'"
expect_exit 0 "$PUT" "$TEST_TMP/f.car"
[[ ! -s $ERR_FILE ]] || fail "a second put printed: $(cat "$ERR_FILE")"

step "codex-get that rebuilt damaged blocks says so, once; -q keeps it quiet"
cid=$(protect "$TEST_TMP/f" 2 1)
"$PUT" -q "$PROTECTED_CAR" >/dev/null
repo_tool corrupt "$REPO" "$cid" 1
repo_tool lose "$REPO" "$cid" 3
expect_exit 0 "$GET" "$cid" -o "$TEST_TMP/out"
cmp -s "$TEST_TMP/out" "$TEST_TMP/f" || fail "codex-get of a damaged protected dataset gave wrong bytes"
expect_eq "stderr lines of codex-get after rebuilding" "$(wc -l <"$ERR_FILE")" 1
expect_err "^codex-get: warning: 2 damaged or missing block\(s\) were rebuilt .*codex-repair $cid"
expect_exit 0 "$GET" -q "$cid" -o "$TEST_TMP/out"
[[ ! -s $ERR_FILE ]] || fail "codex-get -q printed: $(cat "$ERR_FILE")"

step "codex-verify -q: nothing on a healthy day, the table when something is wrong"
status=0
"$REPAIR" -q "$cid" >/dev/null || status=$?
expect_eq "codex-repair of the damaged dataset" "$status" 8
expect_exit 0 "$VERIFY" -q
[[ ! -s $OUT_FILE && ! -s $ERR_FILE ]] || fail "codex-verify -q printed on a healthy repository: $(cat "$OUT_FILE" "$ERR_FILE")"
# The README's cron line samples.
grep -q 'codex-verify -q --sample 5%' "$CODEX_SOURCE/README.md" || fail "the README's cron line changed; check it here"
expect_exit 0 "$VERIFY" -q --sample 5%
[[ ! -s $OUT_FILE && ! -s $ERR_FILE ]] || fail "codex-verify -q --sample 5% printed on a healthy repository: $(cat "$OUT_FILE" "$ERR_FILE")"
repo_tool lose "$REPO" "$cid" 2
expect_code 6 "$VERIFY" -q
grep -q "$cid" "$OUT_FILE" || fail "codex-verify -q printed nothing about a damaged dataset"

step "mistakes: a file given to codex-put, a mistyped CID, a protected dataset given to codex-encode"
printf 'just some text\n' >"$TEST_TMP/notes.txt"
expect_exit 4 "$PUT" "$TEST_TMP/notes.txt"
expect_err "'$TEST_TMP/notes.txt' is not a CAR stream .*to store a file: codex-chunk FILE \| codex-put"
good=$(cat "$TEST_TMP/f.car" | "$PUT" -q)
for typo in "${good}x" "${good:0:30}" "${good:0:10}"; do
  expect_exit 2 "$GET" "$typo"
  expect_err "'$typo' is not a valid CID"
  ! grep -q "version" "$ERR_FILE" || fail "the message for a mistyped CID invents a CID version: $(cat "$ERR_FILE")"
done
expect_exit 3 "$GET" "${good:0:20}Q${good:21}"
expect_err "codex-repo ls"
for size in 30000 $((3 * MiB)); do
  random_file "$TEST_TMP/g" "$size"
  "$CHUNK" -q "$TEST_TMP/g" | "$ENCODE" -q -k 2 -m 1 >"$TEST_TMP/p.car"
  expect_exit 2 "$ENCODE" -k 2 -m 1 "$TEST_TMP/p.car" -o "$TEST_TMP/pp.car"
  expect_err "already protected.*store it.* with codex-put"
done
pcid=$("$PUT" -q "$TEST_TMP/p.car")
expect_exit 2 "$ENCODE" -k 2 -m 1 --cid "$pcid" -o "$TEST_TMP/pp.car"
expect_err "already protected"

step "--json: errors are one JSON object on stderr"
expect_exit 3 "$GET" --json "$(vector dataset_hello.manifest_A_cid)"
line=$(cat "$ERR_FILE")
printf '%s' "$line" | is_json || fail "codex-get --json printed a non-JSON error: $line"
expect_eq "error code in JSON" "$(printf '%s' "$line" | json_field code)" 3
expect_eq "error kind in JSON" "$(printf '%s' "$line" | json_field kind)" not-found
expect_exit 2 "$VERIFY" --json --no-such-option
printf '%s' "$(cat "$ERR_FILE")" | is_json || fail "a usage error with --json is not JSON: $(cat "$ERR_FILE")"
expect_exit 2 "$CODEX_BIN/codex-repo" --json rm nonsense
printf '%s' "$(cat "$ERR_FILE")" | is_json || fail "codex-repo --json error is not JSON: $(cat "$ERR_FILE")"

step "a repository this user may only read: get, verify, stats and repair --dry-run work; dry-run changes nothing"
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }
  chmod 755 "$TEST_TMP"
  chmod -R a+rX "$REPO"
  chmod 644 "$TEST_TMP/f"
  as_nobody "$GET" "$good" >"$TEST_TMP/ro.out" 2>"$TEST_TMP/ro.err" || fail "get from a read-only repository failed: $(cat "$TEST_TMP/ro.err")"
  cmp -s "$TEST_TMP/ro.out" "$TEST_TMP/f" || fail "get from a read-only repository gave wrong bytes"
  status=0
  as_nobody "$VERIFY" "$good" >"$TEST_TMP/ro.out" 2>"$TEST_TMP/ro.err" || status=$?
  expect_eq "codex-verify exit on a read-only repository ($(cat "$TEST_TMP/ro.err"))" "$status" 0
  as_nobody "$CODEX_BIN/codex-repo" stats >/dev/null 2>"$TEST_TMP/ro.err" || fail "stats on a read-only repository failed: $(cat "$TEST_TMP/ro.err")"
  status=0
  as_nobody "$REPAIR" --dry-run "$cid" >"$TEST_TMP/ro.out" 2>"$TEST_TMP/ro.err" || status=$?
  expect_eq "codex-repair --dry-run exit on a read-only, damaged repository ($(cat "$TEST_TMP/ro.err"))" "$status" 6
  grep -q "would rebuild" "$TEST_TMP/ro.out" || fail "repair --dry-run printed no plan: $(cat "$TEST_TMP/ro.out")"
  status=0
  as_nobody "$REPAIR" "$cid" >/dev/null 2>"$TEST_TMP/ro.err" || status=$?
  expect_eq "codex-repair (for real) on a read-only repository fails as an I/O error" "$status" 5
else
  step "not root: the unprivileged-user case is left to root runs"
fi
# As the owner: a dry run leaves every file of the repository as it was.
# (SQLite's -wal and -shm files come and go with every connection; the rest must not change at all.)
snapshot() {
  (cd "$REPO" && find . -type f ! -name '*-wal' ! -name '*-shm' -printf '%p %s %T@\n' -exec sha256sum {} \; | sort)
}
sqlite3 "$REPO/codex.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
before=$(snapshot)
expect_code 6 "$REPAIR" --dry-run "$cid"
expect_eq "repository files after repair --dry-run" "$(snapshot)" "$before"

step "on a terminal: messages start on a clean line, progress never counts past the input"
random_file "$TEST_TMP/big" $((64 * MiB))
"$CHUNK" -q "$TEST_TMP/big" >"$TEST_TMP/big.car"
car_size=$(file_size "$TEST_TMP/big.car")
new_repo tty
"$PYTHON" - "$CHUNK" "$PUT" "$TEST_TMP/big" "$TEST_TMP/tty.raw" <<'PY'
import os, pty, sys
chunk, put, big, raw = sys.argv[1:5]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "-c", f"'{chunk}' '{big}' | '{put}'"])
out = b""
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
os.waitpid(pid, 0)
open(raw, "wb").write(out)
PY
"$PYTHON" - "$TEST_TMP/tty.raw" "$car_size" "$(file_size "$TEST_TMP/big")" <<'PY' || fail "terminal output of chunk | put is garbled (see above)"
import re, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
car_size, file_size = int(sys.argv[2]), int(sys.argv[3])
cids = re.findall(r"zDvZ[1-9A-HJ-NP-Za-km-z]+", raw)
assert cids, f"no CID in {raw!r}"
for m in re.finditer(r"zDvZ[1-9A-HJ-NP-Za-km-z]+", raw):
    # A clean line: after a newline, or after carriage return + erase-line
    # (a progress line's own trailing erase-line code does not count).
    before = raw[max(0, m.start() - 4):m.start()]
    if not (m.start() == 0 or before.endswith("\n") or before.endswith("\r\x1b[K")):
        sys.exit(f"a CID is printed in the middle of a line: ...{raw[max(0, m.start() - 40):m.end()]!r}")
for tool, value in re.findall(r"(codex-\w+): ([0-9.]+) MiB", raw):
    limit = car_size if tool == "codex-put" else file_size
    if float(value) * 1048576 > limit + 0.05 * 1048576:
        sys.exit(f"{tool} shows {value} MiB, more than its input ({limit} bytes)")
PY
step "ok"
