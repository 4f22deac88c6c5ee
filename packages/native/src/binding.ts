import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Binding } from './binding-types.js';
import { ShmError, ShmSystemError } from './errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const pkgRoot = join(here, '..');

/** Where the addon may be, in the order they are tried. */
export function candidatePaths(): string[] {
  const env = process.env.SHM_NATIVE_PATH;
  return [
    ...(env ? [env] : []),
    join(pkgRoot, 'build', 'Release', 'shm_native.node'),
    join(pkgRoot, 'build', 'Debug', 'shm_native.node'),
    join(pkgRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'shm_native.node'),
  ];
}

function loadError(tried: { path: string; error: string }[]): ShmError {
  const lines = tried.map((t) => `  - ${t.path}: ${t.error}`).join('\n');
  const fixes =
    process.platform === 'win32'
      ? 'build it with `npx node-gyp rebuild` in packages/native (MSVC build tools), or cross-build it with tools/windows/build.sh'
      : 'build it with `pnpm --filter @shm/native build:native` (needs python3, make and a C++17 compiler; ' +
        'without internet, point node-gyp at local headers with npm_config_nodedir=/usr)';
  return new ShmError(
    'ERR_SHM_NATIVE_LOAD',
    `Could not load the @shm/native addon for ${process.platform}-${process.arch}, Node ${process.version} ` +
      `(Node-API ${process.versions.napi}). Tried:\n${lines}\nTo fix: ${fixes}.`,
  );
}

let cached: Binding | undefined;

/** Loads the addon once per thread and registers the error class it throws. */
export function loadBinding(): Binding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: { path: string; error: string }[] = [];
  for (const p of candidatePaths()) {
    if (!existsSync(p)) {
      tried.push({ path: p, error: 'not found' });
      continue;
    }
    try {
      const b = require(p) as Binding;
      b.setErrorClass(ShmSystemError);
      cached = b;
      return b;
    } catch (e) {
      tried.push({ path: p, error: (e as Error).message.split('\n')[0] ?? String(e) });
    }
  }
  throw loadError(tried);
}
