import type { StoreOptions } from '@shm/core';

/** What the coordinator hands each worker (as one JSON argument). */
export interface WorkerConfig {
  slot: number;
  seed: number;
  /** The POSIX region holding the shared counters below. */
  stats: string;
  /** Data stores (random-size checksummed records) and counter stores (an 8-byte count), per backend. */
  data: Record<Backend, StoreOptions>;
  counter: Record<Backend, StoreOptions>;
  /** Largest value a worker stores (bytes). */
  maxLen: number;
  /** A lock wait (or a fetch) longer than this is a violation (ms). */
  boundMs: number;
  /** Most chained-segment mappings a handle may keep (issue 15 item 1: both banks' descriptors). */
  mapBound: number;
}

export type Backend = 'posix' | 'sysv';
export const BACKENDS: readonly Backend[] = ['posix', 'sysv'];

/** Every store of the run has 64 KiB chained segments and 4 KiB inline banks: values chain often. */
export const SEGMENT = 64 * 1024;
export const INLINE = 4096;
/** Data bytes per chained segment (its header takes 64). */
export const SEGMENT_DATA = SEGMENT - 64;

// The stats region: 32-bit words. Word 0 is the stop flag; then SLOT_WORDS per worker slot.
export const STOP = 0;
export const SLOT_BASE = 16;
export const SLOT_WORDS = 32;
export const W = {
  attempted: 0, // + backend index: increments begun
  acked: 2, // + backend index: increments that returned
  violations: 4,
  maxWaitMs: 5,
  ops: 6,
  fetches: 7,
  commits: 8,
  increments: 9,
  ownerDied: 10,
  maxMapped: 11, // + backend index: most mappings seen after a fetch (debug().mappedSegments)
  finalMaps: 13, // + backend index: mappings in /proc/self/maps when the survivor stopped
  finished: 15, // set by a worker that stopped cleanly
  lockedReads: 16,
  retries: 17,
} as const;
export const STATS_BYTES = (SLOT_BASE + 64 * SLOT_WORDS) * 4;

export const at = (slot: number, word: number) => SLOT_BASE + slot * SLOT_WORDS + word;
