# --json on the data path: every report is one line of JSON, on stdout unless
# stdout carries data (then on stderr), with the fields scripts rely on and
# values that agree with each other and with the input.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

step "seed $CODEX_TEST_SEED"
new_repo repo
f=$TEST_TMP/input
size=$((3 * 65536 + 12345))
random_file "$f" "$size"
blocks=4

# one_json_line FILE WHAT: FILE is exactly one line holding a JSON object.
one_json_line() {
  [[ $(wc -l <"$1") == 1 ]] || fail "$2: expected one line, got: $(cat "$1")"
  "$PYTHON" -c 'import json, sys; assert isinstance(json.load(open(sys.argv[1])), dict)' "$1" 2>/dev/null ||
    fail "$2 is not a JSON object: $(cat "$1")"
}
field() { json_field "$2" <"$1"; }

step "codex-chunk --json -o FILE: the report on stdout"
"$CHUNK" --json "$f" -o "$TEST_TMP/a.car" >"$TEST_TMP/chunk.json"
one_json_line "$TEST_TMP/chunk.json" "codex-chunk --json -o"
cid=$(field "$TEST_TMP/chunk.json" cid)
expect_eq "chunk cid" "$cid" "$("$CHUNK" --cid-only "$f")"
expect_eq "chunk blocks" "$(field "$TEST_TMP/chunk.json" blocks)" "$blocks"
expect_eq "chunk blockSize" "$(field "$TEST_TMP/chunk.json" blockSize)" 65536
expect_eq "chunk datasetSize" "$(field "$TEST_TMP/chunk.json" datasetSize)" "$size"
expect_eq "chunk format" "$(field "$TEST_TMP/chunk.json" format)" current
[[ $(field "$TEST_TMP/chunk.json" treeCid) == zDzS* ]] || fail "chunk treeCid is not a codex-root CID"

step "codex-chunk --json with the stream on stdout: the report on stderr"
"$CHUNK" --json "$f" >"$TEST_TMP/b.car" 2>"$TEST_TMP/chunk-stderr.json"
one_json_line "$TEST_TMP/chunk-stderr.json" "codex-chunk --json's stderr"
same_car_body "$TEST_TMP/a.car" "$TEST_TMP/b.car" || fail "codex-chunk --json changed the stream"
cmp -s "$TEST_TMP/chunk.json" "$TEST_TMP/chunk-stderr.json" || fail "the stderr report differs from the -o one"

step "codex-chunk --json --cid-only, legacy format"
"$CHUNK" --json --cid-only --manifest-format legacy <"$f" >"$TEST_TMP/legacy.json"
one_json_line "$TEST_TMP/legacy.json" "codex-chunk --json --cid-only"
expect_eq "legacy cid" "$(field "$TEST_TMP/legacy.json" cid)" "$("$CHUNK" --cid-only --manifest-format legacy <"$f")"
expect_eq "legacy format" "$(field "$TEST_TMP/legacy.json" format)" legacy

step "codex-put --json: new blocks, then none"
"$PUT" --json "$TEST_TMP/a.car" >"$TEST_TMP/put.json"
one_json_line "$TEST_TMP/put.json" "codex-put --json"
expect_eq "put cid" "$(field "$TEST_TMP/put.json" cid)" "$cid"
expect_eq "put protected" "$(field "$TEST_TMP/put.json" protected)" false
expect_eq "put blocks" "$(field "$TEST_TMP/put.json" blocks)" "$blocks"
expect_eq "put stored" "$(field "$TEST_TMP/put.json" stored)" "$blocks"
expect_eq "put bytesWritten" "$(field "$TEST_TMP/put.json" bytesWritten)" $((blocks * 65536))
expect_eq "put slots" "$(field "$TEST_TMP/put.json" slots)" all
"$PUT" --json <"$TEST_TMP/a.car" >"$TEST_TMP/put2.json"
one_json_line "$TEST_TMP/put2.json" "codex-put --json (again)"
expect_eq "put again: stored" "$(field "$TEST_TMP/put2.json" stored)" 0
expect_eq "put again: bytesWritten" "$(field "$TEST_TMP/put2.json" bytesWritten)" 0
expect_eq "pack bytes" "$(pack_bytes)" $((blocks * 65536))

step "codex-get --json -o FILE: the report on stdout"
"$GET" --json "$cid" -o "$TEST_TMP/out" >"$TEST_TMP/get.json"
one_json_line "$TEST_TMP/get.json" "codex-get --json -o"
cmp "$TEST_TMP/out" "$f" || fail "codex-get --json -o wrote other bytes"
expect_eq "get cid" "$(field "$TEST_TMP/get.json" cid)" "$cid"
expect_eq "get bytes" "$(field "$TEST_TMP/get.json" bytes)" "$size"
expect_eq "get protected" "$(field "$TEST_TMP/get.json" protected)" false
expect_eq "get rebuilt" "$(field "$TEST_TMP/get.json" rebuilt)" "[]"

step "codex-get --json with the data on stdout: the report on stderr"
"$GET" --json "$cid" >"$TEST_TMP/out2" 2>"$TEST_TMP/get-stderr.json"
cmp "$TEST_TMP/out2" "$f" || fail "codex-get --json put its report into the data"
one_json_line "$TEST_TMP/get-stderr.json" "codex-get --json's stderr"
cmp -s "$TEST_TMP/get.json" "$TEST_TMP/get-stderr.json" || fail "the stderr report differs from the -o one"

step "codex-get --manifest (with and without --json)"
"$GET" --manifest "$cid" >"$TEST_TMP/manifest.json"
one_json_line "$TEST_TMP/manifest.json" "codex-get --manifest"
expect_eq "manifest cid" "$(field "$TEST_TMP/manifest.json" cid)" "$cid"
expect_eq "manifest treeCid" "$(field "$TEST_TMP/manifest.json" treeCid)" "$(field "$TEST_TMP/chunk.json" treeCid)"
expect_eq "manifest datasetSize" "$(field "$TEST_TMP/manifest.json" datasetSize)" "$size"
expect_eq "manifest blocks" "$(field "$TEST_TMP/manifest.json" blocks)" "$blocks"
expect_eq "manifest filename" "$(field "$TEST_TMP/manifest.json" filename)" input
expect_eq "manifest mimetype" "$(field "$TEST_TMP/manifest.json" mimetype)" null
"$GET" --manifest --json "$cid" >"$TEST_TMP/manifest2.json"
one_json_line "$TEST_TMP/manifest2.json" "codex-get --manifest --json"

step "a filename that needs escaping comes out as valid JSON"
name=$'quote" back\\slash tab\t nl\n bell\a \xff\xfe end.txt'
"$CHUNK" --filename "$name" <"$f" 2>/dev/null | "$PUT" >"$TEST_TMP/odd.cid"
"$GET" --manifest "$(cat "$TEST_TMP/odd.cid")" >"$TEST_TMP/odd.json"
one_json_line "$TEST_TMP/odd.json" "the manifest of an oddly named dataset"
expect_eq "escaped filename" "$(field "$TEST_TMP/odd.json" filename)" \
  "$(printf '%s' "$name" | "$PYTHON" -c 'import sys; print(sys.stdin.buffer.read().decode("utf-8", "replace"))')"
step "ok"
