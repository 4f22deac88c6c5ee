#!/usr/bin/env bash
# Builds the prebuilt @shm/native binaries that the package ships (docs/decisions/0003-prebuilt-binaries.md) into
# packages/native/prebuilds/<platform>-<arch>/shm_native.napi[.<libc>].node, where the loader (src/binding.ts)
# finds them at run time. One Node-API build per target serves every Node >= 20.5.
#
# Usage: tools/prebuild/build.sh [target ...]   (default: every target this machine can build)
#   linux-x64-glibc    the host g++ (Debian 12: glibc 2.36 headers, but see "needs glibc" in the output)
#   linux-arm64-glibc  Debian's cross compiler g++-aarch64-linux-gnu
#   win32-x64          MinGW-w64 (tools/windows/build.sh, the same build the Wine suite tests)
#   linux-x64-musl     not buildable here: Debian has no C++ standard library for musl (the script says so and fails)
# Sources and defines come from binding.gyp (its common list plus the OS block), so a prebuild and a source build
# cannot drift. Missing cross compilers are installed with apt when run as root. Node-API headers come from the npm
# package node-api-headers (no download from anywhere else). Prints each file with its size, sha256 and the
# newest glibc symbol version it needs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
native="$root/packages/native"
cache="$here/.cache"
headers_version="${NODE_API_HEADERS_VERSION:-1.9.0}"
# The newest symbol versions a Linux prebuild may need (Ubuntu 22.04, RHEL 9, Amazon Linux 2023, Debian 12 have them).
max_glibc=2.34
max_glibcxx=3.4.29
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux-x64-glibc linux-arm64-glibc win32-x64)
mkdir -p "$cache"

say() { echo "prebuild: $*"; }
fail() { echo "prebuild: FAIL: $*" >&2; exit 1; }

apt_install() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || fail "missing ${missing[*]}: sudo apt-get install ${missing[*]}"
  say "installing ${missing[*]} with apt"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

headers() {
  local hdr="$cache/node-api-headers-$headers_version"
  if [ ! -f "$hdr/include/node_api.h" ]; then
    local tmp; tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-api-headers@$headers_version" >/dev/null && tar xzf node-api-headers-*.tgz)
    rm -rf "$hdr" && mv "$tmp/package" "$hdr" && rm -rf "$tmp"
  fi
  echo "$hdr"
}

# The sources binding.gyp compiles for an OS ('linux', 'win').
sources_for() {
  node -e '
    const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).targets[0];
    const os = t.conditions.find(([c]) => c === `OS==\x27${process.argv[2]}\x27`)[1];
    for (const s of [...t.sources, ...os.sources]) console.log(s);' "$native/binding.gyp" "$1"
}

report() {
  local file="$1" objdump="$2" needs=""
  if [ -n "$objdump" ]; then
    local glibc cxx
    glibc="$("$objdump" -T "$file" | grep -oE '\(GLIBC_[0-9.]+' | sed 's/(GLIBC_//' | sort -V | tail -1)"
    cxx="$("$objdump" -T "$file" | grep -oE '\(GLIBCXX_[0-9.]+' | sed 's/(GLIBCXX_//' | sort -V | tail -1)"
    needs=", needs glibc >= ${glibc:-any} and libstdc++ GLIBCXX_${cxx:-any}"
    # The floor docs/decisions/0003 promises; a newer toolchain that raises it must be noticed, not shipped.
    if [ "$(printf '%s\n' "$glibc" "$max_glibc" | sort -V | tail -1)" != "$max_glibc" ] ||
      [ "$(printf '%s\n' "$cxx" "$max_glibcxx" | sort -V | tail -1)" != "$max_glibcxx" ]; then
      fail "$file needs glibc $glibc / GLIBCXX_$cxx, above the promised glibc $max_glibc / GLIBCXX_$max_glibcxx"
    fi
  fi
  say "built ${file#"$root"/} ($(stat -c %s "$file") bytes, sha256 $(sha256sum "$file" | cut -c1-16)…$needs)"
}

