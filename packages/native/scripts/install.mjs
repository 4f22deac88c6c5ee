// The install script of @shm/native. The package ships prebuilt binaries that the loader picks at run time, so
// this script is not needed for them (pnpm 10 does not even run it unless @shm/native is approved): it only checks
// that a binary loads and, when none does (a platform without a prebuild, a glibc too old for it), builds one from
// source with node-gyp, which is what `npm rebuild @shm/native` / `pnpm rebuild @shm/native` then do.
// npm_config_build_from_source=true (npm install --build-from-source) builds from source even when a binary loads.
import { spawnSync } from 'node:child_process';

const force = /^(true|1)$/i.test(process.env.npm_config_build_from_source ?? '');
let why = 'a source build was asked for (build-from-source)';
if (!force) {
  try {
    const { bindingPath, loadBinding } = await import('../dist/binding.js');
    loadBinding();
    console.log(`@shm/native: using ${bindingPath()}`);
    process.exit(0);
  } catch (e) {
    // In a fresh checkout of the repository dist/ is not built yet: build the addon, as before.
    why = e?.code === 'ERR_MODULE_NOT_FOUND' ? 'dist/ is not built yet' : (e?.message ?? String(e));
  }
}
console.log(`@shm/native: building from source with node-gyp, because ${why}`);
const r = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.error(
    `@shm/native: the source build failed (${r.error ? r.error.message : `node-gyp exited with ${r.status}`}). ` +
      'It needs python3, make and a C++17 compiler (on Windows, the Visual Studio C++ build tools); install them ' +
      'and run `npm rebuild @shm/native` (pnpm: `pnpm rebuild @shm/native` once @shm/native is approved). Prebuilt binaries exist for ' +
      'linux-x64 and linux-arm64 (glibc 2.34 or later) and win32-x64.',
  );
  process.exit(r.status || 1);
}
