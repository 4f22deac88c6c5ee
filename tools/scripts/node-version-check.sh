#!/usr/bin/env bash
# Proves that the one linux prebuilt binary @shm/native ships (prebuilds/linux-<arch>/shm_native.napi.glibc.node,
# built by tools/prebuild/build.sh) loads and passes the @shm/native and @shm/core suites under every Node major
# the package supports: Node-API is ABI-stable, so the same file must work unchanged. Each official binary comes
# from the npm package node-linux-<arch>@<major> (cached under node_modules/.cache/shm-node); vitest and every
# peer process run on it (they use process.execPath), with SHM_NATIVE_PATH naming the prebuild, so no other
# binary can stand in for it. The exit code is the result; nothing is skipped silently.
#
# Usage: tools/scripts/node-version-check.sh [major ...]   (default: 20 22 24 26)
#   SHM_NODE_BIN=/path/to/node   use this binary instead of downloading one (with a single major)
#   SHM_NODE_CACHE=dir           where downloaded Node binaries are kept (default node_modules/.cache/shm-node)
# Closes with "node-versions: N passed, M failed".
set -euo pipefail

majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(20 22 24 26)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${SHM_NODE_CACHE:-$root/node_modules/.cache/shm-node}"

fail() {
  echo "node-version-check: FAIL: $*" >&2
  exit 1
}

[ "$(uname -s)" = Linux ] || fail "only Linux is supported (the npm package is node-linux-<arch>)"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) fail "no node-linux package for $(uname -m)" ;;
esac
addon="$root/packages/native/prebuilds/linux-$arch/shm_native.napi.glibc.node"
[ -f "$addon" ] || bash "$root/tools/prebuild/build.sh" "linux-$arch-glibc"

node_for() {
  local major="$1" dir="$cache/node-linux-$arch-$major"
  if [ -n "${SHM_NODE_BIN:-}" ]; then echo "$SHM_NODE_BIN"; return; fi
  if [ ! -x "$dir/package/bin/node" ]; then
    echo "node-version-check: fetching node-linux-$arch@$major from the npm registry" >&2
    mkdir -p "$dir"
    local tgz
    tgz="$(cd "$dir" && npm pack "node-linux-$arch@$major" --silent 2>/dev/null | tail -n 1)"
    [ -f "$dir/$tgz" ] || fail "npm pack node-linux-$arch@$major produced no tarball"
    tar -xzf "$dir/$tgz" -C "$dir" package/bin/node package/LICENSE
    rm -f "$dir/$tgz"
  fi
  echo "$dir/package/bin/node"
}

passed=0 failed=0 status=0
for major in "${majors[@]}"; do
  node_bin="$(node_for "$major")"
  [ -x "$node_bin" ] || fail "$node_bin is not an executable Node binary"
  got="$("$node_bin" -p 'process.versions.node')"
  [ "${got%%.*}" = "$major" ] || fail "$node_bin is Node $got, not Node $major"
  echo "node-version-check: Node $got (Node-API $("$node_bin" -p process.versions.napi)) with ${addon#"$root"/}"
  # 1. The very file loads: require it directly, bypassing the loader.
  "$node_bin" -e '
    const b = require(process.argv[1]);
    if (typeof b.mmap !== "function" || !b.features || b.features.platform !== "linux") throw new Error("unexpected exports");
  ' "$addon" || fail "Node $got cannot load $addon"
  # 2. The native and core suites, everything on that Node, the prebuild the only binary allowed.
  for pkg in native core; do
    results="$root/packages/$pkg/.tmp/node-$major-results.json"
    rm -f "$results"
    set +e
    (cd "$root/packages/$pkg" && SHM_NATIVE_PATH="$addon" "$node_bin" node_modules/vitest/vitest.mjs run \
      --reporter=dot --reporter=json --outputFile.json="$results")
    rc=$?
    set -e
    p=0 f=1
    [ -f "$results" ] && read -r p f < <(node -p "const r = require('$results'); r.numPassedTests + ' ' + (r.numFailedTests + r.numPendingTests)")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    echo "node-version-check: Node $got, @shm/$pkg: $p passed, $f failed or skipped (exit $rc)"
    passed=$((passed + p)) failed=$((failed + f))
    [ "$f" -eq 0 ] && [ "$p" -gt 0 ] || status=1
  done
done
echo "node-versions: $passed passed, $failed failed"
exit $status
