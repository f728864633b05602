#!/usr/bin/env bash
# Regenerates the committed shell completions from the built tools, so that
# completions come from the same CLI11 option tables as --help:
#
#   scripts/gen-completions.sh [BUILD_DIR] [OUT_DIR]
#
# BUILD_DIR holds the built tools (default: $CODEX_BIN, else build/); OUT_DIR
# receives bash/<tool>, zsh/_<tool> and fish/<tool>.fish (default:
# completions/ of the source tree). Run it after changing any tool's options
# and commit the result; tests/cli/docs_consistency.sh fails when the
# committed files differ from what the tools print.
set -euo pipefail

SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-${CODEX_BIN:-$SOURCE/build}}
OUT_DIR=${2:-$SOURCE/completions}
# The tools: CODEX_TOOLS in CMakeLists.txt, those that have a source file (as
# CMake decides what to build), so a new tool needs no change here.
TOOLS=()
# shellcheck disable=SC2013 # tool names are words
for tool in $(sed -n 's/^set(CODEX_TOOLS \(.*\))$/\1/p' "$SOURCE/CMakeLists.txt"); do
  [[ -e $SOURCE/tools/$tool.cpp ]] && TOOLS+=("$tool")
done
SHELLS=(bash zsh fish)

die() {
  printf 'gen-completions: error: %s\n' "$*" >&2
  exit 1
}

# Where each shell looks for a command's completion, relative to OUT_DIR.
target() {
  case $2 in
    bash) printf 'bash/%s' "$1" ;;
    zsh) printf 'zsh/_%s' "$1" ;;
    fish) printf 'fish/%s.fish' "$1" ;;
  esac
}

# The first line each generator writes; anything else is not a completion
# script (an error message, a help text) and must not be committed.
header_pattern() {
  case $1 in
    bash) printf '^# bash completion for %s ' "$2" ;;
    zsh) printf '^#compdef %s$' "$2" ;;
    fish) printf '^# fish completion for %s ' "$2" ;;
  esac
}

# completion_of TOOL_PATH SHELL: the script the tool prints. CLI11 checks
# required options before the tool sees --completions, so a tool with required
# options or arguments (codex-get CID, codex-encode -k/-m) refuses a bare
# `--completions SHELL`; then each REQUIRED item of --help gets a placeholder
# value, which the tool never looks at since it exits after printing.
completion_of() {
  local tool=$1 shell=$2 line name
  if "$tool" --completions "$shell" 2>/dev/null; then return 0; fi
  local args=()
  while IFS= read -r line; do
    [[ $line == *' REQUIRED'* ]] || continue
    name=$(sed -E 's/^ +//; s/[ ,].*//' <<<"$line")
    if [[ $name == -* ]]; then
      args+=("$name" 1)  # an option: -k 1
    else
      args+=(1)          # a positional argument
    fi
  done < <("$tool" --help)
  ((${#args[@]} > 0)) || return 1
  "$tool" --completions "$shell" "${args[@]}"
}

((${#TOOLS[@]} > 0)) || die "no tools found in CODEX_TOOLS of '$SOURCE/CMakeLists.txt'"
[[ -d $BUILD_DIR ]] || die "build directory '$BUILD_DIR' does not exist (give it as the first argument)"
missing=()
for tool in "${TOOLS[@]}"; do
  [[ -x $BUILD_DIR/$tool ]] || missing+=("$tool")
done
((${#missing[@]} == 0)) || die "not built in '$BUILD_DIR': ${missing[*]}"

# Generate everything into a scratch directory first, so that a tool that
# fails half-way leaves the committed files as they were.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/gen-completions.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
for shell in "${SHELLS[@]}"; do
  mkdir -p "$scratch/$shell"
  for tool in "${TOOLS[@]}"; do
    file=$scratch/$(target "$tool" "$shell")
    completion_of "$BUILD_DIR/$tool" "$shell" >"$file" ||
      die "'$tool --completions $shell' failed"
    head -n 1 "$file" | grep -Eq "$(header_pattern "$shell" "$tool")" ||
      die "'$tool --completions $shell' printed something other than a $shell completion script"
  done
done

changed=0
for shell in "${SHELLS[@]}"; do
  mkdir -p "$OUT_DIR/$shell"
  for tool in "${TOOLS[@]}"; do
    rel=$(target "$tool" "$shell")
    if ! cmp -s "$scratch/$rel" "$OUT_DIR/$rel"; then
      cp "$scratch/$rel" "$OUT_DIR/$rel"
      printf 'gen-completions: wrote %s\n' "$OUT_DIR/$rel" >&2
      changed=$((changed + 1))
    fi
  done
done
printf 'gen-completions: %d of %d files changed in %s\n' "$changed" $((${#TOOLS[@]} * ${#SHELLS[@]})) "$OUT_DIR" >&2
