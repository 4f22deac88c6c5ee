// Shared by the Windows suite: loads @shm/native compiled to plain JS (tools/windows/stage-js.sh builds it, and
// run-tests.sh points SHM_NATIVE_DIST at it and SHM_NATIVE_PATH at the MinGW-built addon), names, and peers.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { spawnPeer as spawnPeerOf } from '../../../tools/windows/test-peer.mjs';

export { sleep, uniqueName } from '../../../tools/windows/test-peer.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist =
  process.env.SHM_NATIVE_DIST ??
  join(here, '..', '..', '..', 'tools', 'windows', '.cache', 'js', 'node_modules', '@shm', 'native', 'dist');

/** The @shm/native module (the compiled src/index.ts). */
export const native = await import(pathToFileURL(join(dist, 'index.js')).href);

/** Forks fixtures/peer.mjs (see tools/windows/test-peer.mjs for `call`, `post`, `kill` and `exited`). */
export function spawnPeer() {
  return spawnPeerOf(join(here, 'fixtures', 'peer.mjs'));
}
