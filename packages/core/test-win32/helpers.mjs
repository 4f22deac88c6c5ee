// Shared by the Windows suites of @shm/core and @shm/tied: the packages compiled to plain JS (tools/windows/stage-js.sh
// lays them out as a node_modules tree in SHM_JS_STAGE; SHM_NATIVE_PATH points at the MinGW-built addon), unique
// names, a private registry folder, and command-driven peer processes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export { servePeer, sleep, spawnPeer, uniqueName } from '../../../tools/windows/test-peer.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const stage = process.env.SHM_JS_STAGE ?? join(here, '..', '..', '..', 'tools', 'windows', '.cache', 'js');

/** Imports a staged package: `await load('core')`. */
export function load(pkg) {
  return import(pathToFileURL(join(stage, 'node_modules', '@shm', pkg, 'dist', 'index.js')).href);
}

export const core = await load('core');
export const native = await load('native');

// Each test process (and its peers, which inherit the variable) records created objects in its own registry folder.
if (!process.env.SHM_REGISTRY_DIR) {
  process.env.SHM_REGISTRY_DIR = mkdtempSync(join(tmpdir(), 'shm-registry-test-'));
  const dir = process.env.SHM_REGISTRY_DIR;
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
}

/** A fresh folder under the temp dir, removed by the returned function. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'shm-win32-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Bytes 0..n-1 of a pattern that differs per `seed`, so a misplaced or stale chunk is caught. */
export function pattern(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
    if (i + 1 < n) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < n) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < n) out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
}
