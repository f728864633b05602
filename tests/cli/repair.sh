# codex-verify and codex-repair on a damaged repository: damage within what
# the code bears is "damaged" (6); --dry-run plans the repair (6) and changes
# nothing; the repair rebuilds (8) and leaves everything intact (0 from then
# on). Damage past it is "unrecoverable" (7) for both, and the groups that
# could be rebuilt still are. A plain dataset has no parity: any loss is 7.
source "$(dirname "${BASH_SOURCE[0]}")/erasure_lib.sh"

step "seed $CODEX_TEST_SEED"
BS=4096
K=4 M=2
input=$TEST_TMP/input
random_file "$input" $((18 * BS + $(random_between 1 $((BS - 1)))))
cid=$(protect "$input" $K $M)
cp "$PROTECTED_CAR" "$TEST_TMP/x.car"
other=$TEST_TMP/other
random_file "$other" $((7 * BS))
"$CHUNK" -q --block-size $BS "$other" | "$ENCODE" -q -k 3 -m 2 >"$TEST_TMP/other.car"

# fresh NAME: a repository with the K=4, M=2 dataset and another (intact) one.
fresh() {
  new_repo "$1"
  "$PUT" -q "$TEST_TMP/x.car" >/dev/null
  other_cid=$("$PUT" "$TEST_TMP/other.car")
  FRESH_BLOCKS=$(sql "SELECT count(*) FROM blocks")
}

# index_state: a fingerprint of the index and the packs (to see that nothing changed).
index_state() {
  sql "SELECT hex(digest), pack, offset, size FROM blocks ORDER BY digest" | sha256sum
  pack_bytes
}

# verify_json CODE: codex-verify --json of the K=4 dataset exits with CODE.
verify_json() {
  expect_code "$1" "$VERIFY" --json "$cid"
}

step "an intact repository: verify 0, repair 0, dry run 0"
fresh intact
expect_code 0 "$VERIFY"
expect_out 'intact'
expect_code 0 "$VERIFY" --json
"$PYTHON" - "$OUT_FILE" "$cid" "$other_cid" <<'EOF' || fail "codex-verify --json: one JSON line per dataset"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(l["cid"] for l in lines) == sorted(sys.argv[2:]), lines
assert all(l["state"] == "intact" and l["protected"] for l in lines), lines
EOF
expect_code 0 "$REPAIR"
expect_code 0 "$REPAIR" --dry-run
expect_code 0 "$REPAIR" --json
"$PYTHON" - "$OUT_FILE" <<'EOF' || fail "codex-repair --json on an intact repository"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 2, lines
assert all(l["before"] == "intact" and l["after"] == "intact" and l["rebuilt"] == [] for l in lines), lines
EOF

step "damage within limits: slot 1 lost (rows deleted), corrupt blocks in slots 0 and 4"
fresh damaged
slot1=($(repo_tool slot "$REPO" "$cid" $K $M 1))
g0=($(repo_tool group "$REPO" "$cid" $K $M 0))  # rows 0..5 of group 0
g2=($(repo_tool group "$REPO" "$cid" $K $M 2))
repo_tool lose "$REPO" "$cid" "${slot1[@]}"
repo_tool corrupt "$REPO" "$cid" "${g0[4]}" "${g2[0]}"
lost=$(printf '%s\n' "${slot1[@]}" "${g0[4]}" "${g2[0]}" | sort -n | tr '\n' ' ')
step "lost: $lost"
expect_code 6 "$VERIFY"
expect_out 'damaged'
expect_err 'codex-verify: damaged: 1 of 2 dataset\(s\) damaged, all of it repairable'
expect_code 6 "$VERIFY" -q
[[ ! -s $ERR_FILE ]] || fail "codex-verify -q exit 6 printed on stderr: $(cat "$ERR_FILE")"
expect_code 6 "$VERIFY" "$cid"
expect_code 0 "$VERIFY" "$other_cid"
verify_json 6
"$PYTHON" - "$OUT_FILE" <<'EOF' || fail "codex-verify --json does not describe the damage"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["state"] == "damaged", r["state"]
assert r["missing"] == 5 and r["corrupt"] == 2, r
assert r["unrecoverableGroups"] == [], r
slots = {s["slot"]: s for s in r["slots"]}
assert slots[1]["missing"] == 5, slots[1]
assert slots[0]["corrupt"] == 1 and slots[4]["corrupt"] == 1, (slots[0], slots[4])
EOF
step "codex-get still gives the original"
check_get "$cid" "$input"

