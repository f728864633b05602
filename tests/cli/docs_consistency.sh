#!/usr/bin/env bash
# Help, man pages and shell completions must not drift apart. For every tool,
# the options its --help prints (CLI11's table: "  -o,--output FILE  ...")
# are the options of man/<tool>.1's OPTIONS section, with the same short and
# long forms, and appear in completions/{bash/<tool>,zsh/_<tool>,
# fish/<tool>.fish}; the committed completions are byte for byte what
# `<tool> --completions SHELL` prints now (via scripts/gen-completions.sh); an
# option in a man page that --help does not know is stale; every page's EXIT
# STATUS lists codes 0-9 with the names of docs/exit-codes.md, in the same
# words in every page. Pages must render without groff warnings, and the
# completion scripts must parse (zsh and fish checks are skipped when those
# shells are not installed).
#
#   CODEX_BIN=build CODEX_SOURCE=. bash tests/cli/docs_consistency.sh
#
# MAN_DIR and COMPLETIONS_DIR point the checks at other copies. Unless
# DOCS_SELF_TEST=0, the script then breaks copies of the docs in a scratch
# directory in several ways and checks that it fails on each, naming the tool
# and the option, so that it cannot pass vacuously.
set -euo pipefail

: "${CODEX_BIN:?set CODEX_BIN to the build directory that holds the codex tools}"
CODEX_SOURCE=${CODEX_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
MAN_DIR=${MAN_DIR:-$CODEX_SOURCE/man}
COMPLETIONS_DIR=${COMPLETIONS_DIR:-$CODEX_SOURCE/completions}
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
NAME=docs_consistency

step() { printf '%s: %s\n' "$NAME" "$*"; }

FAILURES=0
problem() {
  printf '%s: FAIL: %s\n' "$NAME" "$*" >&2
  FAILURES=$((FAILURES + 1))
}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/codex-docs.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT

# The tools: CODEX_TOOLS in CMakeLists.txt, those that have a source file (as
# CMake decides what to build).
TOOLS=()
# shellcheck disable=SC2013 # tool names are words
for tool in $(sed -n 's/^set(CODEX_TOOLS \(.*\))$/\1/p' "$CODEX_SOURCE/CMakeLists.txt"); do
  [[ -e $CODEX_SOURCE/tools/$tool.cpp ]] && TOOLS+=("$tool")
done
((${#TOOLS[@]} > 0)) || { problem "no tools found in CODEX_TOOLS of $CODEX_SOURCE/CMakeLists.txt"; exit 1; }
for tool in "${TOOLS[@]}"; do
  [[ -x $CODEX_BIN/$tool ]] || { problem "tool '$tool' is not built (CODEX_BIN=$CODEX_BIN)"; exit 1; }
done

# help_entries TOOL: one line per option of TOOL --help, its names separated
# by spaces as --help groups them ("-o --output", "--json").
help_entries() {
  "$CODEX_BIN/$1" --help | awk '/^  -/ { gsub(",", " ", $1); print $1 }'
}

# man_section FILE TITLE: the lines of section TITLE (.SH TITLE or .SH "TITLE").
man_section() {
  awk -v title="$2" '
    /^\.SH / { name = substr($0, 5); gsub(/"/, "", name); inside = (name == title); next }
    inside { print }' "$1"
}

# roff_plain: roff text with font escapes and hyphen escapes removed.
roff_plain() {
  sed -E 's/\\-/-/g; s/\\f(\[[^]]*\]|\(..|.)//g; s/\\&//g; s/\\\(aq/'"'"'/g'
}

# man_tags FILE: the .TP tags of the OPTIONS section that name options, one
# line per tag, the names separated by spaces ("-o --output").
man_tags() {
  man_section "$1" OPTIONS | awk 'after_tp { print; after_tp = 0; next } /^\.TP/ { after_tp = 1 }' |
    roff_plain | sed -E 's/^\.[A-Z]+ +//; s/"//g' |
    awk '{ out = ""
           for (i = 1; i <= NF; i++) {
             word = $i; sub(/,$/, "", word)
             if (word == "") continue
             if (word ~ /^--?[A-Za-z0-9?]/) out = out (out == "" ? "" : " ") word
             else break
           }
           if (out != "") print out }'
}

# tokens FILE: the words of a bash or zsh completion script, split at spaces,
# quotes and the punctuation around option names ("--output[", "|-o)").
tokens() { tr -s " \t'\"|()[]:=\\\\" '\n' <"$1"; }

# fish_names FILE: the options a fish script completes: "-s o" is -o, "-l output" --output.
fish_names() {
  awk '$1 == "complete" { for (i = 2; i < NF; i++) {
         if ($i == "-s" || $i == "-o") print "-" $(i + 1)
         else if ($i == "-l") print "--" $(i + 1) } }' "$1"
}

# in_list WORD LIST: LIST (one word a line) holds WORD.
in_list() { [[ $'\n'$2$'\n' == *$'\n'"$1"$'\n'* ]]; }

# --- options: --help against the man page and the completions ---------------
for tool in "${TOOLS[@]}"; do
  page=$MAN_DIR/$tool.1
  entries=$(help_entries "$tool")
  [[ -n $entries ]] || problem "$tool: no options found in its --help (has the CLI11 format changed?)"
  grep -q -- '--help' <<<"$entries" || problem "$tool: --help does not list -h,--help (has the CLI11 format changed?)"
  [[ -f $page ]] || { problem "$tool: man page '$page' is missing"; continue; }

  # A tag names the same options as its --help line, in the same order.
  tags=$(man_tags "$page")
  declare -A man_group=()
  while read -r tag; do
    [[ -z $tag ]] && continue
    for name in $tag; do man_group[$name]=$tag; done
  done <<<"$tags"
  bash_file=$COMPLETIONS_DIR/bash/$tool
  zsh_file=$COMPLETIONS_DIR/zsh/_$tool
  fish_file=$COMPLETIONS_DIR/fish/$tool.fish
  bash_words="" zsh_words="" fish_words=""
  [[ -f $bash_file ]] && bash_words=$(tokens "$bash_file")
  [[ -f $zsh_file ]] && zsh_words=$(tokens "$zsh_file")
  [[ -f $fish_file ]] && fish_words=$(fish_names "$fish_file")
  declare -A in_help=()
  while read -r entry; do
    [[ -z $entry ]] && continue
    for name in $entry; do
      in_help[$name]=1
      if [[ -z ${man_group[$name]:-} ]]; then
        problem "$tool: option '$name' (--help: '${entry// /,}') is missing from the OPTIONS of $page"
      elif [[ ${man_group[$name]} != "$entry" ]]; then
        problem "$tool: $page has the tag '${man_group[$name]}' where --help has '${entry// /,}'"
      fi
      [[ -f $bash_file ]] && ! in_list "$name" "$bash_words" && problem "$tool: option '$name' is missing from $bash_file"
      [[ -f $zsh_file ]] && ! in_list "$name" "$zsh_words" && problem "$tool: option '$name' is missing from $zsh_file"
      [[ -f $fish_file ]] && ! in_list "$name" "$fish_words" && problem "$tool: option '$name' is missing from $fish_file"
    done
  done <<<"$entries"
  for name in "${!man_group[@]}"; do
    [[ -n ${in_help[$name]:-} ]] || problem "$tool: $page documents option '$name', which '$tool --help' does not list (stale?)"
  done
  unset man_group in_help

  for file in "$COMPLETIONS_DIR/bash/$tool" "$COMPLETIONS_DIR/zsh/_$tool" "$COMPLETIONS_DIR/fish/$tool.fish"; do
    [[ -f $file ]] || problem "$tool: completion script '$file' is missing (run scripts/gen-completions.sh)"
  done

  man_plain=$(roff_plain <"$page")
  grep -q "^$tool - " <<<"$man_plain" || problem "$tool: NAME of $page does not start '$tool \\- '"
  for section in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" ENVIRONMENT FILES EXAMPLES "SEE ALSO"; do
    grep -Eq "^\.SH \"?$section\"?$" "$page" || problem "$tool: $page has no $section section"
  done
done
step "options of ${#TOOLS[@]} tools checked against man pages and completions"

# --- exit status: codes 0-9 and their names, the same text in every page -----
declare -A code_name=()
if [[ -f $CODEX_SOURCE/docs/exit-codes.md ]]; then
  while read -r code name; do code_name[$code]=$name; done < <(
    sed -nE 's/^\| *([0-9]+) *\| *([a-z-]+) *\|.*/\1 \2/p' "$CODEX_SOURCE/docs/exit-codes.md")
fi
first_exit="" first_page=""
for tool in "${TOOLS[@]}"; do
  page=$MAN_DIR/$tool.1
  [[ -f $page ]] || continue
  section=$(man_section "$page" "EXIT STATUS")
  [[ -n $section ]] || { problem "$tool: $page has an empty EXIT STATUS"; continue; }
  # entries: "CODE first words of the text" per .TP tag
  entries=$(awk 'after_tp { tag = $0; sub(/^\.B +/, "", tag); after_tp = 0; getline text; print tag, text; next }
                 /^\.TP/ { after_tp = 1 }' <<<"$section" | roff_plain)
  for code in 0 1 2 3 4 5 6 7 8 9; do
    line=$(grep -E "^$code " <<<"$entries" || true)
    if [[ -z $line ]]; then
      problem "$tool: EXIT STATUS of $page does not list exit code $code"
    elif [[ -n ${code_name[$code]:-} && $line != *"${code_name[$code]}"* ]]; then
      problem "$tool: EXIT STATUS of $page does not call code $code '${code_name[$code]}' (docs/exit-codes.md)"
    fi
  done
  while read -r code _; do
    [[ -z $code || -n ${code_name[$code]:-} || ${#code_name[@]} == 0 ]] ||
      problem "$tool: EXIT STATUS of $page lists code '$code', which docs/exit-codes.md does not have"
  done <<<"$entries"
  if [[ -z $first_exit ]]; then
    first_exit=$section first_page=$page
  elif [[ $section != "$first_exit" ]]; then
    problem "$tool: EXIT STATUS of $page differs from that of $first_page (keep one text in every page)"
  fi
done
step "exit status sections checked"

# --- the overview page ---------------------------------------------------------
overview=$MAN_DIR/codex-tools.7
if [[ -f $overview ]]; then
  for tool in "${TOOLS[@]}"; do
    grep -qxF ".BR ${tool//-/\\-} (1)" "$overview" ||
      problem "$overview does not mention $tool(1)"
  done
else
  problem "overview page '$overview' is missing"
fi

# --- rendering -----------------------------------------------------------------
if command -v groff >/dev/null; then
  for page in "$MAN_DIR"/*.[17]; do
    warnings=$(groff -man -ww -z "$page" 2>&1 || true)
    [[ -z $warnings ]] || problem "groff warns about $page: $warnings"
  done
  step "man pages render without warnings"
else
  step "groff not installed: rendering not checked"
fi

# --- completions: what the tools print now, and that they parse ---------------
# (The self-test runs reuse the completions generated by the first run.)
generated=${DOCS_GENERATED:-$SCRATCH/generated}
if [[ -n ${DOCS_GENERATED:-} ]] || "$CODEX_SOURCE/scripts/gen-completions.sh" "$CODEX_BIN" "$generated" 2>"$SCRATCH/gen.log"; then
  for tool in "${TOOLS[@]}"; do
    for rel in "bash/$tool" "zsh/_$tool" "fish/$tool.fish"; do
      if [[ -f $COMPLETIONS_DIR/$rel ]] && ! cmp -s "$generated/$rel" "$COMPLETIONS_DIR/$rel"; then
        problem "$tool: $COMPLETIONS_DIR/$rel differs from what '$tool --completions ${rel%%/*}' prints (run scripts/gen-completions.sh):"
        diff -u "$COMPLETIONS_DIR/$rel" "$generated/$rel" | head -20 | sed 's/^/    /' >&2 || true
      fi
    done
  done
else
  sed 's/^/    /' "$SCRATCH/gen.log" >&2
  problem "scripts/gen-completions.sh failed"
fi
for tool in "${TOOLS[@]}"; do
  file=$COMPLETIONS_DIR/bash/$tool
  [[ -f $file ]] || continue
  bash -c 'source "$1" && complete -p "$2"' _ "$file" "$tool" >/dev/null 2>"$SCRATCH/bash.err" ||
    problem "$tool: sourcing $file does not register a completion: $(cat "$SCRATCH/bash.err")"
done
for shell in zsh fish; do
  if command -v "$shell" >/dev/null; then
    for tool in "${TOOLS[@]}"; do
      file=$COMPLETIONS_DIR/$shell/$([[ $shell == zsh ]] && echo "_$tool" || echo "$tool.fish")
      [[ -f $file ]] || continue
      "$shell" -n "$file" 2>"$SCRATCH/$shell.err" || problem "$tool: '$shell -n $file' fails: $(cat "$SCRATCH/$shell.err")"
    done
  else
    step "$shell not installed: its completion syntax not checked"
  fi
done
step "completions checked"

if ((FAILURES > 0)); then
  printf '%s: %d problem(s)\n' "$NAME" "$FAILURES" >&2
  exit 1
fi

# --- self-test: broken copies of the docs must fail, naming what is wrong ------
if [[ ${DOCS_SELF_TEST:-1} != 0 ]]; then
  # expect_failure WHAT PATTERN: the check run on $SCRATCH/man and
  # $SCRATCH/completions fails with a message matching PATTERN (grep -E).
  expect_failure() {
    local out=0
    DOCS_SELF_TEST=0 DOCS_GENERATED=$generated MAN_DIR=$SCRATCH/man COMPLETIONS_DIR=$SCRATCH/completions \
      bash "$SELF" >/dev/null 2>"$SCRATCH/self.err" || out=$?
    if [[ $out == 0 ]]; then
      printf '%s: FAIL: self-test: the check passed with %s\n' "$NAME" "$1" >&2
      exit 1
    fi
    if ! grep -Eq -- "$2" "$SCRATCH/self.err"; then
      sed 's/^/    /' "$SCRATCH/self.err" >&2
      printf '%s: FAIL: self-test: with %s, no message matches /%s/\n' "$NAME" "$1" "$2" >&2
      exit 1
    fi
  }
  fresh_copy() {
    rm -rf "$SCRATCH/man" "$SCRATCH/completions"
    cp -r "$MAN_DIR" "$SCRATCH/man"
    cp -r "$COMPLETIONS_DIR" "$SCRATCH/completions"
  }
  # An option of some tool with a long name; -o,--output and --json are both common.
  tool=${TOOLS[0]}
  long=$(help_entries "$tool" | tr ' ' '\n' | grep -E '^--' | grep -vxE -- '--help|--version' | head -1)
  escaped=${long//-/\\\\-}  # \\-\\-output: awk -v and sed each undo one level

  fresh_copy
  # drop the .TP entry whose tag names $long: the tag line and the .TP before it
  awk -v pat="$escaped" '/^\.TP/ { held = $0; next }
       held != "" { if (index($0, pat) == 0) { print held; print } ; held = ""; next } { print }' \
    "$MAN_DIR/$tool.1" >"$SCRATCH/man/$tool.1"
  expect_failure "'$long' removed from man/$tool.1" "$tool: option '$long' .* missing from the OPTIONS"

  fresh_copy
  sed -i 's/^\.SH OPTIONS$/.SH OPTIONS\n.TP\n\\fB\\-\\-no\\-such\\-option\\fR\nStale./' "$SCRATCH/man/$tool.1"
  expect_failure "a stale option in man/$tool.1" "$tool: .* documents option '--no-such-option'"

  fresh_copy
  sed -i "s/$escaped/\\\\-\\\\-renamed/" "$SCRATCH/man/$tool.1"
  expect_failure "'$long' renamed in man/$tool.1" "$tool: option '$long' .* missing"

  fresh_copy
  sed -i '/^\.B 7$/,+1d' "$SCRATCH/man/$tool.1"
  expect_failure "exit code 7 dropped from man/$tool.1" "$tool: EXIT STATUS .* does not list exit code 7"

  fresh_copy
  sed -i "s/ $long / /g; s/ $long'/'/g; s/|$long|/|/g; s/$long|//g" "$SCRATCH/completions/bash/$tool"
  expect_failure "'$long' removed from completions/bash/$tool" "$tool: option '$long' is missing from .*/bash/$tool"

  fresh_copy
  sed -i "/ -l ${long#--} /d" "$SCRATCH/completions/fish/$tool.fish"
  expect_failure "'$long' removed from completions/fish/$tool.fish" "$tool: option '$long' is missing from .*fish"

  fresh_copy
  printf '# edited by hand\n' >>"$SCRATCH/completions/zsh/_$tool"
  expect_failure "completions/zsh/_$tool edited by hand" "$tool: .*zsh/_$tool differs from what"
  step "self-test: each broken copy of the docs fails the check"
fi
step "ok"
