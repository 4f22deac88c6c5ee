// lockAsync and the other async waits park on threads of their own, never on the libuv pool; timeouts work;
// close and destroy reject pending waits; a handle with nothing waiting does not hold the event loop.
import { pbkdf2 } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { LOCK_EX, LOCK_SH, ShareLite, ShmSystemError } from '@shm/sharelite';
import { type Peer, spawnPeer, uniqueKey } from '@shm/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cmd, perlPeer, purge, semValues, stopPeer } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WAITER = new URL('./fixtures/lock-waiter.ts', import.meta.url).pathname;

let key: number;
let perl: Peer | undefined;
const shares: ShareLite[] = [];
const open = (create = false) => {
  const s = new ShareLite({ key, create });
  shares.push(s);
  return s;
};

beforeEach(() => {
  key = uniqueKey();
});
afterEach(async () => {
  for (const s of shares.splice(0)) {
    try {
      s.close();
    } catch {
      /* removed already */
    }
  }
  await stopPeer(perl);
  perl = undefined;
  purge(key);
});

/** Milliseconds for 4 each of fs.readFile, crypto.pbkdf2 and dns.lookup at once (all need the libuv pool). */
async function poolCalls(): Promise<number> {
  const t0 = performance.now();
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 4; i++) {
    calls.push(readFile(WAITER));
    calls.push(promisify(pbkdf2)('pw', 'salt', 2000, 32, 'sha256'));
    calls.push(lookup('localhost'));
  }
  const stalled = sleep(20_000).then(() => 'stalled: the pool is taken by lock waits');
  expect(await Promise.race([Promise.all(calls).then(() => 'done'), stalled])).toBe('done');
  return performance.now() - t0;
}

/** A Perl process that opened the share (before anyone locks it: Perl's new() takes EX) and holds `flags`. */
async function perlHolding(flags: number): Promise<Peer> {
  perl = await perlPeer();
  await cmd(perl, { cmd: 'open', key });
  expect((await cmd(perl, { cmd: 'lock', flags })).result).toBe(1);
  return perl;
}

describe('async waits', () => {
  it('64 lockAsync waits parked on a lock Perl holds leave fs, crypto and dns calls prompt', async () => {
    open(true);
    const handles = Array.from({ length: 64 }, () => open());
    const idle = await poolCalls();
    const p = await perlHolding(LOCK_EX);
    const got: boolean[] = [];
    // Each waiter unlocks as soon as it has the lock, so the 64 go through one after another at the end.
    const waits = handles.map((h, i) =>
      h.lockAsync(i % 2 ? LOCK_SH : LOCK_EX).then((ok) => {
        got.push(ok);
        h.unlock();
      }),
    );
    await sleep(200);
    expect(got).toEqual([]);
    const busy = await poolCalls();
    // Generous for a loaded machine; with the waits on pool threads these calls do not finish at all.
    expect(busy).toBeLessThan(idle * 20 + 2000);
    expect(got).toEqual([]);
    await cmd(p, { cmd: 'unlock' });
    await Promise.all(waits);
    expect(got).toEqual(Array(64).fill(true));
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('a timeout still gives false while another process holds the lock', async () => {
    const a = open(true);
    const p = await perlHolding(LOCK_EX);
    const t0 = performance.now();
    expect(await a.lockAsync(LOCK_SH, 150)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(a.locked).toBe(0);
    await cmd(p, { cmd: 'unlock' });
    expect(await a.lockAsync(LOCK_SH, 5000)).toBe(true);
    a.unlock();
  });

  it('close() rejects a pending wait with ERR_SHM_CLOSED and leaves no lock behind', async () => {
    open(true);
    const b = open();
    const p = await perlHolding(LOCK_EX);
    const pending = b.lockAsync();
    const queued = b.fetchAsync();
    await sleep(50);
    const t0 = performance.now();
    b.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    await expect(queued).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(performance.now() - t0).toBeLessThan(1000);
    await cmd(p, { cmd: 'unlock' });
    await sleep(400); // past one slice of the waiter thread, which would take the lock back if it got it
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('a share destroyed meanwhile rejects a pending wait with EIDRM, saying the share was removed', async () => {
    const a = open(true);
    const p = await perlHolding(LOCK_EX);
    const pending = a.lockAsync(LOCK_SH);
    await sleep(50);
    await cmd(p, { cmd: 'destroy' });
    const e = await pending.catch((x) => x);
    expect(ShmSystemError.isInstance(e)).toBe(true);
    expect(e).toMatchObject({ code: 'EIDRM' });
    expect(e.message).toContain('the share was removed');
  });

  it('a process whose only wait was rejected by close() exits by itself while the lock is still held', async () => {
    const a = open(true);
    const w = spawnPeer(WAITER, [String(key), '150']);
    try {
      await w.next((m) => m.opened === 1);
      a.lock(LOCK_EX);
      const t0 = performance.now();
      w.send({ cmd: 'wait' });
      expect(await w.next((m) => m.settled !== undefined)).toMatchObject({
        settled: 'rejected',
        code: 'ERR_SHM_CLOSED',
      });
      expect((await w.exited).code).toBe(0);
      // Exited with the lock still held by us: nothing (no thread, no handle) kept its event loop alive.
      expect(a.locked).toBe(LOCK_EX);
      expect(performance.now() - t0).toBeLessThan(15_000);
    } finally {
      a.unlock();
      w.kill();
    }
  });
});
