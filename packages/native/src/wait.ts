import { loadBinding } from './binding.js';
import type { NativeMapping, WaitBinding, WaitResult } from './binding-types.js';
import { ShmError } from './errors.js';

let waitBinding: WaitBinding | undefined;

function wait(): WaitBinding {
  if (waitBinding) return waitBinding;
  const b = loadBinding();
  if (!b.futexWait) throw new ShmError('ERR_SHM_NOT_SUPPORTED', `futex waits are not available on ${process.platform}`);
  waitBinding = b as unknown as WaitBinding;
  return waitBinding;
}

/** True where cross-process waits on a mapped word are available (Linux futex, macOS ulock). */
export function hasWordWait(): boolean {
  return typeof loadBinding().futexWait === 'function';
}

// These sit on lock slow paths: the offset is checked (aligned, in bounds) in C++ as well, so no JS-side
// validation beyond types is repeated here.

/** Sleeps while the 32-bit word at `offset` equals `expected`, up to timeoutMs (< 0: forever). */
export function futexWait(m: NativeMapping, offset: number, expected: number, timeoutMs: number): WaitResult {
  return wait().futexWait(m, offset, expected | 0, timeoutMs);
}

/** Wakes up to `count` waiters (<= 0: all) on the word at `offset`; returns how many woke. */
export function futexWake(m: NativeMapping, offset: number, count = 0): number {
  return wait().futexWake(m, offset, count);
}

/** futexWait on a pool thread. */
export function futexWaitAsync(m: NativeMapping, offset: number, expected: number, timeoutMs: number): Promise<WaitResult> {
  return wait().futexWaitAsync(m, offset, expected | 0, timeoutMs);
}
