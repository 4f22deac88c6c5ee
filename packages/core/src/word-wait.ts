import type { WaitResult } from '@shm/native';
import { platformOf, type Region } from './region.js';

// The sleep and wake-up of the lock and store slow paths, on a word of a region: each region's platform does it
// (platform/platform.ts WordWaits: a shared futex on Linux, ulock on macOS, one auto-reset named event per word on
// Windows). Callers keep the protocol: they count themselves as waiters before checking the word, and wake only
// when such a count is above zero.

/** Sleeps while the 32-bit word at byte `offset` of `region` equals `expected`, up to `ms` (Infinity: forever). */
export function wordWait(region: Region, offset: number, expected: number, ms: number): WaitResult {
  return platformOf(region).words.wait(region, offset, expected, ms);
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
  return platformOf(region).words.waitAsync(region, offset, expected, ms);
}

/** Wakes the sleepers on the word (all of them with a futex; one, plus the others at their poll, on Windows). */
export function wordWake(region: Region, offset: number): void {
  platformOf(region).words.wake(region, offset);
}
