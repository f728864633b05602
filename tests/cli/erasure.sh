# codex-encode and codex-get through losses: every available backend and a
# few (K, M) round-trip; bad geometries and backends are usage errors; a file
# argument, stdin and --cid of a stored plain dataset give the same stream;
# losing up to M slots (rows deleted) or up to M blocks per group (bytes
# overwritten) still gives the original bytes, with the rebuilt blocks listed;
# one slot more is exit 7 with no output file.
source "$(dirname "${BASH_SOURCE[0]}")/erasure_lib.sh"

step "seed $CODEX_TEST_SEED"
new_repo repo
BS=4096
# 4 full groups and a partial one for K=4: 19 blocks, the last one partial.
input=$TEST_TMP/input
random_file "$input" $((18 * BS + $(random_between 1 $((BS - 1)))))
"$CHUNK" -q --block-size $BS "$input" >"$PLAIN_CAR"

mapfile -t backends < <("$ENCODE" --list-backends)
((${#backends[@]} > 0)) || fail "codex-encode --list-backends lists no backend"
step "backends: ${backends[*]}"

backend_takes() {  # backend k m
  case $1 in
    jerasure_rs_cauchy) (($2 + $3 <= 16)) ;;
    isa_l_rs_vand) (($3 < 5)) ;;
    *) true ;;
  esac
}

declare -A seen
for backend in "${backends[@]}"; do
  for km in "4 2" "10 4" "3 3" "2 5"; do
    read -r k m <<<"$km"
    backend_takes "$backend" "$k" "$m" || continue
    step "encode --backend $backend -k $k -m $m, put, get"
    expect_exit 0 "$ENCODE" -k "$k" -m "$m" --backend "$backend" --json -o "$TEST_TMP/enc.car" "$PLAIN_CAR"
    cid=$(json_field cid <"$OUT_FILE")
    expect_eq "backend in --json" "$(json_field backend <"$OUT_FILE")" "$backend"
    expect_eq "K in --json" "$(json_field k <"$OUT_FILE")" "$k"
    expect_eq "M in --json" "$(json_field m <"$OUT_FILE")" "$m"
    expect_eq "blocks in --json" "$(json_field blocks <"$OUT_FILE")" 19
    steps=$(((19 + k - 1) / k))
    expect_eq "steps in --json" "$(json_field steps <"$OUT_FILE")" "$steps"
    expect_eq "total blocks in --json" "$(json_field totalBlocks <"$OUT_FILE")" $((steps * (k + m)))
    [[ -z ${seen[$cid]:-} ]] || fail "$backend K=$k M=$m gives the CID of ${seen[$cid]}"
    seen[$cid]="$backend K=$k M=$m"
    expect_exit 0 "$PUT" "$TEST_TMP/enc.car"
    expect_eq "put CID" "$(cat "$OUT_FILE")" "$cid"
    expect_exit 0 "$GET" --manifest "$cid"
    expect_eq "manifest backend" "$("$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["erasure"]["backend"])' <"$OUT_FILE")" "$backend"
    check_get "$cid" "$input"
    expect_code 0 "$VERIFY" "$cid"
  done
done

step "K + M = 33 is a usage error (liberasurecode takes at most 32 fragments)"
expect_exit 2 "$ENCODE" -k 30 -m 3 -o "$TEST_TMP/x.car" "$PLAIN_CAR"
expect_err '32'
[[ ! -e $TEST_TMP/x.car ]] || fail "a refused encode left its output file"
expect_exit 2 "$ENCODE" -k 17 -m 16 -o "$TEST_TMP/x.car" "$PLAIN_CAR"
expect_exit 2 "$ENCODE" -k 0 -m 2 -o "$TEST_TMP/x.car" "$PLAIN_CAR"
expect_exit 2 "$ENCODE" -k 4 -m 0 -o "$TEST_TMP/x.car" "$PLAIN_CAR"
expect_exit 2 "$ENCODE" -k 4 -o "$TEST_TMP/x.car" "$PLAIN_CAR"
expect_exit 2 "$ENCODE" -k -1 -m 2 -o "$TEST_TMP/x.car" "$PLAIN_CAR"
step "K + M = 32 is fine"
expect_exit 0 "$ENCODE" -k 28 -m 4 -o "$TEST_TMP/x.car" "$PLAIN_CAR"

step "--backend bogus is a usage error naming the available backends"
expect_exit 2 "$ENCODE" -k 4 -m 2 --backend bogus -o "$TEST_TMP/y.car" "$PLAIN_CAR"
expect_err 'bogus'
expect_err "${backends[0]}"
[[ ! -e $TEST_TMP/y.car ]] || fail "a refused encode left its output file"

