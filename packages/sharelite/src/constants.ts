import { sysv } from '@shm/core';

/** Shared lock (flock's LOCK_SH): many holders at once, no exclusive holder. */
export const LOCK_SH = 1;
/** Exclusive lock (flock's LOCK_EX): one holder, no shared holders. The default of `lock()`. */
export const LOCK_EX = 2;
/** With LOCK_SH or LOCK_EX: do not wait; `lock()` returns false instead. */
export const LOCK_NB = 4;
/** Release whatever lock the handle holds (same as `unlock()`). */
export const LOCK_UN = 8;

const c = sysv.sysvConstants();
/** Create the share if it does not exist (for the `flags` option). */
export const IPC_CREAT: number = c.IPC_CREAT;
/** With IPC_CREAT: fail with EEXIST if the share exists (for the `flags` option). */
export const IPC_EXCL: number = c.IPC_EXCL;
/** Key 0: a share no other process can open by key. */
export const IPC_PRIVATE: number = c.IPC_PRIVATE;

/** @internal */
export const IPC_NOWAIT: number = c.IPC_NOWAIT;
/** @internal */
export const SEM_UNDO: number = c.SEM_UNDO;
