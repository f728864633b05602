# Hostile and mistaken input to the data path: truncated, garbage and forged
# CAR streams, wrong CIDs, bad options. Each must fail with the documented
# exit code and a "<tool>: error: <message>" line, and a failed put must leave
# the repository exactly as it was: the good dataset intact, no new dataset
# row, no bytes left in the packs, the index sound.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

step "seed $CODEX_TEST_SEED"
new_repo repo
good=$TEST_TMP/good
random_file "$good" 300000
good_cid=$(put_file "$good")
datasets_before=$(dataset_count)
packs_before=$(pack_bytes)

# still_intact: what every bad case must leave behind.
still_intact() {
  check_get "$good_cid" "$good"
  check_integrity
  expect_eq "datasets after a failed put" "$(dataset_count)" "$datasets_before"
  expect_eq "pack bytes after a failed put" "$(pack_bytes)" "$packs_before"
  [[ -z $(find "$REPO" -name '*.partial*') ]] || fail "temporary files left in the repository"
}

# bad_put CODE REGEX CAR: putting CAR (on stdin) fails with CODE and a message
# matching REGEX, and the repository is untouched.
bad_put() {
  expect_exit "$1" "$PUT" <"$3"
  expect_err "$2"
  still_intact
}

# A 4-block dataset (200000 bytes) to cut up: header 18 bytes, then sections
# of 3 + 38 + 65536 bytes, then the manifest.
victim=$TEST_TMP/victim
random_file "$victim" 200000
"$CHUNK" -q "$victim" >"$TEST_TMP/victim.car"
victim_cid=$("$CHUNK" --cid-only "$victim")
mapfile -t sections < <(car_tool sections "$TEST_TMP/victim.car")
expect_eq "sections of the victim stream" "${#sections[@]}" 5
read -r b1_start b1_data b1_end _ <<<"${sections[1]}"
read -r m_start m_data m_end m_codec <<<"${sections[4]}"
expect_eq "first block's data offset" "$(cut -d' ' -f2 <<<"${sections[0]}")" $((18 + 3 + 38))
expect_eq "codec of the last section" "$m_codec" 0xcd01
stream_size=$(file_size "$TEST_TMP/victim.car")
expect_eq "the victim stream ends with its manifest" "$m_end" "$stream_size"

step "truncated streams (exit 4)"
for offset in 1 9 $((18 + 2)) $((18 + 3 + 20)) $((b1_data + 1000)) $((b1_end - 1)) $((m_data - 5)) $((m_end - 1)); do
  car_tool cut "$TEST_TMP/victim.car" "$offset" "$TEST_TMP/cut.car"
  step "  cut at byte $offset of $stream_size"
  bad_put 4 "truncated|cut at|ends inside" "$TEST_TMP/cut.car"
done
for offset in 18 "$b1_start" "$m_start"; do
  car_tool cut "$TEST_TMP/victim.car" "$offset" "$TEST_TMP/cut.car"
  step "  cut at byte $offset, a section boundary: no manifest"
  bad_put 4 "without a manifest" "$TEST_TMP/cut.car"
done
step "  cut inside the block, stream given as FILE"
car_tool cut "$TEST_TMP/victim.car" $((b1_data + 77)) "$TEST_TMP/cut.car"
expect_exit 4 "$PUT" "$TEST_TMP/cut.car"
expect_err "cut.car"
still_intact

step "empty input (exit 4)"
bad_put 4 "empty" /dev/null
: >"$TEST_TMP/empty.car"
expect_exit 4 "$PUT" "$TEST_TMP/empty.car"
still_intact

step "garbage (exit 4)"
for size in 1 100 5000 200000; do
  random_file "$TEST_TMP/garbage" "$size"
  step "  $size random bytes"
  bad_put 4 . "$TEST_TMP/garbage"
done
printf 'this is not a CAR stream at all\n' >"$TEST_TMP/garbage"
bad_put 4 . "$TEST_TMP/garbage"
step "  a CARv2 pragma"
printf '\x0a\xa1\x67version\x02' >"$TEST_TMP/v2.car"
bad_put 4 "CARv2" "$TEST_TMP/v2.car"
step "  a section claiming 1 GiB"
{ head -c 18 "$TEST_TMP/victim.car"; printf '\x80\x80\x80\x80\x04'; head -c 100 "$victim"; } >"$TEST_TMP/huge.car"
bad_put 4 . "$TEST_TMP/huge.car"
step "  a section of length 0"
{ head -c 18 "$TEST_TMP/victim.car"; printf '\x00'; } >"$TEST_TMP/zero.car"
bad_put 4 . "$TEST_TMP/zero.car"