step "a file argument, stdin, a pipe, -o and --cid give the same stream"
K=4 M=2
"$ENCODE" -q -k $K -m $M "$PLAIN_CAR" >"$TEST_TMP/from-file.car"
"$ENCODE" -k $K -m $M <"$PLAIN_CAR" >"$TEST_TMP/from-stdin.car" 2>"$TEST_TMP/stdin.err"
cid=$(cat "$TEST_TMP/stdin.err")
[[ $cid == zDvZ* ]] || fail "codex-encode printed '$cid' on stderr, not the manifest CID"
"$ENCODE" -q -k $K -m $M - <"$PLAIN_CAR" >"$TEST_TMP/from-dash.car"
"$CHUNK" -q --block-size $BS "$input" | "$ENCODE" -q -k $K -m $M >"$TEST_TMP/from-pipe.car"
cid_o=$("$ENCODE" -k $K -m $M -o "$TEST_TMP/from-o.car" "$PLAIN_CAR")
expect_eq "CID printed with -o" "$cid_o" "$cid"
[ -n "$(car_root "$TEST_TMP/from-o.car")" ] || fail "codex-encode -o FILE did not name the manifest as the CAR root"
[ -z "$(car_root "$TEST_TMP/from-file.car")" ] || fail "codex-encode to a pipe named a root"
same_car_body "$TEST_TMP/from-file.car" "$TEST_TMP/from-o.car" || fail "encoding from-o gives other blocks than a file argument"
for f in from-stdin from-dash from-pipe; do
  cmp -s "$TEST_TMP/from-file.car" "$TEST_TMP/$f.car" || fail "encoding $f gives another stream than a file argument"
done
new_repo stored
plain_cid=$("$PUT" "$PLAIN_CAR")
cid_stored=$("$ENCODE" -k $K -m $M --cid "$plain_cid" -o "$TEST_TMP/from-cid.car")
expect_eq "CID of encode --cid" "$cid_stored" "$cid"
same_car_body "$TEST_TMP/from-file.car" "$TEST_TMP/from-cid.car" || fail "encode --cid gives other blocks than encoding the plain stream"
step "chunk | encode | put: the protected dataset comes back"
put_cid=$("$CHUNK" -q --block-size $BS "$input" | "$ENCODE" -q -k $K -m $M | "$PUT")
expect_eq "CID through the pipeline" "$put_cid" "$cid"
check_get "$cid" "$input"
check_get "$plain_cid" "$input"
step "encode --cid of a protected dataset, or of one not held, is refused"
expect_exit 2 "$ENCODE" -k 2 -m 1 --cid "$cid" -o "$TEST_TMP/z.car"
expect_exit 3 "$ENCODE" -k 2 -m 1 --cid "$(vector dataset_hello.manifest_A_cid)" -o "$TEST_TMP/z.car"
[[ ! -e $TEST_TMP/z.car ]] || fail "a refused encode left its output file"
step "a protected stream is not a plain one: encoding it again is refused"
expect_exit 2 "$ENCODE" -k 2 -m 1 -o "$TEST_TMP/z.car" "$TEST_TMP/from-file.car"

# A fresh repository holding the K=4, M=2 dataset (19 blocks: 5 steps, 30 leaves, 29 stored).
fresh() {
  new_repo "$1"
  "$PUT" -q "$TEST_TMP/from-file.car" >/dev/null
}

# rebuilt_count: "rebuilt block" lines of the last command's stderr.
rebuilt_count() { grep -c 'rebuilt block' "$ERR_FILE" || true; }

# data_indices INDEX...: those below the 19 data blocks.
data_indices() {
  local i
  for i in "$@"; do ((i < 19)) && printf '%s\n' "$i"; done
  return 0
}

step "losing M=2 whole slots (a data and a parity slot) still gives the original; -v lists the rebuilt blocks"
fresh lose-slots
lost=$(repo_tool slot "$REPO" "$cid" $K $M 1 4)
repo_tool lose "$REPO" "$cid" $lost
expect_exit 0 "$GET" -v "$cid" -o "$TEST_TMP/out"
cmp -s "$TEST_TMP/out" "$input" || fail "get after losing slots 1 and 4 gives other bytes"
expect_eq "rebuilt blocks listed" "$(rebuilt_count)" "$(data_indices $lost | wc -l)"
for i in $(data_indices $lost); do
  grep -q "rebuilt block $i (missing)" "$ERR_FILE" || fail "-v does not list block $i as rebuilt"
done
step "--json reports the rebuilt blocks"
expect_exit 0 "$GET" --json "$cid" -o "$TEST_TMP/out"
"$PYTHON" - "$OUT_FILE" "$(file_size "$input")" $(data_indices $lost) <<'EOF' || fail "--json does not report the rebuilt blocks"
import json, sys
report = json.loads(open(sys.argv[1]).read())
want = sorted(map(int, sys.argv[3:]))
got = sorted(b["index"] for b in report["rebuilt"])
assert got == want, (got, want)
assert all(b["reason"] == "missing" for b in report["rebuilt"]), report
assert report["bytes"] == int(sys.argv[2]), report
EOF
step "through stdout too"
expect_exit 0 "$GET" "$cid"
cmp -s "$OUT_FILE" "$input" || fail "get to stdout after losing slots gives other bytes"

step "losing both data slots 0 and 3 (with padding) still gives the original"
fresh lose-data-slots
repo_tool lose "$REPO" "$cid" $(repo_tool slot "$REPO" "$cid" $K $M 0 3)
check_get "$cid" "$input"