build_linux() {
  local arch="$1" cxx="$2" objdump="$3"
  local out="$native/prebuilds/linux-$arch" obj="$cache/obj-linux-$arch"
  command -v "$cxx" >/dev/null || fail "$cxx not found"
  local hdr addon_api
  hdr="$(headers)"
  addon_api="$(cd "$native" && node -p "require('path').resolve(require('node-addon-api').include_dir)")"
  mkdir -p "$out" "$obj"
  local flags=(-std=c++17 -O3 -fPIC -pthread -fexceptions -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter
    -DNAPI_VERSION=8 -DNODE_ADDON_API_DISABLE_DEPRECATED -DNAPI_CPP_EXCEPTIONS -DBUILDING_NODE_EXTENSION
    -DNODE_GYP_MODULE_NAME=shm_native -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64
    -I"$native/cpp" -I"$hdr/include" -I"$addon_api")
  local objs=() pids=() s o
  mapfile -t srcs < <(sources_for linux)
  for s in "${srcs[@]}"; do
    o="$obj/$(echo "$s" | tr '/' '_').o"
    objs+=("$o")
    if [ ! -f "$o" ] || [ "$native/$s" -nt "$o" ] || [ -n "$(find "$native/cpp" -name '*.h' -newer "$o" | head -1)" ]; then
      "$cxx" "${flags[@]}" -c "$native/$s" -o "$o" &
      pids+=($!)
    fi
  done
  for p in "${pids[@]}"; do wait "$p" || fail "compiling for linux-$arch failed"; done
  # libstdc++ stays shared, as in a node-gyp build: linked in statically, GCC 12's libstdc++.a and libgcc_eh pull
  # in glibc 2.35/2.36 symbols (arc4random, _dl_find_object), which would shut out Ubuntu 22.04 and RHEL 9.
  # napi_* stay undefined: the node executable that loads the addon provides them.
  "$cxx" -shared -pthread -Wl,-z,noexecstack \
    -Wl,-z,relro -Wl,-z,now -Wl,--as-needed -s -o "$out/shm_native.napi.glibc.node.tmp" "${objs[@]}"
  mv "$out/shm_native.napi.glibc.node.tmp" "$out/shm_native.napi.glibc.node"
  report "$out/shm_native.napi.glibc.node" "$objdump"
}

for t in "${targets[@]}"; do
  case "$t" in
    linux-x64-glibc)
      [ "$(uname -m)" = x86_64 ] || fail "linux-x64-glibc is built on an x86_64 host"
      apt_install g++
      build_linux x64 "${CXX_LINUX_X64:-g++}" objdump
      ;;
    linux-arm64-glibc)
      apt_install g++-aarch64-linux-gnu
      build_linux arm64 "${CXX_LINUX_ARM64:-aarch64-linux-gnu-g++}" aarch64-linux-gnu-objdump
      ;;
    win32-x64)
      apt_install g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64
      bash "$root/tools/windows/build.sh" "$cache/build-win32" >/dev/null
      mkdir -p "$native/prebuilds/win32-x64"
      x86_64-w64-mingw32-strip -o "$native/prebuilds/win32-x64/shm_native.napi.node" "$cache/build-win32/shm_native.node"
      report "$native/prebuilds/win32-x64/shm_native.napi.node" ""
      ;;
    linux-x64-musl)
      fail "linux-x64-musl cannot be built here: Debian's musl-tools is a C toolchain only (musl-gcc) and Debian ships
  no libstdc++ built for musl, which this C++ addon needs; and no musl build of Node is on the npm registry to test
  one with. On Alpine and other musl systems the package builds from source (apk add python3 make g++, then
  npm rebuild @shm/native). See docs/decisions/0003-prebuilt-binaries.md."
      ;;
    *) fail "unknown target $t (linux-x64-glibc, linux-arm64-glibc, win32-x64, linux-x64-musl)" ;;
  esac
done
