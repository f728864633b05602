# Storage proofs through codex-verify: --prove makes a proof of a held slot,
# --check-proof accepts it (in the prover's repository and in one that only
# knows the manifest), and rejects (exit 9) every tampering: another slot or
# challenge at check time, edited cell data, cell or block paths, a proof of
# one dataset passed off as another's. A slot the prover does not hold is a
# usage error (2), a damaged one cannot be proven (4); malformed proofs are 4.
source "$(dirname "${BASH_SOURCE[0]}")/erasure_lib.sh"

step "seed $CODEX_TEST_SEED"
BS=4096
K=4 M=2
input=$TEST_TMP/input
random_file "$input" $((18 * BS + $(random_between 1 $((BS - 1)))))
cid=$(protect "$input" $K $M)
cp "$PROTECTED_CAR" "$TEST_TMP/x.car"
# Dataset Y: the same bytes coded with K=3, M=3 (same slot geometry differs).
"$ENCODE" -q -k 3 -m 3 -o "$TEST_TMP/y.car" "$PLAIN_CAR"

PROVER=$TEST_TMP/prover
CHECKER=$TEST_TMP/checker
"$PUT" -q --repo "$PROVER" "$TEST_TMP/x.car" >/dev/null
y_cid=$("$PUT" --repo "$PROVER" "$TEST_TMP/y.car")
# The checker holds one slot of X (so it knows X's manifest) and all of Y.
"$PUT" -q --repo "$CHECKER" --slots 5 "$TEST_TMP/x.car" >/dev/null
"$PUT" -q --repo "$CHECKER" "$TEST_TMP/y.car" >/dev/null
"$PUT" -q --repo "$CHECKER" "$PLAIN_CAR" >/dev/null
plain_cid=$("$PUT" --repo "$PROVER" "$PLAIN_CAR")
export CODEX_REPO=$PROVER
REPO=$PROVER

# random_challenge: 64 reproducible hex digits.
random_challenge() {
  "$PYTHON" -c 'import random, sys; print(random.Random(int(sys.argv[1])).randbytes(32).hex())' "$RANDOM$RANDOM"
}

