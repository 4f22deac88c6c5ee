import { futexWait, futexWaitAsync, futexWake } from '@shm/native';
import type { WordWaits } from './platform.js';

/**
 * Word waits over @shm/native's futexWait/futexWake: a shared futex on Linux, __ulock_wait/__ulock_wake on
 * macOS; async waits sleep on the native waiter thread (docs/architecture/waiter.md). A wake reaches all sleepers.
 */
export const futexWords: WordWaits = {
  wait: (t, offset, expected, ms) => futexWait(t.mapping, offset, expected, ms),
  waitAsync: (t, offset, expected, ms) => futexWaitAsync(t.mapping, offset, expected, ms),
  wake(t, offset) {
    futexWake(t.mapping, offset, 0);
  },
  attach() {
    // A futex needs no object of its own.
  },
  release() {
    // Closing the mapping ends its async waits (ERR_SHM_CLOSED) in the addon.
  },
};
