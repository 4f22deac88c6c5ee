import { ownerIdentity, pidNamespace, ShmError } from '@shm/native';
import { futexWords } from './futex-words.js';
import type { Backend, Platform } from './platform.js';
import { anonymousKind, fileKind, posixShmKind } from './posix-kinds.js';
import { sysvKind } from './sysv-kind.js';

/**
 * macOS (type-checked here, never run: no SDK; docs/architecture/platform.md): no memfd, so an anonymous region
 * is an unlinked POSIX shm object and fromFd accepts any fd; POSIX shm objects are not listed in a directory;
 * waits are __ulock_wait/__ulock_wake; owner ids are the pid plus a worker index, judged by the pid's liveness
 * (decision 0008).
 */
export const darwinPlatform: Platform = {
  name: 'darwin',
  label: 'macOS',
  kinds: {
    memfd: anonymousKind(false),
    posix: posixShmKind(false),
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