# edit_proof IN OUT WHAT [VALUE]: a tampered copy of a proof.
edit_proof() {
  "$PYTHON" - "$@" <<'EOF'
import json, sys
src, dst, what = sys.argv[1:4]
value = sys.argv[4] if len(sys.argv) > 4 else None
p = json.load(open(src))
def flip_hex(s, at):
    return s[:at] + ("0" if s[at] != "0" else "1") + s[at + 1:]
c = p["cells"][0]
if what == "slot": p["slot"] = int(value)
elif what == "challenge": p["challenge"] = value
elif what == "manifest": p["manifest"] = value
elif what == "data": c["data"] = flip_hex(c["data"], len(c["data"]) // 2)
elif what == "data-last": p["cells"][-1]["data"] = flip_hex(p["cells"][-1]["data"], 0)
elif what == "cell-path": c["cellPath"][0] = flip_hex(c["cellPath"][0], 5)
elif what == "block-path": c["blockPath"][-1] = flip_hex(c["blockPath"][-1], 63)
elif what == "block-root": c["blockRoot"] = flip_hex(c["blockRoot"], 0)
elif what == "block": c["block"] = (c["block"] + 1) % 5
elif what == "cell": c["cell"] = 1 - c["cell"]
elif what == "drop-first": p["cells"].pop(0)
elif what == "drop-last": p["cells"].pop()
elif what == "reverse": p["cells"].reverse()
elif what == "duplicate": p["cells"][1] = p["cells"][0]
elif what == "unasked-cell":  # a genuine cell of the slot that the challenge did not ask for here
    others = json.load(open(value))["cells"]
    asked = (p["cells"][1]["block"], p["cells"][1]["cell"])
    p["cells"][1] = next(o for o in others if (o["block"], o["cell"]) != asked)
elif what == "short-path": c["blockPath"].pop()
elif what == "long-path": c["blockPath"].append(c["blockPath"][0])
elif what == "other-cells": p["cells"] = json.load(open(value))["cells"]
# Malformed ones.
elif what == "unknown-field": p["extra"] = 1
elif what == "no-cells": del p["cells"]
elif what == "non-hex": c["data"] = "zz" + c["data"][2:]
elif what == "odd-hex": c["data"] = c["data"][1:]
elif what == "slot-string": p["slot"] = str(p["slot"])
elif what == "short-challenge": p["challenge"] = p["challenge"][2:]
elif what == "bad-cid": p["manifest"] = "zNotACid"
else: sys.exit(f"edit_proof: unknown edit {what}")
# Sampling is with replacement: some edits (reverse, duplicate) change nothing
# when the challenge asked for the same cell twice. Say so instead of writing
# a proof that is still valid.
if p == json.load(open(src)):
    sys.exit(3)
json.dump(p, open(dst, "w"), indent=2)
EOF
}

# expect_rejected PROOF [check options]: exit 9, in both repositories.
expect_rejected() {
  local proof=$1
  shift
  expect_exit 9 "$VERIFY" --repo "$PROVER" --check-proof "$proof" "$@"
  expect_exit 9 "$VERIFY" --repo "$CHECKER" --check-proof "$proof" "$@"
  expect_exit 9 "$VERIFY" --repo "$CHECKER" --json --check-proof "$proof" "$@"
  expect_eq "valid in --json" "$(json_field valid <"$OUT_FILE")" false
  json_field reason <"$OUT_FILE" | grep -q . || fail "--json of a rejected proof gives no reason"
}

challenge=$(random_challenge)
other_challenge=$(random_challenge)
[[ $challenge != "$other_challenge" ]] || fail "two random challenges are equal"
step "challenge $challenge"

for slot in 0 1 2 3 4 5; do
  step "slot $slot: prove, check in the prover's and in a checker's repository"
  expect_exit 0 "$VERIFY" --prove "$cid" --slot "$slot" --challenge "$challenge" -o "$TEST_TMP/proof$slot.json"
  proof=$TEST_TMP/proof$slot.json
  is_json <"$proof" || fail "the proof of slot $slot is not JSON"
  expect_eq "proof manifest" "$(json_field manifest <"$proof")" "$cid"
  expect_eq "proof slot" "$(json_field slot <"$proof")" "$slot"
  expect_eq "proof challenge" "$(json_field challenge <"$proof")" "$challenge"
  expect_eq "cells in the proof" "$("$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["cells"]))' <"$proof")" 4
  for repo in "$PROVER" "$CHECKER"; do
    expect_exit 0 "$VERIFY" --repo "$repo" --check-proof "$proof" --challenge "$challenge" --slot "$slot"
    expect_exit 0 "$VERIFY" --repo "$repo" --check-proof "$proof"
    expect_exit 0 "$VERIFY" --repo "$repo" --check-proof - <"$proof"
    expect_exit 0 "$VERIFY" --repo "$repo" --json --check-proof "$proof" --slot "$slot" --proof-cells 4
    expect_eq "valid in --json" "$(json_field valid <"$OUT_FILE")" true
  done
  step "slot $slot: the same challenge gives the same proof; to stdout as well"
  expect_exit 0 "$VERIFY" --prove "$cid" --slot "$slot" --challenge "$challenge"
  cmp -s "$OUT_FILE" "$proof" || fail "proving slot $slot twice with one challenge gives two proofs"
  step "slot $slot: checked for another slot or another challenge: rejected (9)"
  expect_rejected "$proof" --slot $(((slot + 1) % 6))
  expect_rejected "$proof" --challenge "$other_challenge"
  expect_rejected "$proof" --challenge "$other_challenge" --slot "$slot"
done

