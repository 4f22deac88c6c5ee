import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { type Peer, spawnPeer, tsWorker, uniqueKey, uniqueName, waitFor } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { ShmError, Store, type StoreOptions } from '../src/index.js';

const peerScript = fileURLToPath(new URL('./fixtures/watch-peer.ts', import.meta.url));

let cleanups: (() => void)[] = [];
let peers: Peer[] = [];
let workers: Worker[] = [];
afterEach(async () => {
  for (const p of peers) p.kill();
  await Promise.all(peers.map((p) => p.exited));
  peers = [];
  await Promise.all(workers.map((w) => w.terminate()));
  workers = [];
  const failed: unknown[] = [];
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch (e) {
      failed.push(e);
    }
  }
  cleanups = [];
  // A clean-up that fails leaves an object behind: say which, rather than leave it to the leak check.
  if (failed.length) throw new AggregateError(failed, 'clean-up failed');
});

function make(opts: StoreOptions = { name: uniqueName(), inlineCapacity: 8192 }): {
  store: Store;
  opts: StoreOptions;
} {
  const store = Store.create({ ...opts, register: false, pollMs: 5 });
  cleanups.push(() => {
    // The creating handle removes it unless a test closed that handle; not found: the test destroyed it.
    try {
      if (!store.closed) store.destroy();
      else Store.open({ ...opts, register: false }).destroy();
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ERR_SHM_NOT_FOUND' && code !== 'ENOENT' && !/destroyed/.test(String(e))) throw e;
    }
    store.close();
  });
  return { store, opts };
}

function peer(opts: StoreOptions, mode: string, args: object = {}): Peer {
  const p = spawnPeer(peerScript, [JSON.stringify(opts), mode, JSON.stringify(args)]);
  peers.push(p);
  return p;
}

function worker(opts: StoreOptions, mode: string, args: object = {}) {
  const w = tsWorker(peerScript, { workerData: [JSON.stringify(opts), mode, JSON.stringify(args)] });
  workers.push(w);
  const messages: any[] = [];
  const waiting: ((m: any) => void)[] = [];
  w.on('message', (m) => {
    const r = waiting.shift();
    if (r) r(m);
    else messages.push(m);
  });
  const next = () =>
    new Promise<any>((resolve, reject) => {
      const m = messages.shift();
      if (m !== undefined) return resolve(m);
      waiting.push(resolve);
      w.once('error', reject);
    });
  return { w, next };
}

/** Checks a value the peer's writer stored: u32 serial, then bytes of (serial & 255). Returns its serial. */
function tagged(b: Uint8Array): number {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const serial = buf.readUInt32LE(0);
  for (let i = 4; i < buf.length; i++) if (buf[i] !== (serial & 255)) throw new Error(`torn at byte ${i}`);
  return serial;
}

const code = (e: unknown) => (ShmError.isInstance(e) ? e.code : String(e));

