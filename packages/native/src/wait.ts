import { loadBinding } from './binding.js';
import type { NativeMapping, WaitBinding, WaitResult } from './binding-types.js';
import { closedError, expected as expectedValue, ShmError } from './errors.js';

let waitBinding: WaitBinding | undefined;

function wait(): WaitBinding {
  if (waitBinding) return waitBinding;
  const b = loadBinding();
  if (!b.futexWait)
    throw new ShmError('ERR_SHM_NOT_SUPPORTED', `futex waits are not available on ${process.platform}`);
  waitBinding = b as unknown as WaitBinding;
  return waitBinding;
}

/** True where cross-process waits on a mapped word are available (Linux futex, macOS ulock). */
export function hasWordWait(): boolean {
  return typeof loadBinding().futexWait === 'function';
}

// These sit on lock slow paths: the offset is checked (aligned, in bounds) in C++ as well, so no JS-side
// validation beyond types is repeated here.

/** Longer than this is forever: the C++ side turns milliseconds into int64 nanoseconds, which overflow at ~292 years. */
const MAX_WAIT_MS = 1e12;

/** The mapping is an object and `offset` an aligned word inside it (the addon checks the mapping itself again). */
function checkWord(m: NativeMapping, offset: number): void {
  if (typeof m !== 'object' || m === null) throw expectedValue('a Mapping created by @shm/native', 'm', m);
  if (typeof offset !== 'number') throw expectedValue('a byte offset (number)', 'offset', offset);
  if (!Number.isInteger(offset) || (offset & 3) !== 0 || offset < 0 || offset + 4 > m.size)
    throw expectedValue('an aligned 32-bit word offset inside the mapping', 'offset', offset, RangeError);
}

/** < 0, Infinity or more than MAX_WAIT_MS: -1 (forever). NaN would otherwise wait forever silently. */
function waitTimeout(v: number): number {
  if (typeof v !== 'number' || Number.isNaN(v)) {
    throw expectedValue('a number of milliseconds (< 0 or Infinity: forever)', 'timeoutMs', v);
  }
  return v < 0 || v > MAX_WAIT_MS ? -1 : v;
}

/** Sleeps while the 32-bit word at `offset` equals `expected`, up to timeoutMs (< 0 or Infinity: forever). */
export function futexWait(m: NativeMapping, offset: number, expected: number, timeoutMs: number): WaitResult {
  const b = wait(); // ERR_SHM_NOT_SUPPORTED (Windows) before any argument check
  checkWord(m, offset);
  return b.futexWait(m, offset, expected | 0, waitTimeout(timeoutMs));
}

/** Wakes up to `count` waiters (<= 0: all) on the word at `offset`; returns how many woke. */
export function futexWake(m: NativeMapping, offset: number, count = 0): number {
  const b = wait();
  checkWord(m, offset);
  return b.futexWake(m, offset, count);
}

/** The native result of an async wait whose mapping was closed before it ended. */
const CLOSED = 4;

/**
 * futexWait without blocking the event loop or occupying a libuv pool thread: the wait goes to this thread's
 * waiter (docs/architecture/waiter.md), which keeps the event loop alive only while a wait is pending. Rejects
 * with ERR_SHM_CLOSED if the mapping is closed before the wait ends.
 */
export function futexWaitAsync(
  m: NativeMapping,
  offset: number,
  expected: number,
  timeoutMs: number,
): Promise<WaitResult> {
  const b = wait();
  checkWord(m, offset); // bad arguments throw here, synchronously, as futexWait does
  return b.futexWaitAsync(m, offset, expected | 0, waitTimeout(timeoutMs)).then((r) => {
    if (r === CLOSED) throw closedError('mapping');
    return r;
  });
}
