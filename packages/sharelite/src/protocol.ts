// The IPC::ShareLite 0.17 wire protocol (PERL-FORMATS.md §2 and §4), as constants: the header words, the
// semaphores and the semop tables. share-chain.ts and share-lock.ts are what reads and applies them.
import type { sysv } from '@shm/core';
import { IPC_NOWAIT as NW, SEM_UNDO as UNDO } from './constants.js';

/** Header words at offset 0 of every segment, in native byte order (little-endian on x86_64). */
export const NEXT_SHMID = 0; // int32: shmid of the next segment, negative = end of chain
export const LENGTH = 1; // int32: total data length (head only)
export const SHM_STATE = 2; // uint32: chain generation, bumped when segments are removed (head only)
export const VERSION = 3; // uint32: bumped on every store (head only)
export const HEADER_SIZE = 16;
/** Perl's default when -size is 0 or anything up to the header size. */
export const DEFAULT_SEGMENT_SIZE = 65536;

/** Semaphores of the 3-semaphore set. */
export const SEM_INIT = 0; // 1 once the head has been initialised
export const SEM_READERS = 1; // number of shared holders
export const SEM_WRITER = 2; // 1 while an exclusive holder exists

type Table = readonly sysv.SemOp[];

// Each table is applied by one semop(2) call, so atomically. These are sharestuff.c's tables, unchanged:
// waits for zero carry no SEM_UNDO, every +1/-1 does, unlocks never wait.
export const EX_LOCK: Table = [
  [SEM_READERS, 0, 0],
  [SEM_WRITER, 0, 0],
  [SEM_WRITER, 1, UNDO],
];
export const EX_LOCK_NB: Table = [
  [SEM_READERS, 0, NW],
  [SEM_WRITER, 0, NW],
  [SEM_WRITER, 1, UNDO | NW],
];
export const EX_UNLOCK: Table = [[SEM_WRITER, -1, UNDO | NW]];
export const SH_LOCK: Table = [
  [SEM_WRITER, 0, 0],
  [SEM_READERS, 1, UNDO],
];
export const SH_LOCK_NB: Table = [
  [SEM_WRITER, 0, NW],
  [SEM_READERS, 1, UNDO | NW],
];
export const SH_UNLOCK: Table = [[SEM_READERS, -1, UNDO | NW]];
