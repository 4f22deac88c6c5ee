import { expected } from '@shm/core';

/** A timeout argument: undefined (no limit) or an integer of ms from 0 to 2^31-1. */
export function checkTimeout(v: unknown, name: string): void {
  if (v === undefined) return;
  if (typeof v !== 'number') throw expected('a number of milliseconds', name, v);
  if (v !== Number.POSITIVE_INFINITY && (!Number.isInteger(v) || v < 0 || v > 2 ** 31 - 1)) {
    throw expected('an integer number of milliseconds from 0 to 2^31-1 (or Infinity)', name, v, RangeError);
  }
}

/** An integer argument in [min, max]. */
export function checkInt(v: unknown, name: string, min: number, max: number, what: string): void {
  if (typeof v !== 'number') throw expected(what, name, v);
  if (!Number.isInteger(v) || v < min || v > max) throw expected(what, name, v, RangeError);
}

export function checkBytes(v: unknown, name: string): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw expected('a Uint8Array (or Buffer)', name, v);
}

export function checkFunction(v: unknown, name: string): void {
  if (typeof v !== 'function') throw expected('a function', name, v);
}

/** fetch()'s optional info object: undefined or an object it may write `serial`/`serializerId` to. */
export function checkInfo(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'object' || v === null))
    throw expected('an object or undefined', name, v);
}
