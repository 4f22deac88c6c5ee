import { createHash } from 'node:crypto';
import { WaitResult, Win32Event, Win32WaitResult } from '@shm/native';
import type { WordTarget, WordWaits } from '../platform/platform.js';

// Windows has no futex that crosses processes (WaitOnAddress does not). A lock word sleeps on one auto-reset named
// event per (region, word) instead, as docs/decisions/0002-windows-under-wine.md describes: the waiter checks the word
// and then waits; the waker sets the event only when the waiter count says someone sleeps. No atomic check-and-sleep
// is needed because an auto-reset event latches: a set() that lands between the check and the wait makes that wait
// return at once. What it loses against a futex: a set() wakes one sleeper and two set()s coalesce, so in a wake-all
// the other sleepers notice at their poll timeout (<= pollMs), which the liveness design already accepts.

interface Waits {
  /** Prefix of the events' names: the kernel namespace of the region plus a digest of its identity. */
  base: string;
  /** Events opened by this process, by byte offset of their word; closed with the region. */
  events: Map<number, Win32Event>;
}

const byRegion = new WeakMap<WordTarget, Waits>();

/**
 * Names the events of a region after `identity` (the section name, or the file's path), so every process that maps
 * the same object derives the same names. A digest keeps them within Windows' 260 characters and apart from the
 * names of mappings (which share one namespace with events).
 */
export function setEventBase(region: WordTarget, identity: string): void {
  const ns = identity.startsWith('Global\\') ? 'Global\\' : 'Local\\';
  const digest = createHash('sha256').update(identity).digest('hex').slice(0, 32);
  byRegion.set(region, { base: `${ns}shmw-${digest}`, events: new Map() });
}

function eventFor(region: WordTarget, offset: number): Win32Event {
  const w = byRegion.get(region);
  if (!w) throw new TypeError(`Expected a Windows region for a word wait but received ${region.id}`);
  let e = w.events.get(offset);
  if (!e) {
    e = Win32Event.open(`${w.base}.${offset}`); // auto-reset, created by whoever needs it first
    w.events.set(offset, e);
  }
  return e;
}

/** Sleeps while the word at `offset` equals `expected`, up to `ms` (Infinity: forever). */
export function eventWait(region: WordTarget, offset: number, expected: number, ms: number): WaitResult {
  const e = eventFor(region, offset);
  if (Atomics.load(region.i32, offset >> 2) !== (expected | 0)) return WaitResult.NotEqual;
  return e.wait(timeout(ms)) === Win32WaitResult.Signaled ? WaitResult.Woken : WaitResult.TimedOut;
}

/**
 * eventWait without blocking the event loop: the event is registered with the system's wait threads
 * (RegisterWaitForSingleObject), so no libuv pool thread is used. ERR_SHM_CLOSED if the region closes meanwhile.
 */
export async function eventWaitAsync(
  region: WordTarget,
  offset: number,
  expected: number,
  ms: number,
): Promise<WaitResult> {
  const e = eventFor(region, offset);
  if (Atomics.load(region.i32, offset >> 2) !== (expected | 0)) return WaitResult.NotEqual;
  return (await e.waitAsync(timeout(ms))) === Win32WaitResult.Signaled
    ? WaitResult.Woken
    : WaitResult.TimedOut;
}

/** Wakes a sleeper on the word at `offset` (callers do so only when a waiter count says one sleeps). */
export function eventWake(region: WordTarget, offset: number): void {
  eventFor(region, offset).set();
}

/** Closes the events this process opened for `region` (an event disappears with its last handle). */
export function closeEvents(region: WordTarget): void {
  const w = byRegion.get(region);
  if (!w) return;
  for (const e of w.events.values()) e.close();
  w.events.clear();
}

/** Whole milliseconds, rounded up so a short wait still sleeps; Infinity or < 0 waits forever. */
function timeout(ms: number): number | undefined {
  if (!(ms >= 0) || ms === Number.POSITIVE_INFINITY) return undefined;
  return Math.ceil(ms);
}

/** The Windows WordWaits: one auto-reset named event per word; a wake reaches one sleeper. */
export const eventWords: WordWaits = {
  wait: eventWait,
  waitAsync: eventWaitAsync,
  wake: eventWake,
  attach: setEventBase,
  release: closeEvents,
};
