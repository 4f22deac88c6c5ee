// @shm/tied over Redis: the same tie()/tied() API with backend: redisBackend(), between processes.

import { fileURLToPath } from 'node:url';
import { type RedisServer, spawnPeer, startRedis, stopRedis } from '@shm/test-utils';
import { ScalarRef, tie, tied, untie } from '@shm/tied';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisConnection, redisBackend } from '../src/index.js';
import { rawClient } from './helpers.js';

const PEER = fileURLToPath(new URL('./fixtures/tied-peer.ts', import.meta.url));
let server: RedisServer;
let conn: RedisConnection;
beforeAll(async () => {
  server = await startRedis();
  conn = await RedisConnection.connect({ url: server.url });
});
afterAll(async () => {
  await conn?.close();
  if (server) await stopRedis(server);
});

let n = 0;
const ns = () => `tiedredis${process.pid}x${++n}`;

describe('@shm/tied with backend: redisBackend()', () => {
  it('a nested write-through by one process is seen by another; unchanged reads decode nothing', async () => {
    const namespace = ns();
    const reader = spawnPeer(PEER, [server.url, namespace, 'read']);
    try {
      await reader.next((m) => m.ready);
      const writer = spawnPeer(PEER, [server.url, namespace, 'write']);
      const w = await writer.next((m) => m.done);
      expect(w.db).toEqual({ host: 'db.local', port: 6543 });
      expect((await writer.exited).code).toBe(0);
      reader.send('read');
      const first = await reader.next((m) => 'port' in m);
      expect(first.port).toBe(6543);
      expect(first.host).toBe('db.local');
      reader.send('read');
      const second = await reader.next((m) => 'port' in m);
      expect(second.port).toBe(6543);
      // The second read of cfg.db decoded nothing new.
      expect(second.stats.decodes).toBe(first.stats.decodes);
      expect(second.stats.cacheHits).toBeGreaterThan(first.stats.cacheHits);
      // The nested object is a key of its own on the server.
      const raw = await rawClient(server);
      const keys = await raw.keys(`shm:{/${namespace}.*}`);
      await raw.close();
      expect(keys.some((k) => k.includes('.v.cfg'))).toBe(true);
      expect(keys.some((k) => /\.a\.[0-9a-f]{16}\}$/.test(k))).toBe(true);
      reader.send('quit');
      expect((await reader.exited).code).toBe(0);
    } finally {
      reader.kill();
      const cfg = tie<Record<string, unknown>>({}, 'cfg', {
        namespace,
        backend: redisBackend({ connection: conn }),
      });
      tied(cfg).remove();
    }
  });

  it('in one process: hashes, arrays, scalars and locks behave as in shared memory', () => {
    const namespace = ns();
    const backend = redisBackend({ connection: conn });
    const list = tie<number[]>([], 'list', { namespace, backend });
    const count = tie(new ScalarRef<number>(0), 'count', { namespace, backend });
    const cfg = tie<Record<string, any>>({ a: 1 }, 'cfg', { namespace, backend });
    try {
      list.push(1, 2, 3);
      expect([...list]).toEqual([1, 2, 3]);
      tied(count).withWriteLock(() => {
        count.value = count.value + 41;
        count.value++;
      });
      expect(count.value).toBe(42);
      cfg.nested = { deep: { x: 1 } };
      cfg.nested.deep.x = 2;
      expect(tied(cfg).snapshot()).toEqual({ a: 1, nested: { deep: { x: 2 } } });
      // Another tie of the same name (another connection) sees it.
      const other = tie<Record<string, any>>({}, 'cfg', {
        namespace,
        backend: redisBackend({ url: server.url }),
      });
      expect(other.nested.deep.x).toBe(2);
      untie(other);
      expect(() => tie({}, 'absent', { namespace, backend, create: false })).toThrow(/absent|No store/);
    } finally {
      tied(list).remove();
      tied(count).remove();
      tied(cfg).remove();
    }
  });
});
