import { expected } from './errors.js';

/** Throws unless `v` is an options object (not null, not an array) whose `booleans` are booleans or absent. */
export function checkOptions<T>(v: T, name: string, booleans: readonly string[] = []): T {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw expected('an options object', name, v);
  for (const b of booleans) {
    const x = (v as Record<string, unknown>)[b];
    if (x !== undefined && typeof x !== 'boolean') throw expected('a boolean', `${name}.${b}`, x);
  }
  return v;
}

/** An offset in bytes: a safe integer >= 0. */
export function checkOffset(v: unknown, name = 'offset'): number {
  if (typeof v !== 'number') throw expected('an offset in bytes (number)', name, v);
  if (!Number.isSafeInteger(v) || v < 0) throw expected('an integer >= 0 (bytes)', name, v, RangeError);
  return v;
}

/** Throws unless `v` is an integer in [min, max]. */
export function checkInt(v: unknown, name: string, min = -(2 ** 31), max = 2 ** 31 - 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw expected('an integer', name, v);
  if (v < min || v > max) throw expected(`an integer from ${min} to ${max}`, name, v, RangeError);
  return v;
}

/** A size in bytes: a positive safe integer. */
export function checkSize(v: unknown, name = 'size'): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw expected('a positive integer (bytes)', name, v);
  if (v <= 0) throw expected('a positive integer (bytes)', name, v, RangeError);
  return v;
}

/** Throws unless `v` is a file descriptor number (an integer >= 0). */
export function checkFd(v: unknown, name = 'fd'): number {
  return checkInt(v, name, 0);
}

/** Permission bits such as 0o600. */
export function checkMode(v: unknown, name = 'mode'): number {
  return checkInt(v, name, 0, 0o7777);
}

/** A SysV key: any 32-bit integer (signed or unsigned spelling). */
export function checkKey(v: unknown, name = 'key'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < -(2 ** 31) || v > 2 ** 32 - 1) {
    throw expected('a 32-bit integer key', name, v, typeof v === 'number' ? RangeError : TypeError);
  }
  return v | 0;
}

/** A POSIX shm name: "/" followed by 1-250 characters, no further "/". */
export function checkShmName(v: unknown, name = 'name'): string {
  if (typeof v !== 'string') throw expected('a string', name, v);
  const n = v.startsWith('/') ? v : `/${v}`;
  if (n.length < 2 || n.length > 251 || n.indexOf('/', 1) !== -1 || n.includes('\0')) {
    throw expected('a name of 1 to 250 characters without "/" or NUL', name, v, RangeError);
  }
  return n;
}

/** Throws unless `v` is a non-empty string without NUL. */
export function checkString(v: unknown, name: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.includes('\0'))
    throw expected('a non-empty string', name, v);
  return v;
}

/**
 * Milliseconds to wait, or -1 for forever (undefined, Infinity, or more than 1e12 ms = 31 years: the C++ side turns
 * milliseconds into int64 nanoseconds, which would overflow).
 */
export function checkTimeout(v: unknown, name = 'timeoutMs'): number {
  if (v === undefined || v === Number.POSITIVE_INFINITY) return -1;
  if (typeof v !== 'number' || Number.isNaN(v) || v < 0)
    throw expected('a number of milliseconds >= 0', name, v);
  return v > 1e12 ? -1 : v;
}