step "a proof for another challenge answers with other cells"
expect_exit 0 "$VERIFY" --prove "$cid" --slot 1 --challenge "$other_challenge" -o "$TEST_TMP/other.json"
cmp -s "$TEST_TMP/other.json" "$TEST_TMP/proof1.json" && fail "two challenges gave the same proof"
expect_exit 0 "$VERIFY" --check-proof "$TEST_TMP/other.json" --challenge "$other_challenge" --slot 1
step "a random challenge (no --challenge) gives a proof that checks"
expect_exit 0 "$VERIFY" --prove "$cid" --slot 2 -o "$TEST_TMP/random.json"
expect_exit 0 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/random.json" --slot 2
step "--proof-cells 16: 16 cells; checked as 4 cells it is rejected"
expect_exit 0 "$VERIFY" --prove "$cid" --slot 4 --proof-cells 16 --challenge "$challenge" -o "$TEST_TMP/s16.json"
expect_eq "cells" "$("$PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["cells"]))' <"$TEST_TMP/s16.json")" 16
expect_exit 0 "$VERIFY" --check-proof "$TEST_TMP/s16.json" --proof-cells 16 --slot 4 --challenge "$challenge"
expect_rejected "$TEST_TMP/s16.json" --proof-cells 4

proof=$TEST_TMP/proof1.json
t=$TEST_TMP/tampered.json
step "tampering with the proof's own fields: rejected (9)"
for edit in "slot 2" "slot 0" "challenge $other_challenge" data data-last cell-path block-path block-root block cell \
  drop-first reverse duplicate "unasked-cell $TEST_TMP/other.json" short-path long-path \
  "other-cells $TEST_TMP/proof2.json"; do
  step "  edit: ${edit%% /*}"
  edited=0
  edit_proof "$proof" "$t" $edit || edited=$?
  if [[ $edited == 3 ]]; then
    step "  (skipped: this challenge asked for the same cell twice, so the edit changes nothing)"
    continue
  fi
  [[ $edited == 0 ]] || fail "edit_proof $edit failed"
  expect_rejected "$t"
  expect_rejected "$t" --challenge "$challenge" --slot 1
done
step "a proof with its last cell dropped: rejected by a checker that asks for 4 cells"
edit_proof "$proof" "$t" drop-last
expect_rejected "$t" --proof-cells 4
expect_rejected "$t" --challenge "$challenge" --slot 1 --proof-cells 4

step "a proof of dataset X passed off as dataset Y's (manifest field edited): rejected (9)"
edit_proof "$proof" "$t" manifest "$y_cid"
expect_rejected "$t"
expect_rejected "$t" --challenge "$challenge" --slot 1
step "Y's own proof checks, and passed off as X's it is rejected"
expect_exit 0 "$VERIFY" --prove "$y_cid" --slot 1 --challenge "$challenge" -o "$TEST_TMP/y1.json"
expect_exit 0 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/y1.json" --challenge "$challenge" --slot 1
edit_proof "$TEST_TMP/y1.json" "$t" manifest "$cid"
expect_rejected "$t"
step "a proof naming a dataset the checker does not know: not found (3)"
new_repo stranger
"$PUT" -q "$PLAIN_CAR" >/dev/null
expect_exit 3 "$VERIFY" --check-proof "$proof"
step "a proof naming a plain dataset: rejected (9)"
edit_proof "$proof" "$t" manifest "$plain_cid"
expect_exit 9 "$VERIFY" --repo "$CHECKER" --check-proof "$t"

step "malformed proofs: 4"
printf 'not json' >"$TEST_TMP/garbage.json"
expect_exit 4 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/garbage.json"
: >"$TEST_TMP/empty.json"
expect_exit 4 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/empty.json"
printf '{}' >"$TEST_TMP/braces.json"
expect_exit 4 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/braces.json"
head -c $(($(file_size "$proof") / 2)) "$proof" >"$TEST_TMP/half.json"
expect_exit 4 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/half.json"
{ cat "$proof"; printf '{}'; } >"$TEST_TMP/trailing.json"
expect_exit 4 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/trailing.json"
for edit in unknown-field no-cells non-hex odd-hex slot-string short-challenge bad-cid; do
  step "  malformed: $edit"
  edit_proof "$proof" "$t" "$edit"
  expect_exit 4 "$VERIFY" --repo "$CHECKER" --check-proof "$t"