step "repair --dry-run: 6, lists the plan, changes nothing"
before=$(index_state)
expect_code 6 "$REPAIR" --dry-run
expect_out "$cid"
expect_out 'would rebuild 7 block'
expect_code 6 "$REPAIR" -n --json
"$PYTHON" - "$OUT_FILE" "$cid" $lost <<'EOF' || fail "codex-repair --dry-run --json does not give the plan"
import json, sys
lines = {l["cid"]: l for l in map(json.loads, open(sys.argv[1])) if l}
plan = lines[sys.argv[2]]
assert plan["dryRun"] is True, plan
assert plan["planned"] == sorted(map(int, sys.argv[3:])), plan
assert plan["before"] == "damaged" and plan["missing"] == 5 and plan["corrupt"] == 2, plan
assert "rebuilt" not in plan, plan
others = [l for c, l in lines.items() if c != sys.argv[2]]
assert len(others) == 1 and others[0]["planned"] == [], others
EOF
expect_eq "index and packs after a dry run" "$(index_state)" "$before"
expect_code 6 "$VERIFY"
expect_code 6 "$REPAIR" --dry-run "$cid"
expect_code 0 "$REPAIR" --dry-run "$other_cid"

step "repair: 8, then verify 0, get exact, repair again 0"
expect_code 8 "$REPAIR"
expect_out 'rebuilt 7 block'
expect_err 'codex-repair: repaired: rebuilt 7 block\(s\) in 1 dataset'
expect_code 0 "$VERIFY"
expect_out 'intact'
verify_json 0
expect_eq "intact blocks" "$(json_field intact <"$OUT_FILE")" 29
expect_eq "blocks indexed after repair" "$(sql "SELECT count(*) FROM blocks")" "$FRESH_BLOCKS"
expect_exit 0 "$GET" -v "$cid" -o "$TEST_TMP/out"
cmp -s "$TEST_TMP/out" "$input" || fail "get after repair gives other bytes"
expect_eq "blocks rebuilt by get after repair" "$(grep -c 'rebuilt block' "$ERR_FILE" || true)" 0
expect_code 0 "$REPAIR"
expect_code 0 "$REPAIR" --dry-run
check_integrity

step "repair --json reports what it rebuilt: both parity slots lost"
lost=$(repo_tool slot "$REPO" "$cid" $K $M 4 5)
repo_tool lose "$REPO" "$cid" $lost
expect_code 8 "$REPAIR" --json "$cid"
"$PYTHON" - "$OUT_FILE" $lost <<'EOF' || fail "codex-repair --json does not report the rebuilt blocks"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["dryRun"] is False, r
assert r["rebuilt"] == sorted(map(int, sys.argv[2:])), r
assert r["before"] == "damaged" and r["after"] == "intact", r
assert "error" not in r, r
EOF
expect_code 0 "$VERIFY"

step "unrecoverable: 3 slots lost, verify 7, repair 7 (and --dry-run 7), nothing changed"
fresh unrecoverable
repo_tool lose "$REPO" "$cid" $(repo_tool slot "$REPO" "$cid" $K $M 0 2 4)
expect_code 7 "$VERIFY"
expect_out 'unrecoverable'
verify_json 7
expect_eq "unrecoverable groups" "$(json_field unrecoverableGroups <"$OUT_FILE")" "[0, 1, 2, 3, 4]"
before=$(index_state)
expect_code 7 "$REPAIR" --dry-run
expect_code 7 "$REPAIR"
grep -q . "$ERR_FILE" || fail "codex-repair exit 7 says nothing on stderr"
expect_eq "index and packs after a failed repair" "$(index_state)" "$before"
expect_code 7 "$VERIFY"
expect_code 0 "$VERIFY" "$other_cid"

step "one group past hope, others damaged within limits: repair 7 rebuilds what it can"
fresh partly
g0=($(repo_tool group "$REPO" "$cid" $K $M 0))
g3=($(repo_tool group "$REPO" "$cid" $K $M 3))
repo_tool lose "$REPO" "$cid" "${g0[@]:0:3}" "${g3[1]}"
repo_tool corrupt "$REPO" "$cid" "${g3[5]}"
expect_code 7 "$VERIFY"
expect_code 7 "$REPAIR" --json "$cid"
"$PYTHON" - "$OUT_FILE" "${g3[1]}" "${g3[5]}" <<'EOF' || fail "codex-repair --json after a partial repair"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["rebuilt"] == sorted(map(int, sys.argv[2:])), r
assert r["after"] == "unrecoverable", r
assert "group 0" in r["error"], r
EOF
verify_json 7
"$PYTHON" - "$OUT_FILE" <<'EOF' || fail "after a partial repair only group 0 should be bad"
import json, sys
r = json.loads(open(sys.argv[1]).read())
assert r["missing"] == 3 and r["corrupt"] == 0, r
assert r["unrecoverableGroups"] == [0], r
EOF

