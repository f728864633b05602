# The test vectors through the tools: codex-chunk must give exactly the CIDs
# and manifest bytes of tests/data/codex-vectors.json (the ones a Logos
# Storage node gives the same input), and codex-get --manifest must describe
# the stored manifest with the documented JSON fields.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

new_repo repo
printf 'hello' >"$TEST_TMP/hello"
mkdir "$TEST_TMP/named"
printf 'hello' >"$TEST_TMP/named/hello.txt"
pattern_file "$TEST_TMP/mod251-200000" 200000
pattern_file "$TEST_TMP/mod251-10000" 10000

# check_vector NAME INPUT_FILE HOW CHUNK_ARGS...: chunk in both formats,
# compare CIDs, tree CID, block CIDs and manifest bytes with vector NAME, then
# put the stream and check the stored manifest and the bytes. HOW is 'stdin'
# (the input comes on stdin) or 'file' (INPUT_FILE is an argument).
check_vector() {
  local name=$1 input=$2 how=$3
  shift 3
  local format letter expected args car got i
  for format in current legacy; do
    [[ $format == current ]] && letter=A || letter=B
    expected=$(vector "$name.manifest_${letter}_cid")
    args=("$@" --manifest-format "$format")
    [[ $how == file ]] && args+=("$input")
    car=$TEST_TMP/$name-$format.car
    step "$name, $format manifest ($how): $expected"

    got=$("$CHUNK" --cid-only "${args[@]}" <"$input")
    expect_eq "$name: chunk --cid-only ($format)" "$got" "$expected"
    "$CHUNK" "${args[@]}" <"$input" >"$car" 2>"$TEST_TMP/chunk.err"
    expect_eq "$name: CID chunk printed on stderr ($format)" "$(cat "$TEST_TMP/chunk.err")" "$expected"

    # The stream itself: the blocks' CIDs in order, then the manifest block.
    mapfile -t cids < <(car_tool cids "$car")
    local count
    count=$("$PYTHON" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))[sys.argv[2]]["block_cids"]))' \
      "$VECTORS" "$name")
    expect_eq "$name: sections in the stream" "${#cids[@]}" $((count + 1))
    for ((i = 0; i < count; i++)); do
      expect_eq "$name: CID of block $i" "${cids[$i]}" "$(vector "$name.block_cids.$i")"
    done
    expect_eq "$name: last section's CID" "${cids[$count]}" "$expected"
    expect_eq "$name: manifest bytes ($format)" "$(car_tool data "$car" -1)" \
      "$(vector "$name.manifest_${letter}_hex")"

    "$CHUNK" --json "${args[@]}" -o "$TEST_TMP/json.car" <"$input" >"$TEST_TMP/chunk.json"
    expect_eq "$name: chunk --json cid" "$(json_field cid <"$TEST_TMP/chunk.json")" "$expected"
    expect_eq "$name: chunk --json treeCid" "$(json_field treeCid <"$TEST_TMP/chunk.json")" \
      "$(vector "$name.tree_cid")"
    expect_eq "$name: chunk --json blocks" "$(json_field blocks <"$TEST_TMP/chunk.json")" "$count"
    expect_eq "$name: chunk --json format" "$(json_field format <"$TEST_TMP/chunk.json")" "$format"
    same_car_body "$TEST_TMP/json.car" "$car" || fail "$name: the blocks of chunk -o differ from chunk's stdout"
    expect_eq "$name: chunk -o names the manifest as root" "$(car_root "$TEST_TMP/json.car")" \
      "$(printf '%s' "$expected" | "$PYTHON" -c '
import sys
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
n = 0
for c in sys.stdin.read()[1:]: n = n * 58 + alphabet.index(c)
print(n.to_bytes(38, "big").hex())')"

    expect_eq "$name: CID from put" "$("$PUT" "$car")" "$expected"
    "$GET" "$expected" | cmp - "$input" || fail "$name: codex-get $expected gives other bytes than the input"

    "$GET" --manifest "$expected" >"$TEST_TMP/manifest.json"
    is_json <"$TEST_TMP/manifest.json" || fail "$name: codex-get --manifest is not JSON: $(cat "$TEST_TMP/manifest.json")"
    "$PYTHON" - "$TEST_TMP/manifest.json" "$VECTORS" "$name" "$expected" "$format" "$(file_size "$input")" <<'EOF' ||
import json, sys
got = json.load(open(sys.argv[1]))
vector = json.load(open(sys.argv[2]))[sys.argv[3]]
cid, fmt, size = sys.argv[4], sys.argv[5], int(sys.argv[6])
want = {
    "cid": cid,
    "format": fmt,
    "treeCid": vector["tree_cid"],
    "blockSize": vector["blockSize"],
    "datasetSize": size,
    "blocks": len(vector["block_cids"]),
    "codec": "codex-block",
    "hcodec": "sha2-256",
    "filename": vector.get("filename"),
    "mimetype": vector.get("mimetype"),
}
bad = [f"{k}: got {got.get(k, '<absent>')!r}, expected {v!r}" for k, v in want.items() if got.get(k, "<absent>") != v]
extra = sorted(set(got) - set(want))
if extra:
    bad.append(f"unexpected fields {extra}")
if bad:
    sys.exit("\n".join(bad))
EOF
      fail "$name: codex-get --manifest $expected does not describe the manifest (see above)"
  done
}

check_vector dataset_hello "$TEST_TMP/hello" stdin
check_vector dataset_hello_named "$TEST_TMP/named/hello.txt" file
check_vector dataset_200000_mod251 "$TEST_TMP/mod251-200000" stdin
check_vector dataset_10000_mod251_bs4096 "$TEST_TMP/mod251-10000" stdin --block-size 4096

step "--filename and --mimetype on stdin give the named dataset's CIDs"
expect_eq "stdin --filename hello.txt" "$("$CHUNK" --cid-only --filename hello.txt <"$TEST_TMP/hello")" \
  "$(vector dataset_hello_named.manifest_A_cid)"
expect_eq "stdin --filename hello.txt --mimetype text/plain (legacy)" \
  "$("$CHUNK" --cid-only --filename hello.txt --mimetype text/plain --manifest-format legacy <"$TEST_TMP/hello")" \
  "$(vector dataset_hello_named.manifest_B_cid)"
other=$("$CHUNK" --cid-only --filename hello.txt --mimetype application/octet-stream <"$TEST_TMP/hello")
[[ $other != "$(vector dataset_hello_named.manifest_A_cid)" ]] || fail "--mimetype did not change the CID"
expect_eq "empty block CID is the padding CID" "$(vector empty_block_cid.cid)" \
  zDxWB8EDDsokSpiTXNRpv1jS2LXjEdLgTiDfxFd7Eo8CSPKVj93r
check_integrity
step "ok"
