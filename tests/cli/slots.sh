# Holding some slots: codex-put --slots stores only the blocks of those slots
# (and says so in the repository), codex-verify checks only them, K held slots
# are enough for codex-get, and subsets held by different repositories
# combine (codex-get --car A | codex-put B) into a repository that has it all.
# Corrupt blocks outside the held slots do not matter; inside they refuse the
# stream. Slot lists that do not fit the dataset are usage errors.
source "$(dirname "${BASH_SOURCE[0]}")/erasure_lib.sh"

step "seed $CODEX_TEST_SEED"
BS=4096
K=4 M=2
input=$TEST_TMP/input
# 19 data blocks: 5 steps, 30 leaves, one padding leaf (index 19, slot 3).
random_file "$input" $((18 * BS + $(random_between 1 $((BS - 1)))))
cid=$(protect "$input" $K $M)
step "protected dataset $cid (K=$K, M=$M)"

# held_mask SLOT...: the held_slots value for those slots.
held_mask() {
  local mask=0 s
  for s in "$@"; do mask=$((mask | 1 << s)); done
  printf '%d' "$mask"
}

# put_slots NAME LIST: a fresh repository NAME holding slots LIST of the dataset.
put_slots() {
  new_repo "$1"
  expect_exit 0 "$PUT" --slots "$2" "$PROTECTED_CAR"
  expect_eq "CID from put --slots $2" "$(cat "$OUT_FILE")" "$cid"
}

# expect_held SLOT...: codex-verify --json says exactly these slots are held,
# all intact, and the index holds exactly their blocks.
expect_held() {
  expect_code 0 "$VERIFY" --json "$cid"
  "$PYTHON" - "$OUT_FILE" "$@" <<'EOF' || fail "codex-verify --json does not show slots '$*' held and intact"
import json, sys
report = json.loads(open(sys.argv[1]).read())
want = set(map(int, sys.argv[2:]))
held = {s["slot"] for s in report["slots"] if s["held"]}
assert held == want, f"held {sorted(held)}, expected {sorted(want)}"
assert report["state"] == "intact", report["state"]
assert report["missing"] == 0 and report["corrupt"] == 0, report
for s in report["slots"]:
    if s["held"]:
        assert s["blocks"] > 0 and s["intact"] == s["blocks"], s
    else:
        assert s["blocks"] == 0, s
assert report["blocks"] == sum(s["blocks"] for s in report["slots"]), report
EOF
  local stored
  stored=$(repo_tool slot "$REPO" "$cid" $K $M "$@" | wc -w)
  expect_eq "blocks indexed" "$(sql "SELECT count(*) FROM blocks")" "$stored"
  expect_eq "pack bytes" "$(pack_bytes)" $((stored * BS))
  expect_code 0 "$VERIFY"
  expect_out "$cid"
}

step "three repositories with two slots each: each holds only its slots"
for pair in "0 1" "2 3" "4 5"; do
  read -r a b <<<"$pair"
  put_slots "pair$a$b" "$a,$b"
  expect_eq "held_slots of pair $a,$b" "$(sql "SELECT held_slots FROM datasets")" "$(held_mask $a $b)"
  expect_held $a $b
  step "slots $a,$b: fewer than K slots held, codex-get fails with 7 and writes nothing"
  expect_exit 7 "$GET" "$cid" -o "$TEST_TMP/nothing"
  [[ ! -e $TEST_TMP/nothing ]] || fail "a failed get left its output file"
done

