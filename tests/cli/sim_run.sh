#!/usr/bin/env bash
# codex-sim run: the simulator from the command line. Two runs with the same
# options and seed print identical JSON (and a different seed does not); the
# report has the fields docs/simulator.md lists; the table has the same
# numbers; bad options are usage errors naming what was wrong.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SIM=$CODEX_BIN/codex-sim
[[ -x $SIM ]] || fail "codex-sim is not built (CODEX_BIN=$CODEX_BIN)"

args=(run --members 30 --datasets 40 --duration 4h --probe-interval 1m --heartbeat-interval 15m --sync-interval 10m
  --mttf 2d --churn-uptime 3h --churn-downtime 20m --loss 0.02 --asymmetric 0.05 --slow 0.1 --slot-size 8)

step "same seed, same run: identical JSON from two processes"
"$SIM" "${args[@]}" --seed 3 --json --no-resources >"$TEST_TMP/a.json"
"$SIM" "${args[@]}" --seed 3 --json --no-resources >"$TEST_TMP/b.json"
cmp -s "$TEST_TMP/a.json" "$TEST_TMP/b.json" || fail "two runs with seed 3 differ: $(diff "$TEST_TMP/a.json" "$TEST_TMP/b.json" | head -5)"
"$SIM" "${args[@]}" --seed 4 --json --no-resources >"$TEST_TMP/c.json"
cmp -s "$TEST_TMP/a.json" "$TEST_TMP/c.json" && fail "seeds 3 and 4 gave the same run"

step "the report's fields"
"$PYTHON" - "$TEST_TMP/a.json" <<'PY' || fail "report fields"
import json, sys
r = json.load(open(sys.argv[1]))
for key in ["members", "datasets", "simulatedSeconds", "events", "traceDigest", "messages", "bytes",
            "messagesPerMemberSecond", "bytesPerMemberSecond", "byType", "failures", "churnOffline",
            "datasetsLost", "slotsLost", "slotsRebuilt", "detectionMeanSeconds", "falseSuspicions",
            "needlessRepairs", "duplicateRebuilds", "repairBytes", "convergence", "viewsAgree"]:
    assert key in r, key
assert "wallSeconds" not in r and "peakMemoryBytes" not in r, "--no-resources"
assert r["members"] == 30 and r["datasets"] == 40 and r["simulatedSeconds"] == 14400
assert r["messages"] > 0 and r["failures"] + r["churnOffline"] > 0
assert sum(t["messages"] for t in r["byType"]) == r["messages"]
assert r["convergence"][0]["event"] == "joins"
PY
"$SIM" "${args[@]}" --seed 3 --json | grep -q '"peakMemoryBytes":' || fail "no peakMemoryBytes without --no-resources"
"$SIM" "${args[@]}" --seed 3 | grep -Eq "^trace digest +[0-9a-f]{16}$" || fail "the table shows no trace digest"

step "bad options are usage errors"
expect_exit 2 "$SIM" run --members 0
expect_exit 2 "$SIM" run --members 4 -k 4 -m 2
expect_err "at least as many members"
expect_exit 2 "$SIM" run --loss 1.5
expect_exit 2 "$SIM" run --partition 1h
expect_err "START\+DURATION"
expect_exit 2 "$SIM" run --correlated 0.1
expect_exit 2 "$SIM" run --duration forever
step "ok"
