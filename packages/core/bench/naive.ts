// The raw baseline a user might hand-roll: one region with a CAS spin lock, a length word, a generation word
// (bumped by every store, so a reader can tell a change) and the bytes. No crash safety (a holder that dies
// wedges everyone), no chaining, no format checks. The anchor of @shm/core's benchmarks.
import type { Region } from '@shm/core';

const LOCK = 0;
const LEN = 1;
const GEN = 2;
const DATA = 64;

export function naiveStore(r: Region, bytes: Uint8Array): void {
  const a = r.i32;
  while (Atomics.compareExchange(a, LOCK, 0, 1) !== 0) {}
  a[LEN] = bytes.byteLength;
  a[GEN] = (a[GEN]! + 1) | 0;
  r.bytes.set(bytes, DATA);
  Atomics.store(a, LOCK, 0);
}

export function naiveFetch(r: Region, into: Uint8Array): Uint8Array {
  const a = r.i32;
  while (Atomics.compareExchange(a, LOCK, 0, 1) !== 0) {}
  const len = a[LEN]!;
  into.set(r.bytes.subarray(DATA, DATA + len));
  Atomics.store(a, LOCK, 0);
  return into.subarray(0, len);
}

/** The generation of the raw region's value (changes on every store). */
export function naiveGeneration(r: Region): number {
  return Atomics.load(r.i32, GEN);
}
