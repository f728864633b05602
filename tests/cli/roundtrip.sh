# Round trips through the data path: codex-chunk | codex-put, codex-get | cmp,
# for edge sizes around a block and a few random multi-MiB inputs, through
# pipes and through files, in both manifest formats and a small block size.
# The CID from chunk (stderr), chunk --cid-only and put must agree, and
# putting a dataset again changes nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

step "seed $CODEX_TEST_SEED"
new_repo repo
MiB=1048576
sizes=(0 1 65535 65536 65537)
for _ in 1 2 3; do sizes+=("$(random_between $MiB $((5 * MiB)))"); done
step "sizes: ${sizes[*]}"

declare -A seen_cids  # CID -> what made it; different inputs must not share one

# roundtrip FILE LABEL CHUNK_OPTIONS...: both paths, checks, records the CIDs.
roundtrip() {
  local f=$1 label=$2
  shift 2
  local cid_only cid_put cid_err cid_file_only cid_file_chunk cid_file_put

  # Through pipes: stdin in, CAR on stdout, CID on stderr; put from stdin.
  cid_only=$("$CHUNK" --cid-only "$@" <"$f")
  cid_put=$("$CHUNK" "$@" <"$f" 2>"$TEST_TMP/chunk.err" | "$PUT") || fail "$label: chunk | put failed"
  cid_err=$(cat "$TEST_TMP/chunk.err")
  expect_eq "$label: CID from put vs chunk's stderr" "$cid_put" "$cid_err"
  expect_eq "$label: CID from put vs chunk --cid-only" "$cid_put" "$cid_only"
  [[ $cid_put == zDvZ* ]] || fail "$label: '$cid_put' does not look like a manifest CID"
  "$GET" "$cid_put" | cmp - "$f" || fail "$label: codex-get $cid_put | cmp differs from the input"
  [[ -z ${seen_cids[$cid_put]:-} ]] || fail "$label: CID $cid_put also came out of ${seen_cids[$cid_put]}"
  seen_cids[$cid_put]="$label (stdin)"

  # Through files: FILE argument (its name goes into the manifest), -o, put FILE, get -o.
  cid_file_only=$("$CHUNK" --cid-only "$@" "$f")
  cid_file_chunk=$("$CHUNK" "$@" -o "$TEST_TMP/ds.car" "$f")  # with -o the CID goes to stdout
  cid_file_put=$("$PUT" "$TEST_TMP/ds.car")
  expect_eq "$label: CID of 'chunk -o' vs 'chunk --cid-only FILE'" "$cid_file_chunk" "$cid_file_only"
  expect_eq "$label: CID of 'put FILE' vs 'chunk -o'" "$cid_file_put" "$cid_file_chunk"
  [[ $cid_file_put != "$cid_put" ]] || fail "$label: the filename did not change the CID"
  "$GET" "$cid_file_put" -o "$TEST_TMP/ds.out"
  cmp "$TEST_TMP/ds.out" "$f" || fail "$label: codex-get -o gives other bytes than the input"
  [[ -z ${seen_cids[$cid_file_put]:-} ]] || fail "$label: CID $cid_file_put also came out of ${seen_cids[$cid_file_put]}"
  seen_cids[$cid_file_put]="$label (file)"
  rm -f "$TEST_TMP/ds.car" "$TEST_TMP/ds.out"
}

for size in "${sizes[@]}"; do
  f=$TEST_TMP/in-$size
  random_file "$f" "$size"
  for format in current legacy; do
    step "round trip: $size bytes, $format manifest"
    roundtrip "$f" "$size bytes/$format" --manifest-format "$format"
  done
done

step "round trip with --block-size 4096: 0, 1, 4095, 4096, 4097 bytes and ~1 MiB"
for size in 0 1 4095 4096 4097 $(random_between $MiB $((2 * MiB))); do
  f=$TEST_TMP/small-$size
  random_file "$f" "$size"
  roundtrip "$f" "$size bytes/bs4096" --block-size 4096
  blocks=$("$GET" --manifest "$("$CHUNK" --cid-only --block-size 4096 <"$f")" | json_field blocks)
  expect_eq "blocks of $size bytes at 4096" "$blocks" $(((size + 4095) / 4096 > 0 ? (size + 4095) / 4096 : 1))
done

step "'-' names stdin for chunk and put; -q silences chunk"
f=$TEST_TMP/in-65537
"$CHUNK" -q - <"$f" >"$TEST_TMP/dash.car" 2>"$TEST_TMP/dash.err"
[[ ! -s $TEST_TMP/dash.err ]] || fail "codex-chunk -q wrote on stderr: $(cat "$TEST_TMP/dash.err")"
cid=$("$PUT" - <"$TEST_TMP/dash.car")
expect_eq "CID of '-'" "$cid" "$("$CHUNK" --cid-only <"$f")"

step "putting the same dataset again is harmless"
datasets_before=$(dataset_count)
packs_before=$(pack_bytes)
expect_exit 0 "$PUT" "$TEST_TMP/dash.car"
expect_eq "CID of the second put" "$(cat "$OUT_FILE")" "$cid"
expect_exit 0 "$PUT" --json "$TEST_TMP/dash.car"
expect_eq "blocks stored by a third put" "$(json_field stored <"$OUT_FILE")" 0
expect_eq "datasets after putting again" "$(dataset_count)" "$datasets_before"
expect_eq "pack bytes after putting again" "$(pack_bytes)" "$packs_before"
check_get "$cid" "$f"

step "codex-get -o replaces an existing file and leaves no temporary file"
mkdir "$TEST_TMP/out"
printf 'old contents' >"$TEST_TMP/out/target"
"$GET" "$cid" -o "$TEST_TMP/out/target"
cmp "$TEST_TMP/out/target" "$f" || fail "codex-get -o did not replace the file's contents"
expect_eq "files in the -o directory" "$(ls -A "$TEST_TMP/out")" target

step "every dataset still comes back after all the puts"
for size in "${sizes[@]}"; do
  check_get "$("$CHUNK" --cid-only <"$TEST_TMP/in-$size")" "$TEST_TMP/in-$size"
  check_get "$("$CHUNK" --cid-only --manifest-format legacy <"$TEST_TMP/in-$size")" "$TEST_TMP/in-$size"
done
check_integrity
expect_eq "datasets in the repository" "$(dataset_count)" "${#seen_cids[@]}"
step "ok"