describe('Store.waitForChange across processes', () => {
  it('a child sleeping in waitForChange wakes with the serial of the parent’s commit', async () => {
    const { store, opts } = make();
    store.store(Buffer.from('before'));
    const p = peer(opts, 'wait', { timeoutMs: 20_000 });
    const ready = await p.next((m) => m.ready);
    expect(ready.serial).toBe(1);
    await waitFor(() => store.debug().waiters === 1, 'the child to sleep'); // it sleeps, counted
    const serial = store.store(Buffer.from('after'));
    const r = await p.next((m) => 'woke' in m);
    expect(r.woke).toBe(serial);
    expect(r.ms).toBeLessThan(20_000);
    await waitFor(() => store.debug().waiters === 0, 'waiters === 0');
  });

  it('every way of committing wakes a sleeping child at once, inside a lock hold of the writer or not', async () => {
    // store() on x86 publishes with a plain store and wakes after its unlock; nested in a hold of the caller's the
    // unlock releases nothing and the commit must fence and wake itself. A lost wake would cost the child a whole
    // sleep slice (1 s) before it re-checks: each wake must come well before that.
    const { store, opts } = make();
    store.store(Buffer.from('before'));
    const commits: [string, () => number][] = [
      ['store()', () => store.store(Buffer.from('a'))],
      ['storeParts()', () => store.storeParts(Buffer.from('b'), Buffer.from('c'))],
      ['setValue()', () => store.setValue(Buffer.from('d'))],
      ['store() inside lock()', () => held(() => store.store(Buffer.from('e')))],
      ['storeLocked() inside lock()', () => held(() => store.storeLocked(Buffer.from('f')))],
      ['store() inside a nested lock()', () => held(() => held(() => store.store(Buffer.from('g'))))],
    ];
    function held(fn: () => number): number {
      store.lock.lock();
      try {
        return fn();
      } finally {
        store.lock.unlock();
      }
    }
    const p = peer(opts, 'waitEach', { n: commits.length, timeoutMs: 20_000 });
    for (const [what, commit] of commits) {
      const ready = await p.next((m) => m.ready);
      expect(ready.serial).toBe(store.serial);
      await waitFor(() => store.debug().waiters === 1, 'the child to sleep');
      const t0 = performance.now();
      const serial = commit();
      const r = await p.next((m) => 'woke' in m);
      expect({ what, woke: r.woke }).toEqual({ what, woke: serial });
      expect({ what, ms: performance.now() - t0 < 500 }).toEqual({ what, ms: true });
    }
  });

  it('the parent’s waitForChangeAsync wakes with a child’s commit, and the event loop keeps running meanwhile', async () => {
    const { store, opts } = make();
    const p = peer(opts, 'store', { n: 1, len: 64 });
    await p.next((m) => m.ready);
    const from = store.serial;
    const pending = store.waitForChangeAsync(from, 20_000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    await new Promise((r) => setTimeout(r, 100));
    expect(store.debug().waiters).toBe(1);
    p.send('go');
    const woke = await pending;
    clearInterval(timer);
    const done = await p.next((m) => m.done);
    expect(woke).toBe(done.last);
    expect(ticks).toBeGreaterThan(5); // timers fired while it waited
    expect(store.debug().waiters).toBe(0);
  });

  it('returns at once when the serial already differs, and returns undefined when the timeout passes', async () => {
    const { store } = make();
    store.store(Buffer.from('x'));
    expect(store.waitForChange(0)).toBe(1);
    expect(await store.waitForChangeAsync(0)).toBe(1);
    expect(store.waitForChange(1, 0)).toBeUndefined();
    expect(await store.waitForChangeAsync(1, 0)).toBeUndefined();
    let t = performance.now();
    expect(store.waitForChange(1, 150)).toBeUndefined();
    const syncMs = performance.now() - t;
    t = performance.now();
    expect(await store.waitForChangeAsync(1, 150)).toBeUndefined();
    const asyncMs = performance.now() - t;
    for (const ms of [syncMs, asyncMs]) {
      expect(ms).toBeGreaterThanOrEqual(140);
      expect(ms).toBeLessThan(5_000);
    }
    expect(store.debug().waiters).toBe(0);
  });

  it('a child’s timed wait returns null (undefined) when nobody commits', async () => {
    const { opts } = make();
    const p = peer(opts, 'wait', { timeoutMs: 200 });
    const r = await p.next((m) => 'woke' in m);
    expect(r.woke).toBeNull();
    expect(r.ms).toBeGreaterThanOrEqual(190);
  });

  it('a process waiting 2 s uses less than 20 ms of CPU (sync and async)', async () => {
    const { opts } = make();
    const sync = peer(opts, 'wait', { timeoutMs: 2000 });
    const async = peer(opts, 'waitAsync', { timeoutMs: 2000 });
    const [a, b] = await Promise.all([
      sync.next((m) => 'woke' in m, 30_000),
      async.next((m) => 'woke' in m, 30_000),
    ]);
    for (const r of [a, b]) {
      expect(r.woke).toBeNull();
      expect(r.ms).toBeGreaterThanOrEqual(1990);
      expect(r.cpuMs).toBeLessThan(20);
    }
  });
});

describe('Store.waitForChange between worker threads', () => {
  it('a worker sleeping in waitForChange wakes with the main thread’s commit', async () => {
    const { store, opts } = make();
    const { next } = worker(opts, 'wait', { timeoutMs: 20_000 });
    const ready = await next();
    expect(ready.ready).toBe(true);
    await waitFor(() => store.debug().waiters === 1, 'waiters === 1');
    const serial = store.store(Buffer.from('v'));
    const r = await next();
    expect(r.woke).toBe(serial);
  });

  it('the main thread’s waitForChangeAsync wakes with a worker’s commits', async () => {
    const { store, opts } = make();
    const { w, next } = worker(opts, 'store', { n: 3, len: 100 });
    await next();
    const pending = store.waitForChangeAsync(store.serial, 20_000);
    w.postMessage('go');
    const woke = await pending;
    const done = await next();
    expect(woke).toBeGreaterThanOrEqual(1);
    expect(woke).toBeLessThanOrEqual(done.last);
  });
});

describe('Store.changes()', () => {
  for (const len of [64, 4096]) {
    it(`1000 commits of ${len} B by a fast writer reach a slow consumer in order, whole, ending at the last`, async () => {
      const { store, opts } = make({ name: uniqueName(), inlineCapacity: 8192 });
      const p = peer(opts, 'store', { n: 1000, len });
      await p.next((m) => m.ready);
      const it = store.changes({ bytes: true });
      const seen: number[] = [];
      const finished = p.next((m) => m.done);
      p.send('go');
      // The store is new, so the writer's commits are serials 1..1000. The consumer stops at the last one it
      // knows of in advance: the writer's "done" message may arrive after the consumer has seen serial 1000.
      for await (const { serial, value } of it) {
        expect(tagged(value)).toBe(serial); // whole, and the value of that serial
        if (seen.length > 0) expect(serial).toBeGreaterThan(seen.at(-1)!);
        seen.push(serial);
        await new Promise((r) => setTimeout(r, 2)); // slow consumer
        if (serial >= 1000) break;
      }
      expect((await finished).last).toBe(1000);
      expect(seen.at(-1)).toBe(1000);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.length).toBeLessThanOrEqual(1000);
      expect(store.debug().waiters).toBe(0);
    });
  }

  it('decodes with the store’s serializer; since: 0 yields the current value first', async () => {
    const { store } = make();
    store.setValue({ n: 1 });
    const it = store.changes({ since: 0 });
    expect(await it.next()).toEqual({ done: false, value: { serial: 1, value: { n: 1 } } });
    setTimeout(() => store.setValue({ n: 2 }), 20);
    expect(await it.next()).toEqual({ done: false, value: { serial: 2, value: { n: 2 } } });
    await it.return();
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('return() ends a next() that is waiting', async () => {
    const { store } = make();
    const it = store.changes();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 30));
    expect(store.debug().waiters).toBe(1);
    await it.return();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(store.debug().waiters).toBe(0);
  });
});