step "a block whose bytes do not match its CID (exit 4)"
car_tool flip "$TEST_TMP/victim.car" 1 "$TEST_TMP/flipped.car"
cmp -s "$TEST_TMP/flipped.car" "$TEST_TMP/victim.car" && fail "flip changed nothing"
bad_put 4 "does not match its CID" "$TEST_TMP/flipped.car"
step "the last block flipped"
car_tool flip "$TEST_TMP/victim.car" 3 "$TEST_TMP/flipped.car"
bad_put 4 "does not match its CID" "$TEST_TMP/flipped.car"
step "the manifest block flipped"
car_tool flip "$TEST_TMP/victim.car" 4 "$TEST_TMP/flipped.car"
bad_put 4 "manifest" "$TEST_TMP/flipped.car"

step "a manifest that references a missing block (exit 4)"
for index in 0 1 3; do
  car_tool drop "$TEST_TMP/victim.car" "$index" "$TEST_TMP/dropped.car"
  bad_put 4 "blocks" "$TEST_TMP/dropped.car"
done
step "a block repeated in place of another (exit 4)"
car_tool splice "$TEST_TMP/victim.car" 0 2 "$TEST_TMP/victim.car" 1 end "$TEST_TMP/repeated.car"
bad_put 4 . "$TEST_TMP/repeated.car"
step "blocks in the wrong order (exit 4)"
"$PYTHON" - "$TEST_TMP/victim.car" "$TEST_TMP/swapped.car" "${sections[@]}" <<'EOF'
import sys
buf = open(sys.argv[1], "rb").read()
s = [tuple(map(int, line.split()[:3])) for line in sys.argv[3:]]
out = buf[:s[0][0]] + buf[s[1][0]:s[1][2]] + buf[s[0][0]:s[0][2]] + buf[s[2][0]:]
open(sys.argv[2], "wb").write(out)
EOF
bad_put 4 "tree" "$TEST_TMP/swapped.car"
step "a manifest alone (exit 4)"
car_tool splice "$TEST_TMP/victim.car" 0 0 "$TEST_TMP/victim.car" -1 end "$TEST_TMP/alone.car"
bad_put 4 . "$TEST_TMP/alone.car"

step "the blocks of one dataset with the manifest of another of the same shape (exit 4)"
random_file "$TEST_TMP/other" 200000
"$CHUNK" -q "$TEST_TMP/other" >"$TEST_TMP/other.car"
car_tool splice "$TEST_TMP/victim.car" 0 -1 "$TEST_TMP/other.car" -1 end "$TEST_TMP/mixed.car"
bad_put 4 "tree" "$TEST_TMP/mixed.car"

step "blocks of 4096 bytes under a manifest that says 65536 (exit 4)"
head -c 4096 "$victim" >"$TEST_TMP/four"
"$CHUNK" -q --block-size 4096 "$TEST_TMP/four" >"$TEST_TMP/four-4096.car"
"$CHUNK" -q "$TEST_TMP/four" >"$TEST_TMP/four-65536.car"
car_tool splice "$TEST_TMP/four-4096.car" 0 -1 "$TEST_TMP/four-65536.car" -1 end "$TEST_TMP/wrongsize.car"
bad_put 4 "65536" "$TEST_TMP/wrongsize.car"
step "blocks of 4096 bytes under a manifest that says 4096 but of a 65536-byte dataset (exit 4)"
head -c 65536 "$victim" >"$TEST_TMP/sixteen"
"$CHUNK" -q --block-size 4096 "$TEST_TMP/sixteen" >"$TEST_TMP/sixteen-4096.car"
"$CHUNK" -q "$TEST_TMP/sixteen" >"$TEST_TMP/sixteen-65536.car"
car_tool splice "$TEST_TMP/sixteen-4096.car" 0 -1 "$TEST_TMP/sixteen-65536.car" -1 end "$TEST_TMP/wrongsize.car"
bad_put 4 "16 blocks|blocks but" "$TEST_TMP/wrongsize.car"

