# scripts/demo.sh FILE, the community story on loopback: run from another
# directory it demos the caller's file (a relative path is the caller's),
# writes nothing into the source tree, prints the CID codex-chunk gives that
# file, shows the uploader and two holders stopping, their detection and the
# two slots rebuilt, gets the file back on another member, and refuses a file
# it cannot read instead of demoing random bytes. BUILD_DIR is the tested
# build, so its build step has nothing to do.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1
DEMO=$(cd "$CODEX_SOURCE" && pwd)/scripts/demo.sh
BIN_ABS=$(cd "$CODEX_BIN" && pwd)
before=$(cd "$CODEX_SOURCE" && find . -path ./build -prune -o -newer "$DEMO" -type f -print 2>/dev/null | sort)

mkdir -p "$TEST_TMP/elsewhere/pictures"
random_file "$TEST_TMP/elsewhere/pictures/photo.jpg" 400000
want=$("$CHUNK" --cid-only "$TEST_TMP/elsewhere/pictures/photo.jpg")

step "a relative FILE from another directory is the caller's file"
# After a failure the demo keeps its members' logs (named in its error):
# their slot, repair and fetch lines go to stderr, then the directory goes.
demo_logs() {
  local dir
  dir=$(sed -n 's/.*(logs: \(.*\))$/\1/p' "$TEST_TMP/demo.out" | tail -1)
  [[ -n $dir && -d $dir ]] || return 0
  for log in "$dir"/m*.log; do
    echo "    --- $(basename "$log"): slot, repair and fetch lines"
    grep -E " (slot|repair|fetch|core|member): " "$log" | tail -60 | sed 's/^/    /'
  done >&2
  rm -rf "$(dirname "$dir")"
}
(cd "$TEST_TMP/elsewhere" && BUILD_DIR=$BIN_ABS bash "$DEMO" pictures/photo.jpg) >"$TEST_TMP/demo.out" 2>&1 ||
  { sed 's/^/    /' "$TEST_TMP/demo.out" >&2; demo_logs; fail "demo.sh pictures/photo.jpg failed"; }
grep -q "^stored $TEST_TMP/elsewhere/pictures/photo.jpg as $want\$" "$TEST_TMP/demo.out" ||
  { sed 's/^/    /' "$TEST_TMP/demo.out" >&2; fail "demo.sh did not store the caller's file under its CID $want"; }
grep -q "codex-get gave back the same bytes" "$TEST_TMP/demo.out" || fail "demo.sh did not get the file back"
grep -q "codex-put --wait returned: every slot is held" "$TEST_TMP/demo.out" || fail "demo.sh did not store and place the file"
grep -Eq "m[0-9] member: peer=m[0-9] dead" "$TEST_TMP/demo.out" || fail "demo.sh did not show a member detected dead"
[[ $(grep -Ec "m[0-9] repair: slot=[0-5] rebuilt" "$TEST_TMP/demo.out") -ge 2 ]] ||
  { sed 's/^/    /' "$TEST_TMP/demo.out" >&2; fail "demo.sh did not show two slots rebuilt"; }
grep -q "full health again" "$TEST_TMP/demo.out" || fail "demo.sh did not reach full health"
grep -q "^demo: building codex-chunk" "$TEST_TMP/demo.out" || fail "demo.sh does not say what it builds"
after=$(cd "$CODEX_SOURCE" && find . -path ./build -prune -o -newer "$DEMO" -type f -print 2>/dev/null | sort)
expect_eq "files written into the source tree by the demo" "$after" "$before"
[[ ! -e $CODEX_SOURCE/pictures ]] || fail "demo.sh wrote into the source tree"

step "a FILE that does not exist or cannot be read is an error, not a demo of random bytes"
status=0
(cd "$TEST_TMP/elsewhere" && BUILD_DIR=$BIN_ABS bash "$DEMO" no-such.jpg) >"$TEST_TMP/demo.out" 2>&1 || status=$?
expect_eq "exit status of demo.sh with a missing file" "$status" 2
grep -q "demo: error: 'no-such.jpg' does not exist" "$TEST_TMP/demo.out" || fail "no clear message: $(cat "$TEST_TMP/demo.out")"
! grep -q "^stored" "$TEST_TMP/demo.out" || fail "demo.sh stored something for a missing file"
if [[ $(id -u) == 0 ]] && command -v setpriv >/dev/null; then
  chmod 000 "$TEST_TMP/elsewhere/pictures/photo.jpg"
  chmod 755 "$TEST_TMP" "$TEST_TMP/elsewhere" "$TEST_TMP/elsewhere/pictures"
  status=0
  (cd "$TEST_TMP/elsewhere" && setpriv --reuid=65534 --regid=65534 --clear-groups -- \
    env BUILD_DIR="$BIN_ABS" bash "$DEMO" pictures/photo.jpg) >"$TEST_TMP/demo.out" 2>&1 || status=$?
  expect_eq "exit status of demo.sh with an unreadable file (as an unprivileged user)" "$status" 2
  grep -q "cannot be read" "$TEST_TMP/demo.out" || fail "no clear message: $(cat "$TEST_TMP/demo.out")"
fi
step "ok"