describe('watching a store that is closed or destroyed', () => {
  it('close() of the handle rejects its waitForChangeAsync with ERR_SHM_CLOSED and ends its changes() cleanly', async () => {
    const { store, opts } = make();
    const other = Store.open({ ...opts, register: false });
    cleanups.push(() => other.close());
    const wait = store.waitForChangeAsync(store.serial).then(
      () => 'resolved',
      (e) => code(e),
    );
    const it = store.changes();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 30));
    expect(other.debug().waiters).toBe(2);
    store.close();
    expect(await wait).toBe('ERR_SHM_CLOSED');
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(other.debug().waiters).toBe(0); // uncounted before the head was unmapped
    expect(() => store.waitForChange(0)).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
    await expect(store.waitForChangeAsync(0)).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(() => store.changes()).toThrow(expect.objectContaining({ code: 'ERR_SHM_CLOSED' }));
  });

  for (const [backend, opts] of [
    ['posix', () => ({ name: uniqueName() })],
    ['sysv', () => ({ key: uniqueKey() })],
  ] as const) {
    it(`destroy() by another process wakes a sleeping child with ERR_SHM_CLOSED (${backend})`, async () => {
      const { store, opts: o } = make(opts());
      const p = peer(o, 'wait', { timeoutMs: 20_000 });
      await p.next((m) => m.ready);
      await waitFor(() => store.debug().waiters === 1, 'waiters === 1');
      store.destroy();
      const r = await p.next((m) => 'error' in m || 'woke' in m);
      expect(r.error).toBe('ERR_SHM_CLOSED');
      expect(r.message).toMatch(/destroyed/);
    });
  }

  it('destroy() through another handle rejects waitForChangeAsync and makes changes() throw ERR_SHM_CLOSED', async () => {
    const { store, opts } = make();
    const other = Store.open({ ...opts, register: false });
    cleanups.push(() => other.close());
    const wait = other.waitForChangeAsync(other.serial);
    const it = other.changes();
    const pending = it.next();
    await new Promise((r) => setTimeout(r, 30));
    store.destroy();
    await expect(wait).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED', message: /destroyed/ });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(() => other.waitForChange(0)).toThrow(/destroyed/);
  });
});