step "blocks after the manifest (exit 4)"
car_tool splice "$TEST_TMP/victim.car" 0 end "$TEST_TMP/victim.car" 0 1 "$TEST_TMP/after.car"
bad_put 4 "after its manifest" "$TEST_TMP/after.car"
step "two streams back to back (exit 4)"
cat "$TEST_TMP/victim.car" "$TEST_TMP/other.car" >"$TEST_TMP/two.car"
bad_put 4 . "$TEST_TMP/two.car"

step "the untouched victim stream still goes in (the cases above failed for their damage)"
expect_exit 0 "$PUT" "$TEST_TMP/victim.car"
expect_eq "CID of the victim" "$(cat "$OUT_FILE")" "$victim_cid"
check_get "$victim_cid" "$victim"
datasets_before=$(dataset_count)
packs_before=$(pack_bytes)
still_intact

step "codex-get: a well-formed CID that is not stored (exit 3)"
unknown=$("$CHUNK" --cid-only "$TEST_TMP/other")
expect_exit 3 "$GET" "$unknown"
expect_err "not in repository"
[[ ! -s $OUT_FILE ]] || fail "codex-get of an unknown CID wrote data"
expect_exit 3 "$GET" --manifest "$unknown"
expect_exit 3 "$GET" "$unknown" -o "$TEST_TMP/unknown.out"
[[ ! -e $TEST_TMP/unknown.out ]] || fail "codex-get -o of an unknown CID created the file"
[[ -z $(find "$TEST_TMP" -maxdepth 1 -name 'unknown.out*') ]] || fail "codex-get -o left a temporary file"

step "codex-get: malformed CID text (exit 2)"
for text in notacid "" zDvZRwzm "${good_cid}x" "${good_cid:0:20}" QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG; do
  expect_exit 2 "$GET" "$text"
  expect_err "CID"
done
step "codex-get: a block or tree CID instead of a manifest CID (exit 2)"
expect_exit 2 "$GET" "$(vector dataset_hello.block_cids.0)"
expect_err "not a manifest"
expect_exit 2 "$GET" "$(vector dataset_hello.tree_cid)"
expect_err "not a manifest"
expect_exit 2 "$GET" --manifest "$(vector dataset_hello.block_cids.0)"

step "bad options (exit 2)"
for bs in 0 8388609 abc -1; do
  expect_exit 2 "$CHUNK" --block-size "$bs" "$good"
  expect_err "block.size"
done
expect_exit 2 "$CHUNK" --manifest-format newest "$good"
expect_exit 2 "$CHUNK" --no-such-option "$good"
expect_err "no-such-option"
expect_exit 2 "$PUT" --no-such-option "$TEST_TMP/victim.car"
expect_exit 2 "$GET" --no-such-option "$good_cid"
expect_exit 2 "$GET"
expect_exit 2 "$CHUNK" "$good" extra-argument
still_intact

step "binary output to a terminal (exit 2)"
if command -v script >/dev/null && script -qec true /dev/null >/dev/null 2>&1; then
  code=0
  script -qec "'$CHUNK' '$good'" /dev/null >"$TEST_TMP/tty.log" 2>&1 || code=$?
  expect_eq "exit code of codex-chunk to a terminal" "$code" 2
  grep -q "codex-chunk: error: .*terminal" "$TEST_TMP/tty.log" || fail "no clear message: $(cat "$TEST_TMP/tty.log")"
  [[ $(file_size "$TEST_TMP/tty.log") -lt 1000 ]] || fail "codex-chunk wrote binary to the terminal"
  code=0
  script -qec "'$CHUNK' --cid-only '$good'" /dev/null >"$TEST_TMP/tty.log" 2>&1 || code=$?
  expect_eq "exit code of codex-chunk --cid-only on a terminal" "$code" 0
  grep -q "$("$CHUNK" --cid-only "$good")" "$TEST_TMP/tty.log" ||
    fail "codex-chunk --cid-only did not print the CID on the terminal: $(cat "$TEST_TMP/tty.log")"
else
  step "  skipped: no working 'script' command to give the tool a terminal"
fi

step "input files that are not there (exit 3) or cannot be read (exit 5)"
expect_exit 3 "$CHUNK" "$TEST_TMP/no-such-file"
expect_err "no-such-file"
expect_exit 3 "$CHUNK" --cid-only "$TEST_TMP/no-such-file"
expect_exit 3 "$PUT" "$TEST_TMP/no-such-file.car"
expect_err "no-such-file.car"
expect_exit 5 "$CHUNK" "$TEST_TMP"
expect_exit 5 "$PUT" "$TEST_TMP"
still_intact
step "ok"