step "losing both parity slots changes nothing for get"
fresh lose-parity
repo_tool lose "$REPO" "$cid" $(repo_tool slot "$REPO" "$cid" $K $M 4 5)
expect_exit 0 "$GET" -v "$cid" -o "$TEST_TMP/out"
cmp -s "$TEST_TMP/out" "$input" || fail "get after losing the parity slots gives other bytes"
expect_eq "rebuilt blocks with only parity lost" "$(rebuilt_count)" 0

step "M+1 = 3 slots lost: exit 7 naming the groups, no output file, nothing on stdout"
fresh lose-three
repo_tool lose "$REPO" "$cid" $(repo_tool slot "$REPO" "$cid" $K $M 0 2 5)
expect_exit 7 "$GET" "$cid" -o "$TEST_TMP/nothing"
expect_err 'group 0'
[[ ! -e $TEST_TMP/nothing ]] || fail "a failed get left its output file"
ls "$TEST_TMP" | grep -q '^nothing' && fail "a failed get left a temporary file next to its output"
expect_exit 7 "$GET" "$cid"
[[ ! -s $OUT_FILE ]] || fail "a failed get wrote $(file_size "$OUT_FILE") bytes to stdout"
expect_code 7 "$VERIFY" "$cid"

step "M+1 losses in one group only: exit 7 naming that group"
fresh lose-group
group=$(random_between 0 4)
rows=($(repo_tool group "$REPO" "$cid" $K $M "$group"))
repo_tool lose "$REPO" "$cid" "${rows[@]:0:3}"
expect_exit 7 "$GET" "$cid" -o "$TEST_TMP/nothing"
expect_err "group $group "
[[ ! -e $TEST_TMP/nothing ]] || fail "a failed get left its output file"

step "up to M corrupt blocks per group (bytes overwritten in the pack): still exact"
fresh corrupt
corrupt=()
for group in 0 1 2 3 4; do
  rows=($(repo_tool group "$REPO" "$cid" $K $M "$group"))
  # Two rows chosen at random among the stored ones.
  a=$(random_between 0 $((${#rows[@]} - 1)))
  b=$(((a + $(random_between 1 $((${#rows[@]} - 1)))) % ${#rows[@]}))
  corrupt+=("${rows[$a]}" "${rows[$b]}")
done
repo_tool corrupt "$REPO" "$cid" "${corrupt[@]}"
expect_exit 0 "$GET" -v "$cid" -o "$TEST_TMP/out"
cmp -s "$TEST_TMP/out" "$input" || fail "get with 2 corrupt blocks per group gives other bytes (corrupt: ${corrupt[*]})"
for i in $(data_indices "${corrupt[@]}"); do
  grep -q "rebuilt block $i (corrupt)" "$ERR_FILE" || fail "-v does not list corrupt block $i as rebuilt"
done
expect_eq "rebuilt blocks" "$(rebuilt_count)" "$(data_indices "${corrupt[@]}" | wc -l)"

step "a missing and a corrupt block in every group: still exact"
fresh mixed
for group in 0 1 2 3 4; do
  rows=($(repo_tool group "$REPO" "$cid" $K $M "$group"))
  repo_tool lose "$REPO" "$cid" "${rows[0]}"
  repo_tool corrupt "$REPO" "$cid" "${rows[${#rows[@]} - 1]}"
done
check_get "$cid" "$input"

step "M+1 corrupt blocks in one group: exit 7, never wrong bytes"
fresh corrupt-three
rows=($(repo_tool group "$REPO" "$cid" $K $M 2))
repo_tool corrupt "$REPO" "$cid" "${rows[@]:0:3}"
expect_exit 7 "$GET" "$cid" -o "$TEST_TMP/nothing"
expect_err 'group 2 '
[[ ! -e $TEST_TMP/nothing ]] || fail "a failed get left its output file"
got=0
"$GET" "$cid" >"$TEST_TMP/partial" 2>/dev/null || got=$?
expect_eq "exit code to stdout" "$got" 7
cmp -s "$TEST_TMP/partial" <(head -c "$(file_size "$TEST_TMP/partial")" "$input") ||
  fail "get wrote bytes that are not the original's before failing"

step "a plain dataset with a lost block: exit 7, no output file"
new_repo plain-loss
plain_cid=$("$PUT" "$PLAIN_CAR")
repo_tool lose "$REPO" "$plain_cid" 7
expect_exit 7 "$GET" "$plain_cid" -o "$TEST_TMP/nothing"
[[ ! -e $TEST_TMP/nothing ]] || fail "a failed get left its output file"
step "a plain dataset with a corrupt block: an error (4), no output file"
new_repo plain-corrupt
plain_cid=$("$PUT" "$PLAIN_CAR")
repo_tool corrupt "$REPO" "$plain_cid" 7
expect_exit 4 "$GET" "$plain_cid" -o "$TEST_TMP/nothing"
[[ ! -e $TEST_TMP/nothing ]] || fail "a failed get left its output file"

step "ok"
