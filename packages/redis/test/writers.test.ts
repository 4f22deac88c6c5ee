// Writer A commits, writer B commits, A reads: A must see B's value, whatever path each call takes (the worker's
// connection for sync calls, the calling thread's own connection for async ones), and A's decoded copy must not be
// served once B's commit reached A. The trap: a write removes the key from the server's tracking table for every
// client, the writer included even under NOLOOP; a client that is not tracking the key any more is never told of
// the next write. Against a real redis-server.
import { type RedisServer, startRedis, stopRedis, waitFor } from '@shm/test-utils';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection, RedisStore } from '../src/index.js';
import { uniqueStoreName } from './helpers.js';

let server: RedisServer;
let a: RedisConnection;
let b: RedisConnection;
beforeAll(async () => {
  server = await startRedis();
  a = await RedisConnection.connect({ url: server.url });
  b = RedisConnection.connectSync({ url: server.url });
});
afterAll(async () => {
  await a?.close();
  b?.closeSync();
  if (server) await stopRedis(server);
});

type Write = 'sync' | 'async';
type Read = 'getValue' | 'fetch' | 'getValueAsync' | 'fetchAsync';

async function write(s: RedisStore, how: Write, v: string): Promise<number> {
  return how === 'sync' ? s.setValue(v) : s.setValueAsync(v);
}

async function read(s: RedisStore, how: Read): Promise<unknown> {
  switch (how) {
    case 'getValue':
      return s.getValue();
    case 'getValueAsync':
      return s.getValueAsync();
    case 'fetch':
      return JSON.parse(Buffer.from(s.fetch()).toString());
    case 'fetchAsync':
      return JSON.parse(Buffer.from(await s.fetchAsync()).toString());
  }
}

/**
 * What `s` reads until it is `want` (bounded: B's invalidation is on its way to A's worker when B's commit returns,
 * and the read may come first). Every value read on the way must be `want` or `previous`: never an older one.
 */
async function readUntil(s: RedisStore, how: Read, want: string, previous: string): Promise<unknown> {
  const deadline = performance.now() + 3000;
  for (;;) {
    const v = await read(s, how);
    if (v === want) return v;
    expect([want, previous], `${how} read ${JSON.stringify(v)}`).toContain(v);
    if (performance.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('writer A, then writer B, then A reads', () => {
  const cases: [Write, Write, Read][] = [];
  for (const wa of ['sync', 'async'] as Write[])
    for (const wb of ['sync', 'async'] as Write[])
      for (const r of ['getValue', 'fetch', 'getValueAsync', 'fetchAsync'] as Read[]) cases.push([wa, wb, r]);

  it.each(cases)(
    'A writes %s, B writes %s, A reads with %s: A sees B’s value, every round',
    async (wa, wb, how) => {
      const name = uniqueStoreName('ab');
      const A = await RedisStore.createAsync({ connection: a, name, serializer: 'json' });
      const B = RedisStore.open({ connection: b, name, serializer: 'json' });
      try {
        for (let i = 0; i < 15; i++) {
          await write(A, wa, `a${i}`);
          // A's own value, as a current copy (read once, so that a later stale answer would come from the copy).
          expect(await read(A, how)).toBe(`a${i}`);
          await write(B, wb, `b${i}`);
          expect(await readUntil(A, how, `b${i}`, `a${i}`), `round ${i}`).toBe(`b${i}`);
          // B's value stays: once seen, A never goes back to its own older copy.
          expect(await read(A, how)).toBe(`b${i}`);
        }
      } finally {
        await A.destroyAsync();
        B.close();
      }
    },
  );

  it('once waitForChange() reports a newer serial, the next read returns that value (the copy is not served)', async () => {
    const name = uniqueStoreName('wait-read');
    const A = await RedisStore.createAsync({ connection: a, name, serializer: 'json' });
    const B = RedisStore.open({ connection: b, name, serializer: 'json' });
    try {
      for (let i = 0; i < 30; i++) {
        const s = A.setValue(`a${i}`);
        expect(A.getValue()).toBe(`a${i}`);
        const waiting = A.waitForChange(s, 5000);
        B.setValue(`b${i}`);
        expect(await waiting).toBeGreaterThan(s);
        expect(A.getValue(), `round ${i}`).toBe(`b${i}`);
      }
    } finally {
      await A.destroyAsync();
      B.close();
    }
  });

  it('a writer that only writes: its own commit drops its tracking; its next read tracks the head again', async () => {
    const name = uniqueStoreName('only-writes');
    const A = await RedisStore.createAsync({ connection: a, name, serializer: 'json' });
    const B = RedisStore.open({ connection: b, name, serializer: 'json' });
    try {
      for (const [how, read] of [
        ['async', (s: RedisStore) => s.getValue()],
        ['async', (s: RedisStore) => s.getValueAsync()],
        ['sync', (s: RedisStore) => s.getValue()],
      ] as const) {
        // A's commits alone: each drops the head from A's tracking on the server. A sync one is followed by an
        // HMGET in the same round trip, which tracks it again; an async one (on A's own connection) comes back to
        // A's worker as an invalidation, and the head stays untracked until a read needs it.
        const before = A.debug().changes;
        await write(A, how, 'a');
        if (how === 'async') {
          await waitFor(
            () => A.debug().changes > before,
            "the invalidation of A's own async commit at A's worker",
          );
          expect(A.debug().tracked).toBe(false);
          expect(A.debug().current).toBe(false);
        } else {
          expect(A.debug()).toMatchObject({ tracked: true, current: true });
        }
        const requests = A.stats.requests;
        expect(await read(A)).toBe('a');
        expect(A.stats.requests - requests).toBe(how === 'async' ? 1 : 0);
        await waitFor(
          () => A.debug().tracked && A.debug().current,
          'A tracking the head again, its copy current',
        );
        // B's commit now reaches A: A's copy stops being current without A reading anything.
        const r2 = A.stats.requests;
        B.setValue('b');
        await waitFor(() => !A.debug().current, "the invalidation of B's commit at A", 3000);
        expect(A.stats.requests).toBe(r2);
        expect(await read(A)).toBe('b');
      }
    } finally {
      await A.destroyAsync();
      B.close();
    }
  });
});

describe('the server behaviour this rests on (redis-server as installed)', () => {
  it('a write drops the key from the writer’s tracking, also under NOLOOP: it is not told of the next write', async () => {
    const tracker = createClient({ url: server.url, RESP: 3, emitInvalidate: true });
    const other = createClient({ url: server.url });
    const seen: string[] = [];
    tracker.on('invalidate', (k: unknown) => seen.push(String(k)));
    await tracker.connect();
    await other.connect();
    const key = `${uniqueStoreName('fact')}`;
    const settle = async () => {
      // A PING on each: every push sent before it has arrived once its reply has.
      await other.ping();
      await tracker.ping();
    };
    try {
      await tracker.sendCommand(['CLIENT', 'TRACKING', 'ON', 'NOLOOP']);
      await tracker.get(key);
      await other.set(key, '1');
      await settle();
      expect(seen).toEqual([key]); // a plain read tracks the key
      await tracker.get(key);
      await tracker.set(key, '2'); // the writer's own write: not told (NOLOOP), and no longer tracking
      await other.set(key, '3');
      await settle();
      expect(seen).toEqual([key]);
      await tracker.get(key); // a plain read after the write tracks it again
      await other.set(key, '4');
      await settle();
      expect(seen).toEqual([key, key]);
    } finally {
      await other.del(key);
      await tracker.close();
      await other.close();
    }
  });
});
