// One process, several connections (each its own worker thread and server connection), against a real redis-server.
import { LockStatus, ShmError } from '@shm/core';
import { msgpack } from '@shm/serializer-msgpack';
import { type RedisServer, startRedis, stopRedis, waitFor } from '@shm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection, RedisStore } from '../src/index.js';
import { rawClient, uniqueStoreName } from './helpers.js';

let server: RedisServer;
let a: RedisConnection;
let b: RedisConnection;
beforeAll(async () => {
  // A 1 MB request limit: the split of large values into parts is exercised without gigabytes.
  server = await startRedis(undefined, ['--proto-max-bulk-len', '1mb']);
  a = RedisConnection.connectSync({ url: server.url });
  b = await RedisConnection.connect({ url: server.url });
});
afterAll(async () => {
  a?.closeSync();
  await b?.close();
  if (server) await stopRedis(server);
});

/**
 * What `s` reads once the invalidation of another connection's commit reached its worker (the server pushes it
 * right after the commit; until it arrives, the copy is the previous value: see the guide).
 */
async function eventually(s: RedisStore, want: unknown): Promise<unknown> {
  let v: unknown;
  for (let i = 0; i < 400; i++) {
    v = s.getValue();
    if (JSON.stringify(v) === JSON.stringify(want)) return v;
    await new Promise((res) => setTimeout(res, 5));
  }
  return v;
}

/**
 * Whether `read` returns `want` within 2 s. A handle of another connection answers from its copy until the
 * invalidation of the commit reaches its worker (on its way when the commit returns): meanwhile it may return
 * `previous`, never anything else.
 */
async function until(read: () => Uint8Array | Promise<Uint8Array>, want: Buffer, previous: Buffer) {
  for (let i = 0; i < 400; i++) {
    const got = Buffer.from(await read());
    if (got.equals(want)) return true;
    expect(got.equals(previous), `a read returned ${got.byteLength} bytes`).toBe(true);
    await new Promise((res) => setTimeout(res, 5));
  }
  return false;
}

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return ShmError.isInstance(e) ? e.code : (e as Error).name;
  }
  return 'no error';
};

