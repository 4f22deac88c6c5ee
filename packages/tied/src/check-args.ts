import { expected } from '@shm/core';

// Argument checks of tied's entry points (issue 15): each throws before anything is locked or changed.

/** A lock timeout: undefined (wait forever) or a number of ms >= 0 (Infinity waits forever too). */
export function checkTimeout(v: unknown, name = 'timeoutMs'): void {
  if (v === undefined || (typeof v === 'number' && v >= 0)) return;
  throw typeof v === 'number'
    ? expected('a number of milliseconds >= 0 (or undefined to wait forever)', name, v, RangeError)
    : expected('a number of milliseconds (or undefined to wait forever)', name, v);
}

/** A callback argument. */
export function checkFunction(v: unknown, name: string): void {
  if (typeof v !== 'function') throw expected('a function', name, v);
}

/** An optional options object (undefined allowed). */
export function checkOptionsObject(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v)))
    throw expected('an options object', name, v);
}