step "a repository with K=4 slots can get the data: every choice of 4 of the 6 slots"
for four in "0,1,2,3" "0,1,4,5" "2,3,4,5" "0,2,4,5" "1,3,4,5" "0,1,2,5" "0,3,4,5"; do
  put_slots "four-${four//,/}" "$four"
  expect_held ${four//,/ }
  expect_exit 0 "$GET" -v "$cid" -o "$TEST_TMP/out"
  cmp -s "$TEST_TMP/out" "$input" || fail "get from a repository holding slots $four gives other bytes"
done

step "a range list (0-2,4) is the same as 0,1,2,4"
put_slots range "0-2,4"
expect_eq "held_slots" "$(sql "SELECT held_slots FROM datasets")" "$(held_mask 0 1 2 4)"
step "--slots naming every slot is the same as no --slots (held_slots NULL)"
put_slots all "0-5"
expect_eq "held_slots" "$(sql "SELECT held_slots IS NULL FROM datasets")" 1
step "re-put merges: 0,1 then 2 holds 0,1,2; then a full put holds all"
new_repo merge
"$PUT" -q --slots 0,1 "$PROTECTED_CAR" >/dev/null
"$PUT" -q --slots 2 "$PROTECTED_CAR" >/dev/null
expect_held 0 1 2
"$PUT" -q "$PROTECTED_CAR" >/dev/null
expect_eq "held_slots after a full put" "$(sql "SELECT held_slots IS NULL FROM datasets")" 1
expect_held 0 1 2 3 4 5

# --- Combining subsets through CAR streams --------------------------------
if "$GET" --help | grep -q -- --car; then
  step "codex-get --car of a full repository is the dense stream (the same blocks as codex-encode wrote)"
  new_repo full
  "$PUT" -q "$PROTECTED_CAR" >/dev/null
  expect_exit 0 "$GET" --car "$cid" -o "$TEST_TMP/dense.car"
  cmp -s <(car_tool cids "$TEST_TMP/dense.car") <(car_tool cids "$PROTECTED_CAR") ||
    fail "codex-get --car of a full repository carries other blocks than codex-encode's stream"
  new_repo from-dense
  expect_exit 0 "$PUT" "$TEST_TMP/dense.car"
  check_get "$cid" "$input"

    step "codex-get --car of a partial repository is a sparse stream: leaf list, held blocks, manifest"
  for name in pair01 pair23 pair45; do
    REPO=$TEST_TMP/$name
    expect_exit 0 "$GET" --repo "$REPO" --car "$cid" -o "$TEST_TMP/$name.car"
    car_tool sections "$TEST_TMP/$name.car" >"$TEST_TMP/sections"
    expect_eq "first section of $name's stream (leaf list, raw)" "$(awk 'NR==1 {print $4}' "$TEST_TMP/sections")" 0x55
    expect_eq "last section of $name's stream (manifest)" "$(awk 'END {print $4}' "$TEST_TMP/sections")" 0xcd01
    # Two slots of 5 positions (padding as the empty block), the list and the manifest.
    expect_eq "sections of $name's stream" "$(wc -l <"$TEST_TMP/sections")" 12
  done

  step "combining slots 0,1 (from one repository) and 4,5 (from another) into a third: K slots, get works"
  new_repo combined
  "$GET" --repo "$TEST_TMP/pair01" --car "$cid" | "$PUT" --repo "$REPO" --slots 0,1 >"$TEST_TMP/put.out" ||
    fail "codex-get --car | codex-put --slots 0,1 failed"
  expect_eq "CID from put of a sparse stream" "$(cat "$TEST_TMP/put.out")" "$cid"
  expect_held 0 1
  "$GET" --repo "$TEST_TMP/pair45" --car "$cid" | "$PUT" --repo "$REPO" --slots 4,5 >/dev/null ||
    fail "codex-get --car | codex-put --slots 4,5 failed"
  expect_held 0 1 4 5
  check_get "$cid" "$input"
  step "and with 2,3 too (a sparse stream put without --slots holds the slots it carries): all intact"
  "$GET" --repo "$TEST_TMP/pair23" --car "$cid" | "$PUT" --repo "$REPO" >/dev/null ||
    fail "codex-get --car | codex-put (no --slots) failed"
  expect_held 0 1 2 3 4 5
  expect_code 0 "$VERIFY"
  expect_out 'intact'
  check_get "$cid" "$input"
  step "the combined repository exports the dense stream again"
  expect_exit 0 "$GET" --car "$cid" -o "$TEST_TMP/recombined.car"
  cmp -s <(car_tool cids "$TEST_TMP/recombined.car") <(car_tool cids "$PROTECTED_CAR") ||
    fail "the recombined repository's stream carries other blocks"

  step "a sparse stream cannot give slots it does not carry: --slots 2 from slots 0,1 is refused (4)"
  new_repo short
  expect_exit 4 "$PUT" --slots 2 "$TEST_TMP/pair01.car"
  expect_eq "datasets after a refused put" "$(dataset_count)" 0
  expect_eq "blocks after a refused put" "$(sql "SELECT count(*) FROM blocks")" 0
  step "a sparse stream with a block flipped in a held slot is refused (4)"
  car_tool flip "$TEST_TMP/pair01.car" 3 "$TEST_TMP/pair01-flipped.car"
  expect_exit 4 "$PUT" "$TEST_TMP/pair01-flipped.car"
  expect_eq "datasets after a refused put" "$(dataset_count)" 0
  step "a sparse stream whose leaf list is not the manifest's tree is refused (4)"
  car_tool splice "$TEST_TMP/pair01.car" 0 1 "$TEST_TMP/pair23.car" 1 end "$TEST_TMP/mixed.car"
  expect_exit 0 "$PUT" --slots 2,3 "$TEST_TMP/mixed.car"  # the same dataset's list: fine
  "$CHUNK" -q --block-size $BS <"$input" | "$ENCODE" -q -k 3 -m 3 >"$TEST_TMP/other.car"
  other_cid=$("$PUT" "$TEST_TMP/other.car")
  new_repo other-partial
  other_cid=$("$PUT" --slots 0 "$TEST_TMP/other.car")
  "$GET" --car "$other_cid" >"$TEST_TMP/other-sparse.car"
  car_tool splice "$TEST_TMP/other-sparse.car" 0 1 "$TEST_TMP/pair01.car" 1 end "$TEST_TMP/wrong-list.car"
  new_repo wrong-list
  expect_exit 4 "$PUT" "$TEST_TMP/wrong-list.car"
  expect_eq "datasets after a refused put" "$(dataset_count)" 0
else
  printf '%s: NOTE: codex-get has no --car yet: the combining checks did not run\n' "$SCENARIO" >&2
fi

# --- Corrupt blocks and --slots -------------------------------------------
# Dense stream sections are dataset indices: slot s is sections [5s, 5s+5).
step "a corrupt block in slot 5: put --slots 0,1 accepts the stream (the block is not kept)"
car_tool flip "$PROTECTED_CAR" 27 "$TEST_TMP/bad5.car"
new_repo bad-outside
expect_exit 0 "$PUT" --slots 0,1 "$TEST_TMP/bad5.car"
expect_held 0 1
step "the same stream with --slots 4,5 or without --slots is refused (4), nothing stored"
new_repo bad-inside
expect_exit 4 "$PUT" --slots 4,5 "$TEST_TMP/bad5.car"
expect_err 'block 27'
expect_eq "datasets after a refused put" "$(dataset_count)" 0
expect_eq "blocks after a refused put" "$(sql "SELECT count(*) FROM blocks")" 0
expect_eq "pack bytes after a refused put" "$(pack_bytes)" 0
expect_exit 4 "$PUT" "$TEST_TMP/bad5.car"
expect_eq "datasets after a refused put" "$(dataset_count)" 0
step "a corrupt block in a held slot refuses the stream even when the repository has that block already"
new_repo bad-held
"$PUT" -q --slots 5 "$PROTECTED_CAR" >/dev/null
expect_exit 4 "$PUT" --slots 4,5 "$TEST_TMP/bad5.car"
expect_held 5

step "--slots that do not fit the dataset are usage errors (2), nothing stored"
new_repo bad-slots
expect_exit 2 "$PUT" --slots 7 "$PROTECTED_CAR"
expect_exit 2 "$PUT" --slots 6 "$PROTECTED_CAR"
expect_exit 2 "$PUT" --slots 0,6 "$PROTECTED_CAR"
expect_exit 2 "$PUT" --slots 32 "$PROTECTED_CAR"
expect_exit 2 "$PUT" --slots 3-1 "$PROTECTED_CAR"
expect_exit 2 "$PUT" --slots x "$PROTECTED_CAR"
expect_exit 2 "$PUT" --slots , "$PROTECTED_CAR"
expect_eq "datasets after refused puts" "$(dataset_count)" 0
step "--slots on a plain dataset is a usage error (2)"
expect_exit 2 "$PUT" --slots 0 "$PLAIN_CAR"
expect_err 'plain'
expect_eq "datasets after refused puts" "$(dataset_count)" 0
expect_eq "blocks after refused puts" "$(sql "SELECT count(*) FROM blocks")" 0

step "an empty --slots list names no slot: a usage error, not 'every slot' (a script's empty variable)"
new_repo empty-slots
expect_exit 2 "$PUT" --slots "" "$PROTECTED_CAR"
# The slot list is refused before the repository is opened: nothing is created.
if [ -e "$CODEX_REPO/codex.db" ]; then
  expect_eq "datasets after a refused put" "$(dataset_count)" 0
fi

step "ok"
