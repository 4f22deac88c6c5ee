import type { Platform } from './platform.js';
import { posixPlatform } from './posix-platform.js';

/**
 * macOS (type-checked here, never run: no SDK; docs/architecture/platform.md): no memfd, so an anonymous region
 * is an unlinked POSIX shm object and fromFd accepts any fd; POSIX shm objects are not listed in a directory;
 * waits are __ulock_wait/__ulock_wake; owner ids are the pid plus a worker index, judged by the pid's liveness
 * (decision 0008).
 */
export const darwinPlatform: Platform = posixPlatform('darwin', 'macOS', false);
