// The IPC::ShareLite 0.17 wire protocol (PERL-FORMATS.md §2 and §4), as constants: the header words, the
// semaphores, the semop tables, and read_share/write_share's fast paths as guarded copy plans for the addon (which
// knows no format: every offset and value it checks or writes is given here). share-chain.ts and share-lock.ts
// are what reads and applies them.
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

// Byte offsets of the header words, for the guarded copy plans.
const AT_NEXT_SHMID = NEXT_SHMID * 4;
const AT_LENGTH = LENGTH * 4;
const AT_SHM_STATE = SHM_STATE * 4;
const AT_VERSION = VERSION * 4;

/** The data areas of the first `segments` segments of a chain, in value order. */
function dataPieces(segments: number, segmentSize: number): sysv.GuardedPiece[] {
  const pieces: sysv.GuardedPiece[] = [];
  for (let i = 0; i < segments; i++) pieces.push([i, HEADER_SIZE, segmentSize - HEADER_SIZE]);
  return pieces;
}

/**
 * read_share steps 2-3 as one guarded copy over the `segments` attached segments (head first): valid while the
 * head's shm_state is still `state` (no segment was removed since they were attached, so the attached prefix of the
 * chain is still the chain); copies `length` bytes when they fit in the attached segments and the caller's buffer.
 * Anything else (a longer value, another state, a negative length) fails the guard and goes the slow way.
 */
export function readPlan(state: number, segments: number, segmentSize: number): sysv.GuardedCopySpec {
  return {
    direction: 'read',
    checks: [[0, AT_SHM_STATE, state]],
    count: [0, AT_LENGTH],
    pieces: dataPieces(segments, segmentSize),
  };
}

/**
 * write_share steps 2-7 as one guarded copy of a value that spans exactly `segments` attached segments: valid
 * while shm_state is `state` and the last of them ends the chain (next_shmid -1: no tail to collect, no segment
 * linked by another writer since). length = 0 before the copy (a writer that dies mid-copy leaves an empty value),
 * length = the byte count after it, then version + 1.
 */
export function writePlan(state: number, segments: number, segmentSize: number): sysv.GuardedCopySpec {
  return {
    direction: 'write',
    checks: [
      [0, AT_SHM_STATE, state],
      [segments - 1, AT_NEXT_SHMID, -1],
    ],
    pieces: dataPieces(segments, segmentSize),
    before: [[0, AT_LENGTH, 'set', 0]],
    after: [
      [0, AT_LENGTH, 'count'],
      [0, AT_VERSION, 'add', 1],
    ],
  };
}