step "a partial holder (slots 0-4) repairs only its own slots"
new_repo partial
"$PUT" -q --slots 0-4 "$TEST_TMP/x.car" >/dev/null
held=$(sql "SELECT count(*) FROM blocks")
lose=$(repo_tool slot "$REPO" "$cid" $K $M 2)
repo_tool lose "$REPO" "$cid" $lose
expect_code 6 "$VERIFY"
expect_code 8 "$REPAIR"
expect_code 0 "$VERIFY"
expect_eq "blocks indexed after repair (held slots only)" "$(sql "SELECT count(*) FROM blocks")" "$held"
for i in $(repo_tool slot "$REPO" "$cid" $K $M 5); do
  expect_eq "block $i of the slot not held" "$(repo_tool present "$REPO" "$cid" "$i")" 0
done
step "a holder of exactly K slots cannot rebuild a lost block from them alone: 7"
new_repo four
"$PUT" -q --slots 0-3 "$TEST_TMP/x.car" >/dev/null
repo_tool lose "$REPO" "$cid" "$(repo_tool slot "$REPO" "$cid" $K $M 2 | cut -d' ' -f1)"
expect_code 7 "$VERIFY"
expect_code 7 "$REPAIR"

step "a plain dataset with a missing block: verify 7, repair 7; a corrupt one likewise"
new_repo plain
plain_cid=$("$PUT" "$PLAIN_CAR")
repo_tool lose "$REPO" "$plain_cid" 4
expect_code 7 "$VERIFY"
expect_code 7 "$VERIFY" --json
expect_eq "state" "$(json_field state <"$OUT_FILE")" unrecoverable
expect_eq "missing" "$(json_field missing <"$OUT_FILE")" 1
expect_code 7 "$REPAIR" --dry-run
expect_code 7 "$REPAIR"
new_repo plain-corrupt
plain_cid=$("$PUT" "$PLAIN_CAR")
repo_tool corrupt "$REPO" "$plain_cid" 4
expect_code 7 "$VERIFY"
expect_code 7 "$REPAIR"

step "--sample: presence is checked for every block, bytes only for the sample"
fresh sample
repo_tool lose "$REPO" "$cid" "$(repo_tool slot "$REPO" "$cid" $K $M 3 | cut -d' ' -f1)"
expect_code 6 "$VERIFY" --sample 1 "$cid"
expect_code 6 "$VERIFY" --sample 1% "$cid"
expect_code 0 "$VERIFY" --sample 1% --json "$other_cid"
expect_eq "checked with --sample 1%" "$(json_field checked <"$OUT_FILE")" 1
expect_code 8 "$REPAIR"
repo_tool corrupt "$REPO" "$cid" 0
expect_code 6 "$VERIFY" --sample 100% "$cid"
expect_code 6 "$VERIFY" --sample 1000 "$cid"
expect_code 0 "$VERIFY" --sample 50% --json "$other_cid"
expect_eq "checked with --sample 50% of 24" "$(json_field checked <"$OUT_FILE")" \
  "$(( ($(json_field blocks <"$OUT_FILE") + 1) / 2 ))"
step "--sample with a seed is reproducible"
a=$("$VERIFY" --sample 3 --seed 7 --json "$cid" || true)
b=$("$VERIFY" --sample 3 --seed 7 --json "$cid" || true)
expect_eq "two runs with --seed 7" "$a" "$b"
step "bad --sample values are usage errors (2)"
for bad in 0 0% 101% abc 1.5 % 5%% 1e2 -5% 0x10; do
  expect_exit 2 "$VERIFY" --sample "$bad"
done
step "unknown datasets: 3; bad CIDs: 2"
expect_exit 3 "$VERIFY" "$(vector dataset_hello.manifest_A_cid)"
expect_exit 3 "$REPAIR" "$(vector dataset_hello.manifest_A_cid)"
expect_exit 2 "$VERIFY" not-a-cid
expect_exit 2 "$REPAIR" not-a-cid

step "strict --sample parsing: a negative count is not 'every block', no leading blanks (2)"
expect_exit 2 "$VERIFY" --sample -1
expect_exit 2 "$VERIFY" --sample " 5"
expect_exit 2 "$VERIFY" --sample " 5%"

step "ok"
