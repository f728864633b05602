#!/usr/bin/env bash
# Installs what codex-tools needs to build and test, from Debian 12 packages
# (python3, sqlite3, xxd: the CLI scenarios; strace: tests/cli/outputs.sh
# checks that -o does not fsync without --sync; bc, time: the benchmarks;
# libasio-dev: standalone Asio, the event loop of net/; spin: the model
# checks of tests/spin).
# liberasurecode only *suggests* its fast backends: libisal2 and libjerasure2
# are named explicitly, or the coder silently falls back to the slow one.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libcli11-dev libfmt-dev libsqlite3-dev libssl-dev
  liberasurecode-dev libisal2 libjerasure2
  libgtest-dev nlohmann-json3-dev
  libxxhash-dev
  sqlite3 openssl xxd python3 bc time
  strace
  libasio-dev
  spin
)
# The js-libp2p interop test needs Node.js and npm (any version: it fetches
# a newer Node from npm when the system one is too old); keep one already there.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
