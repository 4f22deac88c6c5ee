#!/usr/bin/env bash
# The Windows job, called from .ci/run after `pnpm install`: cross-builds @shm/native with MinGW-w64 and runs the
# native, core and tied suites (packages/*/test-win32) under Wine with the Windows node.exe 20 and 22 (a few minutes
# with warm caches; apt adds about 30 s the first time). Ends with "windows: N passed, M failed"; exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash tools/windows/run-tests.sh 20 22
