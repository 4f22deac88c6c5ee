export { ShmError, ShmSystemError } from '@shm/core';
export { deriveKey, type ShareLiteKey, type ShareLiteOptions } from './args.js';
export { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from './constants.js';
export { type LockState, ShareLite } from './share-lite.js';
export type { ValueSerializer } from './value-methods.js';
export {
  DEFAULT_POLL_MS,
  type ShareLiteChangesOptions,
  type ShareLiteWaitOptions,
} from './watch.js';
