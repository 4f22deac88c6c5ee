#!/usr/bin/env bash
# Cross-builds the @shm/native addon for Windows x64 with MinGW-w64 (see docs/decisions/0002-windows-under-wine.md).
# Output: tools/windows/.cache/build-win32/shm_native.node (or $1; .cache is git-ignored); tools/prebuild/build.sh
# win32-x64 strips it into packages/native/prebuilds/win32-x64/, the binary the package ships. Sources: binding.gyp's common list + its OS=='win'
# block, so the two builds cannot drift. Needs x86_64-w64-mingw32-g++-posix (tools/windows/run-tests.sh installs it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
native="$root/packages/native"
out="${1:-$here/.cache/build-win32}"
cache="$here/.cache"
headers_version="${NODE_API_HEADERS_VERSION:-1.9.0}"
cxx="${CXX_WIN32:-x86_64-w64-mingw32-g++-posix}"
dlltool="${DLLTOOL_WIN32:-x86_64-w64-mingw32-dlltool}"
mkdir -p "$cache" "$out/obj"

# Node-API headers and the .def of node.exe's exports come from the npm package node-api-headers.
hdr="$cache/node-api-headers-$headers_version"
if [ ! -f "$hdr/def/node_api.def" ]; then
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-api-headers@$headers_version" >/dev/null && tar xzf node-api-headers-*.tgz)
  rm -rf "$hdr" && mv "$tmp/package" "$hdr" && rm -rf "$tmp"
fi
if [ ! -f "$cache/libnode-$headers_version.a" ]; then
  "$dlltool" -d "$hdr/def/node_api.def" -l "$cache/libnode-$headers_version.a" -D node.exe
fi
addon_api="$(cd "$native" && node -p "require('path').resolve(require('node-addon-api').include_dir)")"

mapfile -t sources < <(node -e '
  const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).targets[0];
  const win = t.conditions.find(([c]) => c === "OS==\x27win\x27")[1];
  for (const s of [...t.sources, ...win.sources]) console.log(s);' "$native/binding.gyp")

flags=(-std=c++17 -O2 -fexceptions -Wall -Wextra -Wno-unused-parameter -Wno-cast-function-type
  -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED -DNAPI_CPP_EXCEPTIONS -D_WIN32_WINNT=0x0A00
  -I"$native/cpp" -I"$hdr/include" -I"$addon_api")
objs=()
pids=()
for s in "${sources[@]}"; do
  o="$out/obj/$(echo "$s" | tr '/' '_').o"
  objs+=("$o")
  if [ ! -f "$o" ] || [ "$native/$s" -nt "$o" ] || [ -n "$(find "$native/cpp" -name '*.h' -newer "$o" | head -1)" ]; then
    "$cxx" "${flags[@]}" -c "$native/$s" -o "$o" &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
"$cxx" -shared -static -static-libgcc -static-libstdc++ -o "$out/shm_native.node" "${objs[@]}" \
  "$cache/libnode-$headers_version.a"
echo "built $out/shm_native.node"
