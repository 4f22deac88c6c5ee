import { ownerIdentity, pidNamespace, ShmError } from '@shm/native';
import { futexWords } from './futex-words.js';
import type { Backend, Platform, PlatformName } from './platform.js';
import { anonymousKind, fileKind, posixShmKind } from './posix-kinds.js';
import { sysvKind } from './sysv-kind.js';

/**
 * The Platform of a POSIX system (Linux, macOS): the same kinds, word waits and owner identity, told apart by
 * whether the kernel has memfd (`anonymousKind`/`posixShmKind` branch on it) and by what native's
 * ownerIdentity() answers for this build.
 */
export function posixPlatform(name: PlatformName, label: string, memfd: boolean): Platform {
  return {
    name,
    label,
    kinds: {
      memfd: anonymousKind(memfd),
      posix: posixShmKind(memfd),
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
}
