import { fileURLToPath } from 'node:url';
import { type Peer, spawnPeer, tsWorker, uniqueName } from '@shm/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCK_BYTES, LockStatus, Region, RwLock } from '../src/index.js';

const peerScript = fileURLToPath(new URL('./fixtures/lock-peer.ts', import.meta.url));
const workerScript = fileURLToPath(new URL('./fixtures/lock-worker.ts', import.meta.url));
const COUNTER = LOCK_BYTES / 4;

let region: Region;
let lock: RwLock;
let peers: Peer[] = [];

function peer(): Peer {
  const p = spawnPeer(peerScript, [region.name!]);
  peers.push(p);
  return p;
}

beforeEach(() => {
  region = Region.create({ name: uniqueName(), size: 4096, exclusive: true, register: false });
  RwLock.init(region, 0);
  lock = new RwLock(region, 0, { name: 'test-lock' });
});

afterEach(async () => {
  for (const p of peers) p.kill();
  await Promise.all(peers.map((p) => p.exited));
  peers = [];
  lock.release();
  region.destroy();
});

describe('RwLock', () => {
  it('does not take a live holder for dead when a dead task with the same (reused) id left a slot below its own', async () => {
    // Thread ids are reused once pid_max wraps. A dead incarnation's slot still names the id with its own start
    // time; the live holder's slot, with the right start time, comes after it.
    lock.lock();
    const tid = region.i32[0]!; // W: the holder's id
    lock.unlock();
    lock.release(); // slot 0 is free again; its start time stays
    const OWNER = 16;
    const START = OWNER + 128;
    Atomics.store(region.i32, START, (Atomics.load(region.i32, START) + 1) | 0); // another task's start time
    Atomics.store(region.i32, OWNER, tid); // slot 0: "tid", not held, started at another time: a dead incarnation
    const holder = new RwLock(region, 0, { name: 'test-lock' });
    try {
      expect(holder.lock()).toBe(LockStatus.Acquired); // claims slot 1 (slot 0 is taken), W = tid
      expect(region.i32[OWNER + 1]).toBe(tid);
      const p = peer();
      await p.next((m) => m.ready);
      p.send({ op: 'lock', timeoutMs: 300 });
      // Before the fix: OwnerDied (2), the live holder's lock taken over.
      expect((await p.next((m) => m.op === 'lock')).status).toBe(LockStatus.WouldBlock);
      expect(region.i32[0]).toBe(tid);
    } finally {
      if (holder.holdsExclusive) holder.unlock();
      holder.release();
      Atomics.store(region.i32, OWNER, 0);
    }
  });

  it('gives an exact total when 4 processes increment a counter 5000 times each under the exclusive lock', async () => {
    const ps = [peer(), peer(), peer(), peer()];
    await Promise.all(ps.map((p) => p.next((m) => m.ready)));
    for (const p of ps) p.send({ op: 'incr', n: 5000 });
    const res = await Promise.all(ps.map((p) => p.next((m) => m.op === 'incr', 120_000)));
    expect(res.every((r) => r.done)).toBe(true);
    expect(region.i32[COUNTER]).toBe(20_000);
  });

  it('hands the lock to a waiter and reports OwnerDied when the exclusive holder is SIGKILLed', async () => {
    const p = peer();
    await p.next((m) => m.ready);
    p.send({ op: 'lock' });
    expect((await p.next((m) => m.op === 'lock')).status).toBe(LockStatus.Acquired);
    expect(lock.tryLock()).toBe(LockStatus.WouldBlock);
    const waiting = lock.lockAsync(10_000);
    p.kill('SIGKILL');
    expect(await waiting).toBe(LockStatus.OwnerDied);
    expect(lock.holdsExclusive).toBe(true);
    lock.unlock();
    expect(lock.tryLock()).toBe(LockStatus.Acquired);
    lock.unlock();
  });

  it('lets a blocked synchronous writer take over from a SIGKILLed shared holder', async () => {
    const p = peer();
    await p.next((m) => m.ready);
    p.send({ op: 'lockShared' });
    expect((await p.next((m) => m.op === 'lockShared')).status).toBe(LockStatus.Acquired);
    expect(lock.tryLock()).toBe(LockStatus.WouldBlock);
    expect(lock.tryLockShared()).toBe(LockStatus.Acquired);
    lock.unlockShared();
    p.kill('SIGKILL');
    await p.exited;
    expect(lock.lock(10_000)).toBe(LockStatus.OwnerDied);
    lock.unlock();
  });

  it('makes a reader wait for a writer in another process and blocks writers while readers hold it', async () => {
    const p = peer();
    await p.next((m) => m.ready);
    expect(lock.lockShared()).toBe(LockStatus.Acquired);
    p.send({ op: 'lock', timeoutMs: 50 });
    expect((await p.next((m) => m.op === 'lock')).status).toBe(LockStatus.WouldBlock);
    p.send({ op: 'lockShared', timeoutMs: 0 });
    expect((await p.next((m) => m.op === 'lockShared')).status).toBe(LockStatus.Acquired);
    p.send({ op: 'unlockShared' });
    await p.next((m) => m.op === 'unlockShared');
    // The peer now blocks on the exclusive lock until we leave.
    p.send({ op: 'lock' });
    await new Promise((r) => setTimeout(r, 50));
    expect(p.messages.some((m) => m.op === 'lock' && m.status === LockStatus.Acquired)).toBe(false);
    lock.unlockShared();
    expect((await p.next((m) => m.op === 'lock')).status).toBe(LockStatus.Acquired);
    expect(lock.tryLockShared()).toBe(LockStatus.WouldBlock);
    p.send({ op: 'unlock' });
    await p.next((m) => m.op === 'unlock');
    expect(lock.tryLockShared()).toBe(LockStatus.Acquired);
    lock.unlockShared();
  });

  it('keeps the event loop running while an async acquire waits on a held lock', async () => {
    const p = peer();
    await p.next((m) => m.ready);
    p.send({ op: 'lock' });
    await p.next((m) => m.op === 'lock');
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const waiting = lock.lockAsync();
    await new Promise((r) => setTimeout(r, 200));
    const ticksWhileWaiting = ticks;
    p.send({ op: 'unlock' });
    expect(await waiting).toBe(LockStatus.Acquired);
    clearInterval(timer);
    expect(ticksWhileWaiting).toBeGreaterThan(5);
    lock.unlock();
  });

  it('times out with WouldBlock, and explains the holder in timeoutError', async () => {
    const p = peer();
    await p.next((m) => m.ready);
    p.send({ op: 'lock' });
    await p.next((m) => m.op === 'lock');
    expect(lock.lock(30)).toBe(LockStatus.WouldBlock);
    expect(await lock.lockSharedAsync(30)).toBe(LockStatus.WouldBlock);
    const err = lock.timeoutError('exclusive', 30);
    expect(err.code).toBe('ERR_SHM_LOCK_TIMEOUT');
    expect(err.message).toMatch(/test-lock.*held exclusively by thread \d+/);
    p.send({ op: 'unlock' });
    await p.next((m) => m.op === 'unlock');
  });

  it('counts nested acquires by one handle and refuses an upgrade that would deadlock', () => {
    expect(lock.lock()).toBe(LockStatus.Acquired);
    expect(lock.lock()).toBe(LockStatus.Acquired);
    lock.unlock();
    expect(lock.holdsExclusive).toBe(true);
    lock.unlock();
    expect(lock.holdsExclusive).toBe(false);
    expect(() => lock.unlock()).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOT_HELD' }));
    expect(() => lock.unlockShared()).toThrow(expect.objectContaining({ code: 'ERR_SHM_NOT_HELD' }));
    lock.lockShared();
    expect(() => lock.lock()).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_DEADLOCK', message: expect.stringMatching(/upgrade/) }),
    );
    lock.unlockShared();
    const other = new RwLock(region, 0);
    lock.lock();
    expect(() => other.lock(0)).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_DEADLOCK', message: expect.stringMatching(/deadlock/) }),
    );
    expect(() => other.lockShared(0)).toThrow(expect.objectContaining({ code: 'ERR_SHM_DEADLOCK' }));
    lock.unlock();
    other.release();
  });

  it('gives an exact total when worker threads and processes contend on the same lock', async () => {
    const ps = [peer(), peer()];
    await Promise.all(ps.map((p) => p.next((m) => m.ready)));
    const workers = [0, 1].map(() => tsWorker(workerScript, { workerData: { name: region.name, n: 3000 } }));
    for (const p of ps) p.send({ op: 'incr', n: 3000 });
    await Promise.all([
      ...workers.map((w) => new Promise((r, j) => w.on('message', r).on('error', j))),
      ...ps.map((p) => p.next((m) => m.op === 'incr', 120_000)),
    ]);
    await Promise.all(workers.map((w) => w.terminate()));
    expect(region.i32[COUNTER]).toBe(12_000);
  });

  it('keeps writers out while more than 32 handles hold it shared (slots beyond the first bitmap word)', () => {
    const readers = Array.from({ length: 40 }, () => new RwLock(region, 0));
    try {
      for (const r of readers) expect(r.lockShared()).toBe(LockStatus.Acquired);
      expect(lock.state().sharedHolders).toBe(40);
      for (const r of readers.slice(0, 39)) r.unlockShared();
      // Only the 40th handle (slot 39, in the second bitmap word) still holds it.
      expect(lock.tryLock()).toBe(LockStatus.WouldBlock);
      readers[39]!.unlockShared();
      expect(lock.tryLock()).toBe(LockStatus.Acquired);
      lock.unlock();
    } finally {
      for (const r of readers) r.release();
    }
  });

  it('rejects memory that holds no lock', () => {
    const other = Region.create({ name: uniqueName(), size: 4096, register: false });
    try {
      expect(() => new RwLock(other, 0)).toThrow(/bad magic/);
      expect(() => new RwLock(other, 8)).toThrow(RangeError);
    } finally {
      other.destroy();
    }
  });
});
