// The baseline a user might hand-roll: one region, an Atomics spin lock, a length word and the bytes.
// No crash safety (a holder that dies wedges everyone), no chaining, no versioning.
import type { Region } from '@shm/core';

const LOCK = 0;
const LEN = 1;
const DATA = 64;

export function naiveStore(r: Region, bytes: Uint8Array): void {
  const a = r.i32;
  while (Atomics.compareExchange(a, LOCK, 0, 1) !== 0) {}
  a[LEN] = bytes.byteLength;
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
