# The project stands on its own: nothing in it points outside the clone
# (../shared, ../spec), every docs/ file the README, ARCHITECTURE.md, man
# pages, sources and scripts name exists, every file, type and function
# ARCHITECTURE.md names exists, `cmake --install` puts docs/ where
# the man pages say (share/doc/codex-tools), and the libraries the build links
# or the tests include are the ones declared (nlohmann-json declared because
# tests use it; zstd not linked unless some source uses it).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1
SRC=$(cd "$CODEX_SOURCE" && pwd)
cd "$SRC"
files() {  # the project's own text files (not the build, not git's)
  find . \( -path ./build -o -path './build-*' -o -path ./.git -o -name node_modules \) -prune -o -type f \
    \( -name '*.md' -o -name '*.hpp' -o -name '*.cpp' -o -name '*.sh' -o -name '*.txt' -o -name '*.[17]' \
       -o -name '*.json' -o -path './completions/*' \) -print
}

step "no reference to files outside the clone"
outside=$(files | xargs grep -nE '\.\./(shared|spec)/' 2>/dev/null | grep -v '^./tests/cli/self_contained.sh:' || true)
[[ -z $outside ]] || fail "references to files outside the project: $outside"

# (The data path's files: the network half's folders name documents their
# owners are still writing.)
step "every docs/*.md that README, ARCHITECTURE.md, man pages, libcore, tools and scripts name exists"
missing=""
while read -r name; do
  [[ -f $name ]] || missing+=" $name"
done < <(files | grep -E '^\./(README\.md|ARCHITECTURE\.md|man/|libcore/|tools/|scripts/)' |
  xargs grep -ohE 'docs/[a-z0-9_\\-]+\.md' 2>/dev/null | sed 's/\\-/-/g' | sort -u)
[[ -z $missing ]] || fail "named but missing:$missing"
[[ -f docs/codex-formats.md && -f ARCHITECTURE.md ]] || fail "docs/codex-formats.md or ARCHITECTURE.md is missing"

step "ARCHITECTURE.md names only files, types and functions that exist"
stale=""
while read -r name; do
  case $name in
    */*) compgen -G "$name" >/dev/null ||                                          # a path (globs allowed),
         [[ -n $(find . -path ./build -prune -o -path "*/${name%/}" -print -quit) ]] || # or its tail (codex/x.hpp)
         stale+=" $name" ;;
    *.hpp | *.cpp | *.sh | *.md) [[ -n $(find . -path ./build -prune -o -name "$name" -print -quit) ]] || stale+=" $name" ;;
    *) grep -rqwF -- "${name##*::}" libcore daemon net protocol sim tools || stale+=" $name" ;;  # Type, Type::member, snake_case
  esac
done < <(grep -v '^```' ARCHITECTURE.md | grep -oE '`[^`]+`' | tr -d '`' | sed -E 's/\(\)$//' |
  grep -E '^([a-z]+/[A-Za-z0-9_./*-]*|[A-Za-z0-9_*-]+\.(hpp|cpp|sh|md)|[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)*)$' |
  grep -E '/|\.|_|::|[A-Z]' | grep -v '^/' | sort -u)
[[ -z $stale ]] || fail "ARCHITECTURE.md names what the code does not have:$stale"

step "cmake --install puts the docs where the man pages say"
cmake --install "$CODEX_BIN" --prefix "$TEST_TMP/prefix" >"$TEST_TMP/install.log" 2>&1 ||
  fail "cmake --install failed: $(tail -5 "$TEST_TMP/install.log")"
for doc in docs/*.md; do
  [[ -f $TEST_TMP/prefix/share/doc/codex-tools/$(basename "$doc") ]] || fail "cmake --install did not install $doc"
done
[[ -f $TEST_TMP/prefix/share/doc/codex-tools/ARCHITECTURE.md ]] || fail "ARCHITECTURE.md is not installed"
grep -q 'share/doc/codex\\-tools' man/codex-tools.7 || fail "codex-tools(7) does not say where the docs are installed"
[[ -f $TEST_TMP/prefix/share/man/man1/codex-repo.1 ]] || fail "codex-repo(1) is not installed"

step "declared dependencies: what the tests include and the build links"
cmake_files=$(find . \( -path ./build -o -path './build-*' -o -path ./.git -o -name node_modules \) -prune -o \
  -name CMakeLists.txt -print)
sources() { files | grep -E '\.(cpp|hpp)$' | grep -v '^\./tests/'; }
if grep -rlq 'nlohmann/json.hpp' tests; then
  grep -q 'find_package(nlohmann_json' tests/CMakeLists.txt || fail "tests include nlohmann/json.hpp but tests/CMakeLists.txt does not find_package it"
  grep -q 'nlohmann-json3-dev' scripts/install-deps.sh || fail "install-deps.sh does not install nlohmann-json3-dev"
fi
# Outside tests/ (built with CODEX_BUILD_TESTS=OFF too), the library the
# sources include is found outside tests/CMakeLists.txt.
if sources | xargs grep -lq 'nlohmann/json.hpp' 2>/dev/null; then
  grep -l 'find_package(nlohmann_json' $cmake_files | grep -qv '^\./tests/' ||
    fail "sources outside tests/ include nlohmann/json.hpp but only tests/CMakeLists.txt finds it"
fi
# zstd: linked only if some source uses it (the decision, not used, is in docs/performance.md).
if grep -qiE 'zstd' $cmake_files; then
  sources | xargs grep -lq 'zstd.h' 2>/dev/null || fail "a CMakeLists.txt links zstd, which no source uses"
  grep -q 'libzstd-dev' scripts/install-deps.sh || fail "zstd is linked but install-deps.sh does not install libzstd-dev"
fi
grep -q '^## Compression (zstd)' docs/performance.md || fail "docs/performance.md does not say whether zstd is used"
step "ok"
