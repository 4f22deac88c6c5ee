import { MemoryProcessTable, ownerIdentityFor, type ProcessCalls } from '@shm/native';
import { afterEach, describe, expect, it } from 'vitest';
import { LockStatus, Region, RwLock } from '../src/index.js';
import { setPlatform } from '../src/platform/choose-platform.js';
import { MemoryPlatform } from '../src/platform/memory-platform.js';
import type { Platform } from '../src/platform/platform.js';

// RwLock takes its owner identity from the platform of its region (no `identity` option here), so a platform
// whose ids and liveness disagree is the only way to get the old macOS mix back: the memory platform over an
// in-memory macOS kernel, once with its own identity and once with the mix (thread ids judged by a pid check).

let restore: Platform | undefined;
const open: { locks: RwLock[]; regions: Region[] } = { locks: [], regions: [] };

afterEach(() => {
  for (const l of open.locks.splice(0)) l.release();
  for (const r of open.regions.splice(0)) r.close();
  if (restore) setPlatform(restore);
  restore = undefined;
});

/** A memory platform over a fresh macOS process table; `mix`: the ids the old code paired with a pid check. */
function darwinPlatform(mix: boolean): MemoryPlatform {
  const table = new MemoryProcessTable('darwin');
  table.startProcess();
  const identity = mix ? (calls: ProcessCalls) => ownerIdentityFor('linux', calls) : undefined;
  const p = new MemoryPlatform({ table, ...(identity ? { identity } : {}) });
  restore = setPlatform(p);
  return p;
}

/** A holder in one fake process, then a waiter in another: the waiter's timed lock while the holder lives. */
function waiterAgainstLiveHolder(p: MemoryPlatform, mode: 'exclusive' | 'shared'): LockStatus {
  const region = Region.create({ name: 'lock', size: 4096 });
  open.regions.push(region);
  RwLock.init(region, 0);
  const holder = new RwLock(region, 0, { pollMs: 2, spins: 0 });
  open.locks.push(holder);
  expect(mode === 'exclusive' ? holder.lock() : holder.lockShared()).toBe(LockStatus.Acquired);
  p.table.startProcess(); // the waiter runs in a second process, the holder's stays alive
  const other = Region.open({ name: 'lock' });
  open.regions.push(other);
  const waiter = new RwLock(other, 0, { pollMs: 2, spins: 0 });
  open.locks.push(waiter);
  return waiter.lock(40);
}

describe('RwLock gets its owner identity from the platform of its region', () => {
  it('writes the platform identity as owner: on macOS the pid, not a thread id', () => {
    const p = darwinPlatform(false);
    const region = Region.create({ size: 4096 });
    open.regions.push(region);
    RwLock.init(region, 0);
    const lock = new RwLock(region, 0);
    open.locks.push(lock);
    expect(lock.lock()).toBe(LockStatus.Acquired);
    expect(lock.state().exclusiveOwner).toBe(p.table.getpid());
    expect(lock.state().exclusiveOwner).not.toBe(p.table.gettid());
    lock.unlock();
  });

  it('keeps a live holder of another process, exclusive or shared: the waiter times out', () => {
    expect(waiterAgainstLiveHolder(darwinPlatform(false), 'exclusive')).toBe(LockStatus.WouldBlock);
    afterEachNow();
    expect(waiterAgainstLiveHolder(darwinPlatform(false), 'shared')).toBe(LockStatus.WouldBlock);
  });

  it('fails for the old mix of ids: an owner word from a thread id, liveness from the pid takes a live lock', () => {
    expect(waiterAgainstLiveHolder(darwinPlatform(true), 'exclusive')).toBe(LockStatus.OwnerDied);
    afterEachNow();
    expect(waiterAgainstLiveHolder(darwinPlatform(true), 'shared')).toBe(LockStatus.OwnerDied);
  });

  it('takes the lock over once the holding process is killed', () => {
    const p = darwinPlatform(false);
    const region = Region.create({ name: 'lock', size: 4096 });
    open.regions.push(region);
    RwLock.init(region, 0);
    const holder = new RwLock(region, 0, { pollMs: 2, spins: 0 });
    open.locks.push(holder);
    const pid = p.table.getpid();
    expect(holder.lock()).toBe(LockStatus.Acquired);
    p.table.startProcess();
    const waiter = new RwLock(region, 0, { pollMs: 2, spins: 0 });
    open.locks.push(waiter);
    p.table.kill(pid);
    expect(waiter.lock(2000)).toBe(LockStatus.OwnerDied);
    waiter.unlock();
  });
});

/** Releases what a first half of a test opened, so its second half starts from a fresh platform and lock. */
function afterEachNow(): void {
  for (const l of open.locks.splice(0)) l.release();
  for (const r of open.regions.splice(0)) r.close();
  if (restore) setPlatform(restore);
  restore = undefined;
}
