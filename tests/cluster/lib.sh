# Shared steps of the cluster fault scenarios (tests/cluster/*.sh): real
# codex-gossip daemons on loopback with short protocol intervals, one
# community, one protected dataset stored by an uploader with
# `codex-put --wait`. Sourced after tests/cli/lib.sh's helpers (it sources
# them itself) and scripts/community-cluster.sh.
#
#   community_up N [CONF]          N members started, each seeing all N
#   store_dataset I SIZE K M [chunk options]
#                                  a random file of SIZE bytes stored by member
#                                  I; sets FILE, CID and HOLDERS (peer ids by slot)
#   view_holders I                 the holders by slot in member I's gathered view
#   healthy_without I PEERID...    member I sees every slot held, none by these
#   settled_ok                     every slot held by exactly one running member,
#                                  by its core and its repository; no other copy
#   repo_slots I                   the slots member I's repository records as held
#   blocks_intact DIR              every block stored in repository DIR hashes to its digest
#   running_members                indices of the members running now
#
# On failure the last lines of every member's log are printed, and
# CODEX_TEST_KEEP=DIR keeps the repositories and logs.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
source "$CODEX_SOURCE/scripts/community-cluster.sh"

ENCODE=$CODEX_BIN/codex-encode
[[ -x $CLUSTER_GOSSIP && -x $ENCODE ]] || fail "codex-gossip and codex-encode must be built"

on_exit() {
  local rc=$?
  if ((rc != 0)) && [[ -n ${CLUSTER_DIR:-} ]]; then
    local f
    for f in "$CLUSTER_DIR"/m*.log; do
      [[ -e $f ]] || continue
      printf '%s: --- last lines of %s ---\n' "$SCENARIO" "$(basename "$f")" >&2
      grep -Ev ' debug ' "$f" | tail -25 | sed 's/^/    /' >&2
    done
  fi
  cleanup
}
trap on_exit EXIT
KEEP_DIR=$TEST_TMP/c  # community_up's cluster; CODEX_TEST_KEEP=DIR keeps it

community_up() {
  local n=$1 conf=${2:-$CLUSTER_FAST_CONF} i
  cluster_init "$TEST_TMP/c" "$n" "$conf" || fail "cannot make the community"
  for ((i = 1; i <= n; i++)); do cluster_start "$i" || fail "member $i did not start"; done
  for ((i = 1; i <= n; i++)); do
    cluster_wait_live "$i" "$n" 60 || fail "member $i does not see the community"
  done
}