done
expect_exit 3 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/no-such-file.json"

step "proving what is not held: a slot not held (2), a slot past the last (2), a plain dataset (2)"
PARTIAL=$TEST_TMP/partial
"$PUT" -q --repo "$PARTIAL" --slots 0,1 "$TEST_TMP/x.car" >/dev/null
expect_exit 0 "$VERIFY" --repo "$PARTIAL" --prove "$cid" --slot 1 --challenge "$challenge" -o "$TEST_TMP/p1.json"
cmp -s "$TEST_TMP/p1.json" "$proof" || fail "a partial holder's proof of slot 1 differs from the full holder's"
expect_exit 2 "$VERIFY" --repo "$PARTIAL" --prove "$cid" --slot 3 --challenge "$challenge" -o "$TEST_TMP/p3.json"
[[ ! -e $TEST_TMP/p3.json ]] || fail "a refused --prove left its output file"
expect_exit 2 "$VERIFY" --repo "$PROVER" --prove "$cid" --slot 6 --challenge "$challenge"
expect_exit 2 "$VERIFY" --repo "$PROVER" --prove "$plain_cid" --slot 0 --challenge "$challenge"
expect_exit 3 "$VERIFY" --repo "$PARTIAL" --prove "$y_cid" --slot 0 --challenge "$challenge"
step "bad challenges and missing options: 2"
expect_exit 2 "$VERIFY" --prove "$cid" --slot 1 --challenge "${challenge:1}"
expect_exit 2 "$VERIFY" --prove "$cid" --slot 1 --challenge "${challenge}00"
expect_exit 2 "$VERIFY" --prove "$cid" --slot 1 --challenge "g${challenge:1}"
expect_exit 2 "$VERIFY" --prove "$cid" --challenge "$challenge"
expect_exit 2 "$VERIFY" --check-proof "$proof" --challenge "${challenge:2}"
expect_exit 2 "$VERIFY" --prove "$cid" --slot 1 --check-proof "$proof"

step "a damaged slot cannot be proven (4) when its cell roots must be read from it; the other slots still can"
repo_tool corrupt "$PARTIAL" "$cid" "$(repo_tool slot "$PARTIAL" "$cid" $K $M 1 | cut -d' ' -f2)"
sqlite3 "$PARTIAL/codex.db" "DELETE FROM slot_trees"  # earlier proofs cached them
expect_exit 4 "$VERIFY" --repo "$PARTIAL" --prove "$cid" --slot 1 --challenge "$challenge"
expect_exit 0 "$VERIFY" --repo "$PARTIAL" --prove "$cid" --slot 0 --challenge "$challenge" -o "$TEST_TMP/p0.json"
expect_exit 0 "$VERIFY" --repo "$CHECKER" --check-proof "$TEST_TMP/p0.json" --slot 0 --challenge "$challenge"
step "slot 0's cell roots are cached now: proofs read only the challenged blocks; without the cache a lost block is found (4)"
sqlite3 "$PARTIAL/codex.db" "SELECT slot FROM slot_trees" | grep -qx 0 || fail "proving slot 0 did not cache its cell roots"
repo_tool lose "$PARTIAL" "$cid" "$(repo_tool slot "$PARTIAL" "$cid" $K $M 0 | cut -d' ' -f1)"
sqlite3 "$PARTIAL/codex.db" "DELETE FROM slot_trees"
expect_exit 4 "$VERIFY" --repo "$PARTIAL" --prove "$cid" --slot 0 --challenge "$challenge"

step "ok"
