#!/usr/bin/env bash
# Sets up everything the project needs on a fresh Debian/Ubuntu machine with only Node >= 20 and npm:
# pnpm, the Perl modules the interop tests and benchmarks run against, redis-server (the side-by-side benchmark
# and its test start one), the dependencies and the native addon.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

node -e 'const [a]=process.versions.node.split(".").map(Number); if (a < 20) { console.error("Node >= 20 is required, found " + process.version); process.exit(1) }'

# Build the addon against the local Node headers (no download needed).
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_api.h ]; then export npm_config_nodedir=/usr; fi

if ! command -v pnpm >/dev/null 2>&1; then
  say "installing pnpm"
  npm install -g pnpm@10 >/dev/null 2>&1 || {
    say "npm could not install pnpm globally; trying corepack"
    COREPACK_INTEGRITY_KEYS=0 corepack enable pnpm
  }
fi

missing=()
perl -MIPC::ShareLite -e1 2>/dev/null || missing+=(libipc-sharelite-perl)
perl -MIPC::Shareable -e1 2>/dev/null || missing+=(libipc-shareable-perl)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} (the real Perl modules the interop tests talk to; Redis for tools/bench)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "warning: ${missing[*]} missing and not root: the Perl interop and tools/bench tests will fail (sudo apt-get install ${missing[*]})"
  fi
fi

say "installing dependencies and building the native addon"
pnpm install --frozen-lockfile --reporter=silent
pnpm --filter @shm/native build >/dev/null
say "ready"
