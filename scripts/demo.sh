#!/usr/bin/env bash
# The community story on one machine: nine members' daemons on loopback (short
# protocol intervals, so that what takes hours in a real community takes
# seconds); one member stores a file protected with K=4 M=2 and its daemon
# places the six slots on six other members; the uploader and two holders
# then stop; the others notice, rebuild the two lost slots, and a get on
# another member gives back the same bytes.
#
#   scripts/demo.sh [FILE]
#
# FILE is the caller's (a relative path is taken from where the command was
# run); a FILE that cannot be read is an error. Without FILE, 3 MB of random
# bytes in a temporary directory. Installs the Debian packages it needs the
# first time, then builds only the tools it runs (into build/, or $BUILD_DIR).
set -euo pipefail
say() { printf 'demo: %s\n' "$*"; }
die() {
  printf 'demo: error: %s\n' "$*" >&2
  exit 2
}
(($# <= 1)) || die "usage: scripts/demo.sh [FILE]"
sample=""
if (($# == 1)); then
  # Resolved before anything changes directory: the path is the caller's.
  [[ -e $1 ]] || die "'$1' does not exist"
  [[ -f $1 ]] || die "'$1' is not a regular file"
  [[ -r $1 ]] || die "'$1' cannot be read"
  head -c 1 -- "$1" >/dev/null 2>&1 || die "'$1' cannot be read"
  sample=$(cd "$(dirname -- "$1")" && pwd)/$(basename -- "$1")
fi
source_dir=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-build}
[[ $build == /* ]] || build=$source_dir/$build
tools=(codex-chunk codex-encode codex-put codex-get codex-gossip)

say "checking the Debian packages codex-tools needs (apt-get installs the missing ones)"
"$source_dir/scripts/install-deps.sh"
if [[ ! -f $build/CMakeCache.txt ]]; then
  say "configuring the build in $build"
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$source_dir" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
say "building ${tools[*]} (not the tests; the first build takes a few minutes)"
cmake --build "$build" -j "$(nproc)" --target "${tools[@]}"
export CODEX_BIN=$build
PYTHON=$(command -v python3) || die "python3 is needed"

work=$(mktemp -d)
export CODEX_REPO=$work/unused
# shellcheck source=scripts/community-cluster.sh
source "$source_dir/scripts/community-cluster.sh"
# On success the scratch directory goes; after a failure it stays, so that
# the members' logs named in the error can be read (CODEX_TEST_KEEP=1 keeps it always).
demo_ok=no
trap 'cluster_stop_all; [[ $demo_ok == yes && -z ${CODEX_TEST_KEEP:-} ]] && rm -rf "$work"' EXIT
if [[ -z $sample ]]; then
  sample=$work/sample.bin
  head -c 3000000 /dev/urandom >"$sample"
  say "no FILE given: using 3 MB of random bytes"
fi
started_at=$SECONDS
elapsed() { printf '%3ds' $((SECONDS - started_at)); }

N=9
UPLOADER=9
echo
echo "== A community of $N members on this machine (daemons on 127.0.0.1, scratch in $work)"
echo "   Member 1 creates the community (its owner key) and admits the other eight."
echo "   Intervals are shortened for the demo: a probe every 0.5 s, a heartbeat every second."
cluster_init "$work/c" $N || die "cannot make the community"
# Peer ids are long: the output names members m1..m9.
names=$work/names.sed
for ((i = 1; i <= N; i++)); do echo "s/$(cat "$work/c/m$i.id")/m$i/g"; done >"$names"
named() { sed -f "$names"; }
for ((i = 1; i <= N; i++)); do cluster_start $i || die "member $i did not start (log: $work/c/m$i.log)"; done
for ((i = 1; i <= N; i++)); do cluster_wait_live $i $N 60 || die "member $i does not see the community"; done
echo "   $(elapsed)  every member sees all $N (membership by SWIM gossip over libp2p)"

echo
echo "== m$UPLOADER stores the file, protected: codex-chunk | codex-encode -k 4 -m 2 | codex-put --wait"
cid=$("$build/codex-chunk" --cid-only "$sample")
echo "stored $sample as $cid"
echo "   (that is the file's own Codex CID; the protected dataset gets its own)"
pcid=$("$build/codex-chunk" -q "$sample" | "$build/codex-encode" -q -k 4 -m 2 |
  "$build/codex-put" --wait --wait-timeout 120 --repo "$(cluster_repo $UPLOADER)" 2>"$work/put.err") ||
  die "codex-put --wait failed: $(cat "$work/put.err")"
grep -v "created a new repository" "$work/put.err" | named | sed 's/^/   /' || true
echo "   $(elapsed)  codex-put --wait returned: every slot is held by the member placed for it,"
echo "         so m$UPLOADER may go offline. The community's view (codex-gossip dataset CID on m1):"
"$CLUSTER_GOSSIP" dataset "$pcid" --repo "$(cluster_repo 1)" | named | sed 's/^/   /'

read -r -a holders <<<"$(cluster_view_field 1 "$pcid" holders)"
k1=$(cluster_index_of "${holders[0]}")
k2=$(cluster_index_of "${holders[3]}")
survivors=()
for ((i = 1; i <= N; i++)); do [[ $i == "$UPLOADER" || $i == "$k1" || $i == "$k2" ]] || survivors+=("$i"); done
watch=${survivors[0]}
reader=${survivors[${#survivors[@]} - 1]}

echo
echo "== m$UPLOADER (the uploader), m$k1 (holder of slot 0) and m$k2 (holder of slot 3) stop: kill -9"
cluster_stop $UPLOADER KILL
cluster_stop "$k1" KILL
cluster_stop "$k2" KILL
killed_at=$SECONDS
echo "   What the survivors log as it happens, and m$watch's view of the slots:"
declare -A seen_lines
show_new_log_lines() {
  local i line
  for i in "${survivors[@]}"; do
    # Detection (SWIM declares a member suspect, then dead) and repair.
    while IFS= read -r line; do
      [[ -n ${seen_lines["$i:$line"]:-} ]] && continue
      seen_lines["$i:$line"]=1
      printf '   %s  m%s %s\n' "$(elapsed)" "$i" "$line"
    done < <(grep -E "member: peer=.* (suspect|dead)|repair: dataset=.*(rebuilding|rebuilt|failed)" "$work/c/m$i.log" |
      named | sed -E 's/^[^ ]+ +[a-z]+ +//; s/dataset=[A-Za-z0-9]+ //')
  done
}
last_states=""
healthy=no
for ((t = 0; t < 240; t++)); do
  show_new_log_lines
  states=$(cluster_view_field "$watch" "$pcid" states 2>/dev/null || true)
  if [[ -n $states && $states != "$last_states" ]]; then
    printf '   %s  m%s sees slots 0-5: %s\n' "$(elapsed)" "$watch" "$states"
    last_states=$states
  fi
  if [[ $(cluster_view_field "$watch" "$pcid" complete 2>/dev/null) == yes ]]; then
    now=$(cluster_view_field "$watch" "$pcid" holders)
    if [[ $now != *"${holders[0]}"* && $now != *"${holders[3]}"* ]]; then
      healthy=yes
      break
    fi
  fi
  sleep 0.5
done
show_new_log_lines
[[ $healthy == yes ]] || die "the dataset did not get back to full health within two minutes (logs: $work/c)"
echo "   full health again $((SECONDS - killed_at)) s after the kill. The view now:"
"$CLUSTER_GOSSIP" dataset "$pcid" --repo "$(cluster_repo "$watch")" | named | sed 's/^/   /'

echo
echo "== m$reader gets the file: codex-get reads what its repository holds and streams the rest from the"
echo "   holders through its daemon (every block checked against its CID; nothing stored)"
"$build/codex-get" "$pcid" --repo "$(cluster_repo "$reader")" -o "$work/got" 2>"$work/get.err" ||
  die "codex-get on m$reader failed: $(named <"$work/get.err")"
cmp -s "$work/got" "$sample" || die "the file codex-get gave on m$reader differs from the original"
echo "codex-get gave back the same bytes ($(stat -c %s "$sample") bytes, $(elapsed) in all)"
echo
echo "Run a community for real: docs/operating.md; the protocol: docs/protocol.md."
demo_ok=yes
