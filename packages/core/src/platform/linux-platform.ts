import { ownerIdentity, pidNamespace, ShmError } from '@shm/native';
import { futexWords } from './futex-words.js';
import type { Backend, Platform } from './platform.js';
import { anonymousKind, fileKind, posixShmKind } from './posix-kinds.js';
import { sysvKind } from './sysv-kind.js';

/**
 * Linux: memfd (sealed, passable to children), POSIX shm in /dev/shm, files and SysV segments; shared futex
 * waits; owner ids are thread ids judged by /proc/<tid>/stat, within one pid namespace.
 */
export const linuxPlatform: Platform = {
  name: 'linux',
  label: 'Linux',
  kinds: {
    memfd: anonymousKind(true),
    posix: posixShmKind(true),
    file: fileKind,
    sysv: sysvKind,
  },
  namedBackend: 'posix',
  mapsFds: true,
  removableWhileMapped: true,
  wakeWakesAll: true,
  words: futexWords,
  get identity() {
    return ownerIdentity();
  },
  pidNamespace,
  unsupported: (backend: Backend) =>
    new ShmError('ERR_SHM_NOT_SUPPORTED', `The '${backend}' backend is available on Windows only`),
};
