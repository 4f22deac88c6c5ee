#!/usr/bin/env bash
# The release path (RELEASING.md): builds every package and every prebuilt binary, checks the packages as a user
# installs them (tools/pack-check), then runs `pnpm publish -r`, which prints each tarball's files and size.
# Usage: tools/scripts/release.sh --dry-run | --publish
#   --dry-run   everything but the upload (pnpm publish -r --dry-run)
#   --publish   uploads with `pnpm changeset publish` (pnpm publish per package, plus git tags)
set -euo pipefail
cd "$(dirname "$0")/../.."
mode="${1:-}"
case "$mode" in --dry-run | --publish) ;; *) echo "usage: $0 --dry-run | --publish" >&2; exit 2 ;; esac
say() { printf '\033[1m[release]\033[0m %s\n' "$*"; }

if ls .changeset/*.md >/dev/null 2>&1 && [ "$(ls .changeset/*.md | grep -vc README)" -gt 0 ]; then
  say "warning: .changeset/ still holds changesets: run 'pnpm release:version' and commit first"
  [ "$mode" = --dry-run ] || exit 1
fi
say "installing and building every package"
pnpm install --frozen-lockfile --reporter=silent
pnpm build >/dev/null
say "building every prebuilt binary"
bash tools/prebuild/build.sh linux-x64-glibc linux-arm64-glibc win32-x64
say "checking the packages as published (tools/pack-check)"
pnpm --filter @shm/pack-check check >/tmp/shm-release-pack-check.log 2>&1 ||
  { tail -50 /tmp/shm-release-pack-check.log; say "pack-check failed (log: /tmp/shm-release-pack-check.log)"; exit 1; }
say "pack-check passed"
if [ "$mode" = --dry-run ]; then
  pnpm publish -r --dry-run --no-git-checks
else
  pnpm changeset publish
fi
