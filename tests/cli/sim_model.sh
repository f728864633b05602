#!/usr/bin/env bash
# codex-sim model: the durability model from the command line. The whitepaper's
# Table 1 (K+M for a 1e-9 yearly loss at MTTF 1y, MTTR 1d, daily proofs) comes
# out of --target/--expansion, the JSON carries the same numbers as the text,
# and bad parameters are usage errors naming what was wrong.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SIM=$CODEX_BIN/codex-sim
[[ -x $SIM ]] || fail "codex-sim is not built (CODEX_BIN=$CODEX_BIN)"

step "the default 4+2 dataset"
out=$("$SIM" model)
grep -q '^loss probability within 1y: 2.0976e-03$' <<<"$out" || fail "unexpected model output: $out"

step "whitepaper Table 1 (expansion 2, l0 5: 11+11 here, 13+13 in the paper; docs/durability.md)"
while read -r expansion l0 k m; do
  line=$("$SIM" model --target 1e-9 --expansion "$expansion" --l0 "$l0" --json)
  got=$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["k"], d["m"], d["lossProbability"] <= 1e-9)' "$line")
  [[ $got == "$k $m True" ]] || fail "expansion $expansion l0 $l0: expected $k+$m, got '$got' ($line)"
done <<'TABLE'
1.5 1 18 9
2 1 7 7
2.5 1 4 6
1.5 5 28 14
2 5 11 11
2.5 5 8 12
TABLE

step "faster proofs lose less; text and JSON agree"
slow=$("$SIM" model --proof-interval 1w --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["lossProbability"])')
fast=$("$SIM" model --proof-interval 1h --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["lossProbability"])')
python3 -c "import sys; sys.exit(0 if $fast < $slow else 1)" || fail "hourly proofs ($fast) should lose less than weekly ($slow)"

step "bad parameters are usage errors"
expect_exit 2 "$SIM" model --mttf 10
expect_err "duration '10'"
expect_exit 2 "$SIM" model --l0 3
expect_exit 2 "$SIM" model -k 0
expect_exit 2 "$SIM" model --target 1e-9
expect_exit 2 "$SIM" nonsense
expect_exit 3 "$SIM" model --target 1e-30 --expansion 1.5 --max-slots 12
step "ok"
