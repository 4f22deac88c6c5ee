import { futexWait, futexWaitAsync, futexWake, type WaitResult } from '@shm/native';
import type { Region } from './region.js';
import { closeEvents, eventWait, eventWaitAsync, eventWake } from './win32/word-events.js';

// The sleep and wake-up of the lock and store slow paths, for each platform: a shared futex on the mapped word
// (Linux), or one auto-reset named event per word (Windows, see win32/word-events.ts). Callers keep the protocol:
// they count themselves as waiters before checking the word, and wake only when such a count is above zero.

const onWindows = process.platform === 'win32';

/** Sleeps while the 32-bit word at byte `offset` of `region` equals `expected`, up to `ms` (Infinity: forever). */
export function wordWait(region: Region, offset: number, expected: number, ms: number): WaitResult {
  if (onWindows) return eventWait(region, offset, expected, ms);
  return futexWait(region.mapping, offset, expected, ms);
}

/**
 * wordWait without blocking the event loop or occupying a libuv pool thread: a native waiter thread (Linux, macOS)
 * or the system's wait threads (Windows) sleep on the word (docs/architecture/waiter.md). Rejects with
 * ERR_SHM_CLOSED if the region is closed before the wait ends.
 */
export function wordWaitAsync(
  region: Region,
  offset: number,
  expected: number,
  ms: number,
): Promise<WaitResult> {
  if (onWindows) return eventWaitAsync(region, offset, expected, ms);
  return futexWaitAsync(region.mapping, offset, expected, ms);
}

/** Wakes the sleepers on the word (all of them with a futex; one, plus the others at their poll, on Windows). */
export function wordWake(region: Region, offset: number): void {
  if (onWindows) eventWake(region, offset);
  else futexWake(region.mapping, offset, 0);
}

/** Releases what the wait mechanism holds for a region that is closing (Windows: its events). */
export function releaseWordWaits(region: Region): void {
  if (onWindows) closeEvents(region);
}
