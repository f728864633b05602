# Repair by cron: members whose daemons run with auto-repair = no leave the
# rebuilds they are asked for waiting until `codex-repair --daemon` runs (as
# cron would run it on every member). Eight daemons on loopback: an uploader
# stores a K=4 M=2 dataset on six of the seven others; one holder is killed;
# the member asked to rebuild its slot waits (codex-repair --daemon --dry-run
# exits 6 there), codex-repair --daemon on every survivor rebuilds it (exit 8
# where it ran, 0 elsewhere), and the dataset is back to full health.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$CODEX_SOURCE/scripts/community-cluster.sh"

ENCODE=$CODEX_BIN/codex-encode
REPAIR=$CODEX_BIN/codex-repair
[[ -x $CLUSTER_GOSSIP && -x $ENCODE && -x $REPAIR ]] || fail "codex-gossip, codex-encode and codex-repair must be built"


N=8
UPLOADER=8
cluster_init "$TEST_TMP/c" $N "$CLUSTER_FAST_CONF
auto-repair = no" || fail "cannot make the community"
KEEP_DIR=$TEST_TMP/c  # CODEX_TEST_KEEP=DIR keeps it
for ((i = 1; i <= N; i++)); do cluster_start $i || fail "member $i did not start"; done
for ((i = 1; i <= N; i++)); do cluster_wait_live $i $N 40 || fail "member $i does not see the community"; done

step "a K=4 M=2 dataset on six of seven members; auto-repair is off everywhere"
random_file "$TEST_TMP/file" 1500000
"$CHUNK" -q "$TEST_TMP/file" | "$ENCODE" -q -k 4 -m 2 |
  "$PUT" -q --wait --wait-timeout 90 --repo "$(cluster_repo $UPLOADER)" >"$TEST_TMP/cid" 2>"$TEST_TMP/put.err" ||
  fail "codex-put --wait failed: $(cat "$TEST_TMP/put.err")"
CID=$(cat "$TEST_TMP/cid")
read -r -a HOLDERS <<<"$(cluster_view_field 1 "$CID" holders)"
K=$(cluster_index_of "${HOLDERS[2]}")
for ((i = 1; i < N; i++)); do expect_exit 0 "$REPAIR" --daemon --repo "$(cluster_repo $i)"; done

step "a holder is killed; its slot waits for codex-repair"
cluster_stop "$K" KILL
waiting_somewhere() { grep -q "dataset=$CID slot=2 is ours to rebuild: waiting for codex-repair" "$CLUSTER_DIR"/m*.log; }
wait_for 60 "a member asked to rebuild slot 2" waiting_somewhere
sleep 2  # a worse-ranked candidate that also claimed has seen the better claim by now
R=""
for ((i = 1; i <= N; i++)); do
  [[ $i == "$K" ]] && continue
  status=0
  "$REPAIR" --daemon --dry-run --repo "$(cluster_repo $i)" >/dev/null 2>&1 || status=$?
  case $status in
    0) ;;
    6) [[ -z $R ]] || fail "members $R and $i both wait to rebuild slot 2"; R=$i ;;
    *) fail "codex-repair --daemon --dry-run on member $i exited $status" ;;
  esac
done
[[ -n $R ]] || fail "no member has a rebuild waiting (codex-repair --daemon --dry-run exits 6)"
[[ $(cluster_view_field "$R" "$CID" complete) == no ]] || fail "the dataset is complete before any repair"

step "codex-repair --daemon on every survivor (cron): member $R rebuilds slot 2"
for ((i = 1; i <= N; i++)); do
  [[ $i == "$K" ]] && continue
  want=0
  [[ $i == "$R" ]] && want=8
  expect_exit $want "$REPAIR" --daemon --json --repo "$(cluster_repo $i)"
  if [[ $i == "$R" ]]; then
    grep -q '"started":1' "$OUT_FILE" || fail "codex-repair --daemon --json: $(cat "$OUT_FILE")"
    grep -q '"phase":"done"' "$OUT_FILE" || fail "the rebuild job is not done: $(cat "$OUT_FILE")"
  fi
done
healthy() { [[ $(cluster_view_field "$R" "$CID" complete) == yes ]]; }
wait_for 30 "full health after the cron repair" healthy
[[ " $(cluster_view_field "$R" "$CID" holders) " == *" $(cat "$CLUSTER_DIR/m$R.id") "* ]] || fail "member $R does not hold slot 2"
expect_exit 0 "$GET" "$CID" --repo "$(cluster_repo "$R")" -o "$TEST_TMP/got"
cmp -s "$TEST_TMP/file" "$TEST_TMP/got" || fail "member $R got different bytes"
step "ok"