store_dataset() {
  local i=$1 size=$2 k=$3 m=$4
  shift 4
  FILE=$TEST_TMP/file
  random_file "$FILE" "$size"
  "$CHUNK" -q "$@" "$FILE" | "$ENCODE" -q -k "$k" -m "$m" |
    "$PUT" --wait --wait-timeout 120 --repo "$(cluster_repo "$i")" >"$TEST_TMP/cid" 2>"$TEST_TMP/put.err" ||
    fail "codex-put --wait failed: $(cat "$TEST_TMP/put.err")"
  CID=$(cat "$TEST_TMP/cid")
  local watch=1
  ((watch == i)) && watch=2
  read -r -a HOLDERS <<<"$(view_holders "$watch")"
  ((${#HOLDERS[@]} == k + m)) || fail "expected $((k + m)) slots, got ${HOLDERS[*]}"
  distinct "${HOLDERS[@]}" || fail "a member holds two slots or a slot has no holder: ${HOLDERS[*]}"
}

view_holders() { cluster_view_field "$1" "$CID" holders; }

# distinct PEERID...: all different, none missing ("-").
distinct() {
  local h
  for h in "$@"; do [[ $h != - ]] || return 1; done
  [[ $(printf '%s\n' "$@" | sort -u | wc -l) == "$#" ]]
}

healthy_without() {
  local i=$1 holders gone
  shift
  [[ $(cluster_view_field "$i" "$CID" complete) == yes ]] || return 1
  holders=$(view_holders "$i")
  for gone in "$@"; do [[ $holders != *"$gone"* ]] || return 1; done
  # shellcheck disable=SC2086 # one word per holder
  distinct $holders
}

running_members() {
  local i out=()
  for ((i = 1; i <= CLUSTER_N; i++)); do cluster_running "$i" && out+=("$i"); done
  echo "${out[@]}"
}

# The slots (0-based, space-separated) of $CID member I's repository records
# as held; "all" for a full copy, nothing when it does not hold the dataset.
repo_slots() {
  "$PYTHON" - "$(cluster_repo "$1")/codex.db" "$CID" <<'PY'
import sqlite3, sys
db, cid = sys.argv[1], sys.argv[2]
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
n = 0
for ch in cid[1:]:  # multibase 'z': base58btc
    n = n * 58 + alphabet.index(ch)
raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
raw = b"\0" * (len(cid[1:]) - len(cid[1:].lstrip("1"))) + raw
con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
row = con.execute("SELECT held_slots FROM datasets WHERE manifest_cid = ?", (raw,)).fetchone()
if row is None:
    print("")
elif row[0] is None:
    print("all")
else:
    print(" ".join(str(s) for s in range(32) if row[0] >> s & 1))
PY
}

# own_slot I: "SLOT stored|getting" for $CID in member I's core, or nothing.
own_slot() {
  cluster_json "$1" datasets | "$PYTHON" -c '
import json, sys
for d in json.load(sys.stdin).get("datasets", []):
    if d.get("cid") == sys.argv[1] and d.get("own_slot") is not None:
        print(d["own_slot"], "stored" if d.get("stored") else "getting")' "$CID"
}

# settled_ok [SLOTS]: each of the dataset's SLOTS slots (default: as many
# as HOLDERS) is held by exactly one running member, whose core says it
# stores it and whose repository records it; no running member's repository
# records a slot its core does not hold (a stale or extra copy), and no
# core holds a slot its repository lacks.
settled_ok() {
  local slots=${1:-${#HOLDERS[@]}} i s own repo count=()
  for ((s = 0; s < slots; s++)); do count[s]=0; done
  SETTLED_WHY=""
  for i in $(running_members); do
    own=$(own_slot "$i")
    repo=$(repo_slots "$i")
    [[ $repo == all ]] && continue  # the uploader's full copy (it was placed no slot)
    if [[ -n $own ]]; then
      [[ $own == *stored ]] || { SETTLED_WHY="member $i is still getting slot ${own% *}"; return 1; }
      [[ $repo == "${own% *}" ]] || { SETTLED_WHY="member $i holds slot ${own% *}, its repository records '$repo'"; return 1; }
      count[${own% *}]=$((count[${own% *}] + 1))
    elif [[ -n $repo ]]; then
      SETTLED_WHY="member $i's repository still records slot(s) $repo that its core does not hold"
      return 1
    fi
  done
  for ((s = 0; s < slots; s++)); do
    ((count[s] == 1)) || { SETTLED_WHY="slot $s is held by ${count[s]} members"; return 1; }
  done
}

# blocks_intact DIR: every block of repository DIR read back from its pack
# hashes to the digest it is filed under.
blocks_intact() {
  "$PYTHON" - "$1" <<'PY'
import hashlib, os, sqlite3, sys
repo = sys.argv[1]
con = sqlite3.connect(f"file:{repo}/codex.db?mode=ro", uri=True, timeout=10)
packs = dict(con.execute("SELECT id, name FROM packs"))
bad = n = 0
handles = {}
for digest, pack, offset, size in con.execute("SELECT digest, pack, offset, size FROM blocks"):
    f = handles.get(pack) or handles.setdefault(pack, open(os.path.join(repo, "packs", packs[pack]), "rb"))
    f.seek(offset)
    n += 1
    if hashlib.sha256(f.read(size)).digest() != bytes(digest):
        bad += 1
print(f"{n} blocks, {bad} bad")
sys.exit(1 if bad else 0)
PY
}

# wait_settled SECONDS: until settled_ok, failing with its reason.
wait_settled() {
  local limit=$1 deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    settled_ok && return 0
    sleep 0.5
  done
  fail "not settled after ${limit}s: $SETTLED_WHY"
}

# ids_of I...: the members' peer ids.
ids_of() {
  local i out=()
  for i in "$@"; do out+=("$(cat "$CLUSTER_DIR/m$i.id")"); done
  echo "${out[@]}"
}

# verify_all: nothing corrupt stored anywhere: codex-verify passes on every
# member's repository (what it holds of every dataset), and every block in
# every repository, repair scratch repositories included, hashes to its digest.
verify_all() {
  local i r
  for ((i = 1; i <= CLUSTER_N; i++)); do
    expect_exit 0 "$CODEX_BIN/codex-verify" --repo "$(cluster_repo "$i")"
    for r in "$(cluster_repo "$i")" "$(cluster_repo "$i")"/repairs/*; do
      [[ -e $r/codex.db ]] || continue
      blocks_intact "$r" >"$TEST_TMP/blocks.out" || fail "corrupt blocks in $r: $(cat "$TEST_TMP/blocks.out")"
    done
  done
}
