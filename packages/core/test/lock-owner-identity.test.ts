import { MemoryProcessTable, type OwnerIdentity, ownerIdentityFor } from '@shm/native';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockStatus, Region, RwLock } from '../src/index.js';

// RwLock over an in-memory kernel: each fake thread gets its own identity (as each real thread gets its own
// RwLock), built over the table while that thread runs. A real region and real futex waits; fake owners.

let region: Region;
const locks: RwLock[] = [];

beforeEach(() => {
  region = Region.create({ size: 4096 });
  RwLock.init(region, 0);
});

afterEach(() => {
  for (const l of locks.splice(0)) l.release();
  region.close();
});

function lockAs(identity: OwnerIdentity): RwLock {
  const l = new RwLock(region, 0, { identity, pollMs: 2, spins: 0 });
  locks.push(l);
  return l;
}

type Make = (t: MemoryProcessTable) => OwnerIdentity;
const darwin: Make = (t) => ownerIdentityFor('darwin', t);
/** What macOS did before: a thread id in the owner word, judged by a liveness check that knows only pids. */
const oldDarwinMix: Make = (t) => ownerIdentityFor('linux', t);

/** A holder in one process, a waiter in another: the waiter's timed lock while the holder lives. */
function waitOnLiveHolder(make: Make, mode: 'exclusive' | 'shared'): LockStatus {
  for (const l of locks.splice(0)) l.release();
  RwLock.init(region, 0); // a fresh lock: a taken-over one is left in a state no real lock reaches
  const t = new MemoryProcessTable('darwin');
  t.startProcess();
  const holder = lockAs(make(t));
  if (mode === 'exclusive') expect(holder.lock()).toBe(LockStatus.Acquired);
  else expect(holder.lockShared()).toBe(LockStatus.Acquired);
  t.startProcess();
  const waiter = lockAs(make(t));
  return waiter.lock(40);
}

describe('RwLock with an OwnerIdentity over an in-memory macOS kernel', () => {
  it('keeps a live exclusive holder in another process: the waiter times out, it takes nothing over', () => {
    expect(waitOnLiveHolder(darwin, 'exclusive')).toBe(LockStatus.WouldBlock);
  });

  it('keeps a live shared holder in another process', () => {
    expect(waitOnLiveHolder(darwin, 'shared')).toBe(LockStatus.WouldBlock);
  });

  it('shows the old mix broke mutual exclusion: a live holder judged dead, its lock taken over', () => {
    expect(waitOnLiveHolder(oldDarwinMix, 'exclusive')).toBe(LockStatus.OwnerDied);
    expect(waitOnLiveHolder(oldDarwinMix, 'shared')).toBe(LockStatus.OwnerDied);
  });

  it('takes the lock over once the holding process is killed, and reports OwnerDied', () => {
    const t = new MemoryProcessTable('darwin');
    t.startProcess();
    const pid = t.getpid();
    const holder = lockAs(darwin(t));
    expect(holder.lock()).toBe(LockStatus.Acquired);
    t.startProcess();
    const waiter = lockAs(darwin(t));
    t.kill(pid);
    expect(waiter.lock(2000)).toBe(LockStatus.OwnerDied);
    expect(waiter.holdsExclusive).toBe(true);
    waiter.unlock();
  });

  it('tells two worker threads of one process apart: the second waits instead of seeing a self-deadlock', () => {
    const t = new MemoryProcessTable('darwin');
    t.startProcess();
    const main = lockAs(darwin(t));
    expect(main.lock()).toBe(LockStatus.Acquired);
    t.startThread(t.getpid());
    const worker = lockAs(darwin(t));
    expect(worker.lock(20)).toBe(LockStatus.WouldBlock);
    main.unlock();
    expect(worker.lock(20)).toBe(LockStatus.Acquired);
    worker.unlock();
  });

  it('refuses an identity that is not one', () => {
    expect(() => new RwLock(region, 0, { identity: {} as never })).toThrow(/options\.identity/);
  });
});