describe('the waiters count', () => {
  it('a watcher killed with SIGKILL leaves the count too high: commits still work and the next watcher still wakes', async () => {
    const { store, opts } = make();
    const p = peer(opts, 'count');
    const r = await p.next((m) => m.ready);
    expect(r.waiters).toBe(1);
    p.kill('SIGKILL');
    await p.exited;
    expect(store.debug().waiters).toBe(1); // stale: each commit now pays one spare wake
    expect(store.store(Buffer.from('a'))).toBe(1);
    const q = peer(opts, 'wait', { timeoutMs: 20_000 });
    await q.next((m) => m.ready);
    await waitFor(() => store.debug().waiters === 2, 'waiters === 2');
    const serial = store.store(Buffer.from('b'));
    expect((await q.next((m) => 'woke' in m)).woke).toBe(serial);
    await waitFor(() => store.debug().waiters === 1, 'waiters === 1');
  });
});

describe('argument checks', () => {
  it('refuses bad serials, timeouts, signals and options before waiting', async () => {
    const { store } = make();
    expect(() => store.waitForChange('1' as never)).toThrow(TypeError);
    expect(() => store.waitForChange(-1)).toThrow(RangeError);
    expect(() => store.waitForChange(1.5)).toThrow(RangeError);
    expect(() => store.waitForChange(2 ** 30)).toThrow(RangeError);
    expect(() => store.waitForChange(0, -1)).toThrow(RangeError);
    expect(() => store.waitForChange(0, Number.NaN)).toThrow(RangeError);
    expect(() => store.waitForChange(0, '5' as never)).toThrow(/Expected a number of milliseconds/);
    await expect(store.waitForChangeAsync(null as never)).rejects.toThrow(TypeError);
    await expect(store.waitForChangeAsync(0, -5)).rejects.toThrow(RangeError);
    await expect(store.waitForChangeAsync(0, 10, {} as never)).rejects.toThrow(TypeError);
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(store.waitForChangeAsync(0, undefined, ac.signal)).rejects.toThrow('stop');
    expect(() => store.changes('x' as never)).toThrow(TypeError);
    expect(() => store.changes({ since: -1 })).toThrow(RangeError);
    expect(() => store.changes({ bytes: 1 as never })).toThrow(TypeError);
  });

  it('an AbortSignal ends a pending waitForChangeAsync and uncounts it', async () => {
    const { store } = make();
    const ac = new AbortController();
    const p = store.waitForChangeAsync(0, undefined, ac.signal);
    await new Promise((r) => setTimeout(r, 20));
    expect(store.debug().waiters).toBe(1);
    ac.abort(new Error('enough'));
    await expect(p).rejects.toThrow('enough');
    expect(store.debug().waiters).toBe(0);
  });
});