describe('create, open, store and fetch', () => {
  it('creates by name, opens by name elsewhere, and the serial changes on every commit', async () => {
    const name = uniqueStoreName();
    const w = RedisStore.create({ connection: a, name });
    const r = RedisStore.open({ connection: b, name });
    // r's copy is current until the invalidation of w's commit reaches r's worker (it is on its way when w.store()
    // returns): what r reads meanwhile is the previous value, never an older one.
    const serialSeen = async (want: number) => {
      for (let i = 0; i < 400 && r.serial !== want; i++) {
        expect(r.serial).toBe(want - 1);
        await new Promise((res) => setTimeout(res, 5));
      }
      return r.serial;
    };
    try {
      expect(w.created).toBe(true);
      expect(r.created).toBe(false);
      expect(r.serial).toBe(0);
      expect(r.getValue()).toBeUndefined();
      const s1 = w.store(Buffer.from('one'));
      const s2 = w.store(Buffer.from('two'));
      expect(s2).toBe(s1 + 1);
      // r read serial 0 before both commits: it sees 0 until the first invalidation arrives, then s2.
      for (let i = 0; i < 400 && r.serial === 0; i++) await new Promise((res) => setTimeout(res, 5));
      expect(r.serial).toBe(s2);
      const info = { serial: 0, serializerId: -1 };
      expect(Buffer.from(r.fetch(undefined, info)).toString()).toBe('two');
      expect(info).toEqual({ serial: s2, serializerId: 0 });
      expect(r.changedSince(s2)).toBe(false);
      w.store(Buffer.from('three'));
      expect(await serialSeen(s2 + 1)).toBe(s2 + 1);
      expect(r.changedSince(s2)).toBe(true);
      const into = Buffer.alloc(16);
      expect(Buffer.from(r.fetch(into)).toString()).toBe('three');
    } finally {
      w.destroy();
      r.close();
    }
  });

  it('values larger than a part are split, committed atomically and read back whole; the old parts go', async () => {
    const name = uniqueStoreName('parts');
    const w = RedisStore.create({ connection: a, name, partSize: 1024 * 1024 });
    const r = RedisStore.open({ connection: b, name });
    const raw = await rawClient(server);
    try {
      const big = Buffer.alloc(3.5 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
      w.store(big);
      expect(Buffer.compare(Buffer.from(r.fetch()), big)).toBe(0);
      expect(await raw.keys(`shm:{${name}}:p:*`)).toHaveLength(4);
      const big2 = Buffer.alloc(2.5 * 1024 * 1024, 7);
      w.store(big2);
      expect(await until(() => r.fetchAsync(), big2, big)).toBe(true);
      expect(await raw.keys(`shm:{${name}}:p:*`)).toHaveLength(3);
      w.store(Buffer.from('small again'));
      expect(await raw.keys(`shm:{${name}}:p:*`)).toHaveLength(0);
      expect(await until(() => r.fetch(), Buffer.from('small again'), big2)).toBe(true);
    } finally {
      w.destroy();
      r.close();
      await raw.close();
    }
  });

  it.each([
    ['json', { a: [1, 'two', null] }],
    [
      'v8',
      new Map<unknown, unknown>([
        [1, new Date(0)],
        ['x', new Set([1n])],
      ]),
    ],
    ['raw', Buffer.from([0, 1, 2, 255])],
    ['msgpack (a Serializer object)', { nested: { deep: [1.5, true] } }],
  ])('serializer %s round-trips through another connection', (label, value) => {
    const name = uniqueStoreName('ser');
    const serializer = label.startsWith('msgpack') ? msgpack : label;
    const w = RedisStore.create({ connection: a, name, serializer });
    const r = RedisStore.open({ connection: b, name, serializer });
    try {
      w.setValue(value);
      expect(r.getValue()).toEqual(value);
    } finally {
      w.destroy();
      r.close();
    }
  });

  it('getValue() of an unchanged value decodes nothing and sends nothing; a change by another handle is seen', async () => {
    const name = uniqueStoreName('copy');
    const w = RedisStore.create({ connection: a, name, serializer: 'json' });
    const r = await RedisStore.openAsync({ connection: b, name, serializer: 'json' });
    try {
      // r tracks the head since it opened it: let the invalidation of this commit arrive before r reads, or it
      // would land after r's read and cost one more.
      const c0 = r.debug().changes;
      w.setValue({ n: 1 });
      await waitFor(() => r.debug().changes > c0, "the invalidation of w's commit at r's worker");
      const first = r.getValue();
      const before = { ...r.stats };
      for (let i = 0; i < 1000; i++) expect(r.getValue()).toBe(first);
      expect(r.stats.requests - before.requests).toBe(0);
      expect(r.stats.decodes - before.decodes).toBe(0);
      await w.setValueAsync({ n: 2 });
      // The invalidation travels to r's worker; once it arrived, r never serves the old copy.
      let v: unknown;
      for (let i = 0; i < 200 && (v = r.getValue()) === first; i++)
        await new Promise((res) => setTimeout(res, 5));
      expect(v).toEqual({ n: 2 });
      // The writer's own synchronous commit leaves its copy current at once: no command to read back what it
      // wrote (the worker commits under NOLOOP and tracks the head again in the same round trip).
      w.setValue({ n: 3 });
      const wb = { ...w.stats };
      expect(w.getValue()).toEqual({ n: 3 });
      expect(w.stats.requests).toBe(wb.requests);
      // An async commit goes out on this thread's own connection; the worker hears of it as of anyone's write, and
      // the writer's next read asks the server once (test/writers.test.ts has the details).
      await w.setValueAsync({ n: 4 });
      expect(w.getValue()).toEqual({ n: 4 });
      expect(await w.getValueAsync()).toEqual({ n: 4 });
    } finally {
      w.destroy();
      r.close();
    }
  });

  it('update() from two connections interleaved: each retry sees the winner, nothing is lost', async () => {
    const name = uniqueStoreName('cas');
    const x = RedisStore.create({ connection: a, name, serializer: 'json' });
    const y = RedisStore.open({ connection: b, name, serializer: 'json' });
    try {
      x.setValue(0);
      y.getValue();
      // y's copy is 0; x commits 1 first, so y's compare-and-set must fail once and retry on 1.
      const seen: number[] = [];
      x.update<number>((v) => v! + 1);
      const out = y.update<number>((v, info) => {
        seen.push(v!);
        if (info.attempt === 0) expect(info.serial).toBeGreaterThan(0);
        return v! + 1;
      });
      expect(out).toBe(2);
      expect(await eventually(x, 2)).toBe(2);
      const r = await Promise.all(
        Array.from({ length: 50 }, (_, i) => (i % 2 ? x : y).updateAsync<number>(async (v) => v! + 1)),
      );
      expect(r).toHaveLength(50);
      expect(await eventually(y, 52)).toBe(52);
      expect(await eventually(x, 52)).toBe(52);
      expect(x.update(() => undefined)).toBeUndefined();
      expect(x.serial).toBe(53);
    } finally {
      x.destroy();
      y.close();
    }
  });
});

describe('locks', () => {
  it('exclusive and shared leases: try-locks, a writer waits for the holder, tokens increase', async () => {
    const name = uniqueStoreName('lock');
    const x = RedisStore.create({ connection: a, name, serializer: 'json', leaseMs: 2000 });
    const y = RedisStore.open({ connection: b, name, serializer: 'json', leaseMs: 2000 });
    try {
      expect(x.lock.lock()).toBe(LockStatus.Acquired);
      const t1 = x.lock.token!;
      expect(y.lock.tryLock()).toBe(LockStatus.WouldBlock);
      expect(y.lock.tryLockShared()).toBe(LockStatus.WouldBlock);
      // A plain store by another handle waits for the release.
      let stored = false;
      const pending = y.setValueAsync('after').then(() => {
        stored = true;
      });
      await new Promise((res) => setTimeout(res, 300));
      expect(stored).toBe(false);
      x.setValueLocked('under the lock');
      expect(x.lock.unlock()).toBe(true);
      await pending;
      expect(await eventually(x, 'after')).toBe('after');
      expect(await y.lock.lockAsync()).toBe(LockStatus.Acquired);
      expect(y.lock.token!).toBeGreaterThan(t1);
      await y.lock.unlockAsync();
      expect(x.lock.lockShared()).toBe(LockStatus.Acquired);
      expect(y.lock.lockShared()).toBe(LockStatus.Acquired);
      expect(y.lock.tryLock === undefined).toBe(false);
      expect(code(() => y.setValue('no'))).toBe('ERR_SHM_DEADLOCK');
      x.lock.unlockShared();
      y.lock.unlockShared();
      expect(code(() => x.lock.unlock())).toBe('ERR_SHM_NOT_HELD');
      expect(code(() => x.storeLocked(Buffer.from('x')))).toBe('ERR_SHM_NOT_HELD');
      expect(x.lock.lock(0)).toBe(LockStatus.Acquired);
      x.lock.unlock();
    } finally {
      x.destroy();
      y.close();
    }
  });
});

describe('bad input: a clear error before anything is done', () => {
  it('a missing name without create, an exclusive create of an existing store', () => {
    const name = uniqueStoreName('missing');
    expect(() => RedisStore.open({ connection: a, name })).toThrow(
      /No store 't-.*missing.*' on redis 127\.0\.0\.1:\d+/,
    );
    expect(code(() => RedisStore.open({ connection: a, name }))).toBe('ERR_SHM_NOT_FOUND');
    const s = RedisStore.create({ connection: a, name, exclusive: true });
    expect(code(() => RedisStore.create({ connection: b, name, exclusive: true }))).toBe('ERR_SHM_EXISTS');
    s.destroy();
  });

  it("another serializer than the value's", () => {
    const name = uniqueStoreName('mismatch');
    const w = RedisStore.create({ connection: a, name, serializer: 'json' });
    const r = RedisStore.open({ connection: b, name, serializer: msgpack });
    try {
      w.setValue({ a: 1 });
      expect(() => r.getValue()).toThrow(/written with 'json' \(id 0x[0-9a-f]+\), read with 'msgpack'/);
      expect(code(() => r.getValue())).toBe('ERR_SHM_SERIALIZER_MISMATCH');
    } finally {
      w.destroy();
      r.close();
    }
  });

  it('a value too large is refused before anything is sent', () => {
    const name = uniqueStoreName('large');
    const w = RedisStore.create({ connection: a, name, maxValueSize: 1000 });
    try {
      w.store(Buffer.alloc(1000));
      const requests = w.stats.requests;
      expect(() => w.store(Buffer.alloc(1001))).toThrow(
        /1001 bytes does not fit; this store takes at most 1000/,
      );
      expect(code(() => w.setValue('x'.repeat(2000)))).toBe('ERR_SHM_TOO_LARGE');
      expect(w.stats.requests).toBe(requests);
      expect(w.serial).toBe(1);
    } finally {
      w.destroy();
    }
  });

  it('connection refused names the server', async () => {
    const url = 'redis://127.0.0.1:1';
    expect(() => RedisConnection.connectSync({ url })).toThrow(
      /Cannot connect to redis 127\.0\.0\.1:1: .*ECONNREFUSED/,
    );
    expect(code(() => RedisStore.create({ url, name: 'x' }))).toBe('ECONNREFUSED');
    await expect(RedisStore.createAsync({ url, name: 'x' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('wrong argument types and ranges are TypeError/RangeError naming the argument', async () => {
    const name = uniqueStoreName('args');
    const s = RedisStore.create({ connection: a, name });
    try {
      const cases: [() => unknown, ErrorConstructor, RegExp][] = [
        [() => RedisStore.create({ connection: a } as never), TypeError, /options\.name/],
        [() => RedisStore.create({ connection: a, name: '' }), RangeError, /options\.name/],
        [() => RedisStore.create({ connection: a, name: 'a{b}' }), RangeError, /options\.name/],
        [() => RedisStore.create({ connection: a, name, partSize: 10 }), RangeError, /options\.partSize/],
        [
          () => RedisStore.create({ connection: a, name, leaseMs: '5' as never }),
          TypeError,
          /options\.leaseMs/,
        ],
        [() => RedisStore.create({ connection: a, name, serializer: 'yaml' }), RangeError, /serializer/],
        [() => RedisStore.create({ connection: 5 as never, name }), TypeError, /options\.connection/],
        [() => RedisStore.create({ connection: a, name, colour: 1 } as never), TypeError, /option name/],
        [() => new RedisConnection({ url: 'http://x' }), TypeError, /options\.url/],
        [() => new RedisConnection({ timeoutMs: -1 }), RangeError, /options\.timeoutMs/],
        [() => s.store('text' as never), TypeError, /bytes/],
        [() => s.store(Buffer.alloc(1), -1), RangeError, /serializer/],
        [() => s.update(5 as never), TypeError, /fn/],
        [() => s.lock.lock(-5), RangeError, /timeoutMs/],
        [() => s.lock.lockShared('1' as never), TypeError, /timeoutMs/],
        [() => s.fetch([] as never), TypeError, /into/],
        [() => s.changedSince(-1), RangeError, /serial/],
      ];
      for (const [f, C, re] of cases) {
        expect(f, String(f)).toThrow(C);
        expect(f, String(f)).toThrow(re);
      }
      await expect(s.waitForChange(1.5)).rejects.toThrow(RangeError);
      await expect(s.updateAsync(null as never)).rejects.toThrow(/fn/);
      expect(s.serial).toBe(0);
    } finally {
      s.destroy();
    }
  });
});
