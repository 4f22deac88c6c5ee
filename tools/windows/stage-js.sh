#!/usr/bin/env bash
# Compiles the packages the Windows suite runs (@shm/native, core, serializer-msgpack, tied) with tsc to plain JS and
# lays them out as a node_modules tree that node.exe resolves on its own: <out>/node_modules/@shm/<pkg>/dist, plus the
# pure-JS msgpackr that @shm/serializer-msgpack needs (copied from the workspace install; its optional native
# accelerator is Linux-built and not copied, so msgpackr runs in JS), and core's conformance suite compiled beside its
# dist (stage-conformance.mjs). Usage: stage-js.sh <out>.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:?usage: stage-js.sh <out>}"
tsc="$root/node_modules/.bin/tsc"
rm -rf "$out"
mkdir -p "$out/node_modules/@shm"
pids=()
for pkg in native core serializer-msgpack tied; do
  dest="$out/node_modules/@shm/$pkg"
  mkdir -p "$dest"
  printf '{ "name": "@shm/%s", "type": "module", "main": "./dist/index.js", "exports": { ".": "./dist/index.js" } }\n' \
    "$pkg" >"$dest/package.json"
  "$tsc" -p "$root/packages/$pkg/tsconfig.build.json" --outDir "$dest/dist" --declaration false --sourceMap false &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
# The platform conformance suite of @shm/core, on node:test shims (packages/core/test-win32/conformance.test.mjs).
node "$here/stage-conformance.mjs" "$out"
msgpackr="$(readlink -f "$root/packages/serializer-msgpack/node_modules/msgpackr")"
cp -rL "$msgpackr" "$out/node_modules/msgpackr"
rm -rf "$out/node_modules/msgpackr/node_modules"
