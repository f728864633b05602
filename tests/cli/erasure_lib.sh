# Helpers for the erasure-coding scenarios (erasure, slots, proofs, repair),
# on top of lib.sh: the encode/verify/repair tools, exit-code checks for the
# tools whose codes are outcomes (6 damaged, 7 unrecoverable, 8 repaired) and
# may come without an error line, and damage made the way a disk makes it:
# a `blocks` row deleted (missing) or bytes overwritten in a pack (corrupt).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/erasure_lib.sh"
#
# ctest runs this file too: run directly, it checks its own helpers.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ENCODE=$CODEX_BIN/codex-encode
VERIFY=$CODEX_BIN/codex-verify
REPAIR=$CODEX_BIN/codex-repair
for tool in "$ENCODE" "$VERIFY" "$REPAIR"; do
  [[ -x $tool ]] || fail "tool '$tool' is not built (CODEX_BIN=$CODEX_BIN)"
done

# expect_code CODE CMD...: like expect_exit, for outcome codes (6, 7, 8) that
# a tool may report through its output alone; stdout in $OUT_FILE, stderr in
# $ERR_FILE. Failures (other codes) must still come with an error line.
expect_code() {
  local want=$1 got=0
  shift
  "$@" >"$OUT_FILE" 2>"$ERR_FILE" || got=$?
  if [[ $got != "$want" ]]; then
    printf '%s: stdout of the command:\n' "$SCENARIO" >&2
    sed 's/^/    /' "$OUT_FILE" >&2
    printf '%s: stderr of the command:\n' "$SCENARIO" >&2
    sed 's/^/    /' "$ERR_FILE" >&2
    fail "'$(describe "$@")' exited with $got, expected $want"
  fi
  case $want in
    0 | 6 | 7 | 8) ;;
    *)
      local tool
      tool=$(basename -- "$1")
      if [[ $tool == codex-* ]] && ! grep -q "^$tool: error: ." "$ERR_FILE"; then
        sed 's/^/    /' "$ERR_FILE" >&2
        fail "'$(describe "$@")' exited with $got but printed no '$tool: error: <message>' line"
      fi
      ;;
  esac
  return 0
}

# expect_out REGEX: the last command's stdout matches REGEX (grep -E).
expect_out() {
  if ! grep -Eq -- "$1" "$OUT_FILE"; then
    sed 's/^/    /' "$OUT_FILE" >&2
    fail "stdout does not match /$1/"
  fi
}

# protect FILE K M [encode options]: chunk FILE (4096-byte blocks) and encode
# it; the protected stream lands in $TEST_TMP/protected.car, and $PLAIN_CAR
# holds the plain one. Prints the protected manifest CID.
PLAIN_CAR=$TEST_TMP/plain.car
PROTECTED_CAR=$TEST_TMP/protected.car
protect() {
  local file=$1 k=$2 m=$3
  shift 3
  "$CHUNK" -q --block-size 4096 "$file" >"$PLAIN_CAR" || fail "codex-chunk of '$file' failed"
  "$ENCODE" -k "$k" -m "$m" "$@" -o "$PROTECTED_CAR" "$PLAIN_CAR" || fail "codex-encode -k $k -m $m $* failed"
}

