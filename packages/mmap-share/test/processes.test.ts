import { describe, expect, it } from 'vitest';
import { LockStatus, MmapShare } from '../src/index.js';
import { childScript, execArgv, forkStdio, messages, track } from './helpers.js';

const fork = (share: MmapShare, args: string[], extra: Record<string, MmapShare> = {}) =>
  messages(share.fork(childScript, args, { execArgv, stdio: [...forkStdio], shares: extra }));

describe('a share handed to child processes', () => {
  it('keeps an exact total when a parent and four children do locked read-modify-write of a counter', async () => {
    const N = 500;
    const share = track(new MmapShare(64));
    share.set(0);
    const kids = [0, 1, 2, 3].map(() => fork(share, ['count', String(N)]));
    await Promise.all(kids.map((k) => k.next((m) => m.ready)));
    for (const k of kids) k.child.send({ go: true });
    for (let i = 0; i < N; i++) {
      share.lock();
      share.set((share.get() as number) + 1);
      share.unlock();
    }
    for (const k of kids) {
      const m = await k.next((m) => m.done || m.error);
      expect(m).toEqual({ done: true });
      expect(await k.exited).toEqual({ code: 0, signal: null });
    }
    expect(share.get()).toBe(5 * N);
  });

  it('does not wedge the others when a child is killed holding the lock: the next holder gets OwnerDied', async () => {
    const share = track(new MmapShare(64));
    share.set(0);
    const holder = fork(share, ['hold', '10']);
    await holder.next((m) => m.holding);
    // Held by a live process: a bounded wait times out with a clear error, and the value is the holder's.
    expect(() => share.lock(50)).toThrow(expect.objectContaining({ code: 'ERR_SHM_LOCK_TIMEOUT' }));
    expect(share.tryLock()).toBe(LockStatus.WouldBlock);
    // Three waiters queue up behind the holder (they block in lock()).
    const waiters = [0, 1, 2].map(() => fork(share, ['lock-incr']));
    await Promise.all(waiters.map((w) => w.next((m) => m.ready)));
    for (const w of waiters) w.child.send({ go: true });
    holder.child.kill('SIGKILL');
    expect(await holder.exited).toEqual({ code: null, signal: 'SIGKILL' });
    const statuses: number[] = [];
    for (const w of waiters) {
      const m = await w.next((m) => 'status' in m || m.error);
      statuses.push(m.status);
      expect(await w.exited).toEqual({ code: 0, signal: null });
    }
    // Exactly one waiter took the lock over from the dead holder and was told; the others got it normally.
    expect(statuses.filter((s) => s === LockStatus.OwnerDied)).toHaveLength(1);
    expect(statuses.filter((s) => s === LockStatus.Acquired)).toHaveLength(2);
    expect(share.lock()).toBe(LockStatus.Acquired); // the parent is not wedged either
    expect(share.get()).toBe(10 + 3); // the dead holder's committed set(10) stands, then three increments
    share.unlock();
  });

  it('reports OwnerDied to the parent itself when it is the next to lock', async () => {
    const share = track(new MmapShare(64));
    share.set('before');
    const holder = fork(share, ['hold', '"during"']);
    await holder.next((m) => m.holding);
    holder.child.kill('SIGKILL');
    await holder.exited;
    expect(share.lock()).toBe(LockStatus.OwnerDied);
    expect(share.get()).toBe('during');
    share.unlock();
    expect(share.lock()).toBe(LockStatus.Acquired);
    share.unlock();
  });

  it('reaches a grandchild forked by a child from its inherited share', async () => {
    const share = track(new MmapShare(256));
    share.set({ from: 'parent' });
    const child = fork(share, ['fork-grandchild', 'set', '{"from":"grandchild"}']);
    const m = await child.next((m) => m.grandchild || m.error);
    expect(m.grandchild).toEqual({ ok: true });
    expect(m.grandchildPid).not.toBe(child.child.pid);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(share.get()).toEqual({ from: 'grandchild' });
  });

  it('hands several shares to one child by name', async () => {
    const a = track(new MmapShare(64));
    const b = track(new MmapShare(64, { serializer: 'json' }));
    a.set('a value');
    b.set({ b: true });
    const first = fork(a, ['get'], { other: b });
    expect(await first.next()).toMatchObject({ value: 'a value', size: 64 });
    const second = fork(a, ['get', 'other'], { other: b });
    expect(await second.next()).toMatchObject({ value: { b: true } });
    const missing = fork(a, ['get', 'nope'], { other: b });
    const err = await missing.next();
    expect(err.code).toBe('ERR_SHM_NOT_FOUND');
    expect(err.error).toContain("'default', 'other'");
  });

  it('works through spawn() of a Node program, which reads the share and can replace it', async () => {
    const share = track(new MmapShare(128));
    share.set([1, 2, 3]);
    const child = share.spawn(process.execPath, [...execArgv, childScript, 'set', '[4,5,6]'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const out: string[] = [];
    child.stdout!.on('data', (d) => out.push(String(d)));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toEqual({ ok: true });
    expect(share.get()).toEqual([4, 5, 6]);
  });

  it('puts the share after the three slots of a stdio string such as "pipe"', async () => {
    const share = track(new MmapShare(128));
    share.set('via slot 3');
    const child = share.spawn(process.execPath, [...execArgv, childScript, 'get'], { stdio: 'pipe' });
    const out: string[] = [];
    child.stdout!.on('data', (d) => out.push(String(d)));
    const code = await new Promise((r) => child.on('exit', r));
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ value: 'via slot 3' });
  });

  it('makes a child name the serializer object a share uses, and refuses a different one', async () => {
    const share = track(new MmapShare(64, { serializer: 'json' }));
    share.set({ ok: 1 });
    const same = fork(share, ['serializer', 'json']);
    expect(await same.next()).toEqual({ value: { ok: 1 } });
    const other = fork(share, ['serializer', 'v8']);
    const m = await other.next();
    expect(m.code).toBe('ERR_SHM_SERIALIZER_MISMATCH');
    expect(m.error).toContain("'json'");
  });

  it("never shows a value of another process's lock() section before its unlock(): get() waits for the section", async () => {
    // A get() that read without the lock (core's fetch() alone) would return ['mid', i] here: the whole value of
    // a commit, but one the section had not finished with (decision 0013).
    const N = 2000;
    const share = track(new MmapShare(64));
    share.set(['end', -1]);
    const writer = fork(share, ['sections', String(N)]);
    await writer.next((m) => m.ready);
    writer.child.send({ go: true });
    const seen = { mid: 0, end: 0, distinct: new Set<number>() };
    const deadline = performance.now() + 30_000;
    let acked = -1;
    for (;;) {
      const [stage, i] = share.get() as [string, number];
      if (stage === 'mid') seen.mid++;
      else seen.end++;
      seen.distinct.add(i);
      // The writer waits for this after every 100th section (see the fixture): the reads interleave with the run.
      if (stage === 'end' && i % 100 === 99 && i > acked) {
        acked = i;
        writer.child.send({ saw: i });
      }
      if (stage === 'end' && i === N - 1) break;
      if (performance.now() > deadline) throw new Error(`the writer did not finish (at ${stage} ${i})`);
    }
    expect(await writer.next((m) => m.done || m.error)).toEqual({ done: true });
    expect(seen.mid).toBe(0);
    // The reads did interleave with the sections: at least the 20 checkpoints, and between them the reads that
    // waited for a section's lock (a get() without the lock saw thousands of 'mid' values in this test).
    expect(seen.distinct.size).toBeGreaterThanOrEqual(N / 100);
  });

  it('shows a child the value the parent kept after a rejected set()', async () => {
    const share = track(new MmapShare(32));
    share.set('kept');
    expect(() => share.set('x'.repeat(100))).toThrow(expect.objectContaining({ code: 'ERR_SHM_TOO_LARGE' }));
    const child = fork(share, ['get']);
    expect(await child.next()).toMatchObject({ value: 'kept' });
  });
});