# repo_tool COMMAND REPO CID ARGS: looks inside a repository (python's sqlite3).
#   leaves REPO CID                 one leaf digest (hex) per line, index order
#   steps REPO CID K M              the layout's steps (blocks per slot)
#   slot REPO CID K M SLOT...       the stored (non-padding) indices of the slots
#   group REPO CID K M GROUP        the stored indices of one EC group, row order
#   lose REPO CID INDEX...          deletes the blocks rows of those indices
#   corrupt REPO CID INDEX...       flips a byte of each block in its pack
#   present REPO CID INDEX          prints 1 when the block is indexed, else 0
repo_tool() {
  "$PYTHON" - "$@" <<'EOF'
import hashlib, os, sqlite3, sys

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
EMPTY = hashlib.sha256(b"").digest()

def cid_bytes(text):
    assert text.startswith("z"), f"not a base58btc CID: {text}"
    n = 0
    for ch in text[1:]:
        n = n * 58 + ALPHABET.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    zeros = len(text[1:]) - len(text[1:].lstrip("1"))
    return b"\0" * zeros + raw

cmd, repo, cid = sys.argv[1], sys.argv[2], sys.argv[3]
args = sys.argv[4:]
db = sqlite3.connect(os.path.join(repo, "codex.db"), timeout=10)
row = db.execute(
    "SELECT t.leaf_count, t.leaves FROM datasets d JOIN trees t ON t.tree_cid = d.tree_cid "
    "WHERE d.manifest_cid = ?", (cid_bytes(cid),)).fetchone()
if row is None:
    sys.exit(f"repo_tool: dataset {cid} is not in {repo}")
count, blob = row
leaves = [bytes(blob[i * 32:(i + 1) * 32]) for i in range(count)]

def steps(k, m):
    assert count % (k + m) == 0, f"{count} leaves is not a multiple of K+M={k + m}"
    return count // (k + m)

if cmd == "leaves":
    for leaf in leaves:
        print(leaf.hex())
elif cmd == "steps":
    print(steps(int(args[0]), int(args[1])))
elif cmd == "slot":
    k, m = int(args[0]), int(args[1])
    s = steps(k, m)
    out = []
    for slot in map(int, args[2:]):
        out += [i for i in range(slot * s, (slot + 1) * s) if leaves[i] != EMPTY]
    print(" ".join(map(str, out)))
elif cmd == "group":
    k, m, group = int(args[0]), int(args[1]), int(args[2])
    s = steps(k, m)
    print(" ".join(str(group + r * s) for r in range(k + m) if leaves[group + r * s] != EMPTY))
elif cmd == "lose":
    with db:
        for i in map(int, args):
            db.execute("DELETE FROM blocks WHERE digest = ?", (leaves[i],))
elif cmd == "corrupt":
    for i in map(int, args):
        loc = db.execute("SELECT p.name, b.offset, b.size FROM blocks b JOIN packs p ON p.id = b.pack "
                         "WHERE b.digest = ?", (leaves[i],)).fetchone()
        assert loc is not None, f"block {i} is not stored"
        name, offset, size = loc
        with open(os.path.join(repo, "packs", name), "r+b") as f:
            f.seek(offset + size // 2)
            byte = f.read(1)[0]
            f.seek(offset + size // 2)
            f.write(bytes([byte ^ 0x5a]))
elif cmd == "present":
    i = int(args[0])
    hit = db.execute("SELECT 1 FROM blocks WHERE digest = ?", (leaves[i],)).fetchone()
    print(1 if hit or leaves[i] == EMPTY else 0)
else:
    sys.exit(f"repo_tool: unknown command {cmd}")
EOF
}

# verify_state REPO CID: the dataset's state from codex-verify --json.
verify_state() {
  local out
  out=$("$VERIFY" --repo "$1" --json "$2" 2>/dev/null) || true
  printf '%s' "$out" | json_field state
}

# Run directly: check the helpers against the built tools.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  step "seed $CODEX_TEST_SEED"
  new_repo self
  random_file "$TEST_TMP/in" 30000
  cid=$(protect "$TEST_TMP/in" 2 1)
  [[ $cid == zDvZ* ]] || fail "protect printed '$cid', not a manifest CID"
  "$PUT" -q "$PROTECTED_CAR" >/dev/null
  step "repo_tool finds the layout: 8 blocks, K=2 -> 4 steps, 12 leaves"
  expect_eq "leaves" "$(repo_tool leaves "$REPO" "$cid" | wc -l)" 12
  expect_eq "steps" "$(repo_tool steps "$REPO" "$cid" 2 1)" 4
  expect_eq "slot 2" "$(repo_tool slot "$REPO" "$cid" 2 1 2)" "8 9 10 11"
  expect_eq "group 1" "$(repo_tool group "$REPO" "$cid" 2 1 1)" "1 5 9"
  step "repo_tool lose and corrupt are seen by codex-verify"
  expect_code 0 "$VERIFY" "$cid"
  repo_tool lose "$REPO" "$cid" 5
  expect_eq "present after lose" "$(repo_tool present "$REPO" "$cid" 5)" 0
  expect_code 6 "$VERIFY" "$cid"
  repo_tool corrupt "$REPO" "$cid" 2
  expect_code 6 "$VERIFY" --json "$cid"
  expect_eq "missing" "$(json_field missing <"$OUT_FILE")" 1
  expect_eq "corrupt" "$(json_field corrupt <"$OUT_FILE")" 1
  step "expect_code catches a wrong code"
  if (expect_code 0 "$VERIFY" "$cid") 2>/dev/null; then fail "expect_code 0 accepted exit 6"; fi
  step "ok"
fi
