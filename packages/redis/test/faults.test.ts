// Server faults: a paused server, a dropped connection, a restart without persistence.
import { ShmError } from '@shm/core';
import { type RedisServer, restartRedis, startRedis, stopRedis } from '@shm/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisConnection, RedisStore } from '../src/index.js';
import { rawClient, uniqueStoreName } from './helpers.js';

let server: RedisServer;
beforeEach(async () => {
  server = await startRedis();
});
afterEach(async () => {
  if (server) await stopRedis(server);
});

/** What `read` returns once it is `want` (within 2 s). */
async function until(read: () => Promise<unknown>, want: unknown): Promise<unknown> {
  let v: unknown;
  for (let i = 0; i < 400 && (v = await read()) !== want; i++) await new Promise((r) => setTimeout(r, 5));
  return v;
}

function caught(f: () => unknown): ShmError {
  try {
    f();
  } catch (e) {
    if (ShmError.isInstance(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('server faults', () => {
  it('a paused redis-server (SIGSTOP) makes calls time out with an error naming the server and the command', async () => {
    const conn = RedisConnection.connectSync({ url: server.url, timeoutMs: 400 });
    const s = RedisStore.create({ connection: conn, name: uniqueStoreName('stop'), serializer: 'json' });
    try {
      await s.setValueAsync(0); // this thread's own connection, for the async calls, is up
      s.setValue(1);
      server.child.kill('SIGSTOP');
      const t0 = performance.now();
      const e = caught(() => s.setValue(2));
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(e.code, e.message).toBe('ERR_SHM_TIMEOUT');
      expect(e.message).toContain(`redis 127.0.0.1:${server.port}`);
      expect(e.message).toMatch(/did not answer EVALSHA \(COMMIT\) .* within 400 ms/);
      await expect(s.lock.lockAsync()).rejects.toThrow(/did not answer EVALSHA \(LOCK_EXCLUSIVE\)/);
      // The async calls on this thread's own connection time out alike.
      const t1 = performance.now();
      await expect(s.setValueAsync(2)).rejects.toMatchObject({ code: 'ERR_SHM_TIMEOUT' });
      await expect(s.setValueAsync(2)).rejects.toThrow(/did not answer EVALSHA \(COMMIT\) .* within 400 ms/);
      expect(performance.now() - t1).toBeLessThan(5000);
      server.child.kill('SIGCONT');
      // The server is back: the same handle works again. What the timed-out commits did is unknown: the server
      // still runs those it had received, on connections of their own, possibly after the next commit. So a read
      // shows the value committed last, never an older one: 3 at its serial, or a late 2 at a newer serial.
      const s3 = s.setValue(3);
      expect(s3).toBeGreaterThan(1);
      const v3 = s.getValue();
      const at3 = s.serial;
      expect(at3).toBeGreaterThanOrEqual(s3);
      expect(v3).toBe(at3 === s3 ? 3 : 2);
      // Once those have run (the server answered a later command on every connection), the next commit is last.
      await s.serialAsync();
      const s4 = await s.setValueAsync(4);
      expect(s4).toBeGreaterThan(at3);
      expect(await s.getValueAsync()).toBe(4);
      expect(s.getValue()).toBe(4);
    } finally {
      server.child.kill('SIGCONT');
      s.destroy();
      conn.closeSync();
    }
  });

  it('dropped connections: the clients reconnect and their copies are invalidated (a write they missed is read, never the old copy)', async () => {
    const name = uniqueStoreName('drop');
    const w = RedisStore.create({ url: server.url, name, serializer: 'json' });
    const rc = await RedisConnection.connect({ url: server.url });
    const r = RedisStore.open({ connection: rc, name, serializer: 'json' });
    const raw = await rawClient(server);
    try {
      w.setValue('before');
      expect(r.getValue()).toBe('before');
      expect(await r.getValueAsync()).toBe('before');
      // Cut every connection of the stores (the workers' ones, with tracking on, flag t, and the calling thread's
      // own ones for the async calls), and change the value behind their back at once: its invalidation reaches
      // no one.
      const me = Number(await raw.clientId());
      const others = async () => (await raw.clientList()).filter((c) => Number(c.id) !== me);
      const tracking = async () => (await others()).filter((c) => c.flags.includes('t'));
      expect((await others()).length).toBeGreaterThan((await tracking()).length);
      for (const c of await others()) await raw.clientKill({ filter: 'ID', id: Number(c.id) } as never);
      const head = `shm:{${name}}`;
      const serial = Number(await raw.hGet(head, 's'));
      await raw.hSet(head, { s: String(serial + 1), v: '"after"', len: '7' });
      // Once the workers are connected again, r's copy must be invalid: the next read fetches, no retry needed.
      for (let i = 0; i < 200 && (await tracking()).length < 2; i++)
        await new Promise((res) => setTimeout(res, 10));
      expect(await tracking()).toHaveLength(2);
      const requests = r.stats.requests;
      expect(await r.getValueAsync()).toBe('after');
      expect(r.stats.requests).toBe(requests + 1);
      expect(r.getValue()).toBe('after');
      // And the calling thread's own connection works again for the async calls.
      expect(await w.setValueAsync('again')).toBe(serial + 2);
      expect(await until(() => r.getValueAsync(), 'again')).toBe('again');
    } finally {
      w.destroy();
      r.close();
      await rc.close();
      await raw.close();
    }
  });

  it('a restart without persistence loses the values, and every client reports it instead of serving its old copy', async () => {
    const name = uniqueStoreName('restart');
    const w = RedisStore.create({ url: server.url, name, serializer: 'json' });
    const rc = await RedisConnection.connect({ url: server.url });
    const r = await RedisStore.openAsync({ connection: rc, name, serializer: 'json' });
    try {
      w.setValue({ kept: 'in memory only' });
      expect(r.getValue()).toEqual({ kept: 'in memory only' });
      server = await restartRedis(server);
      // Reconnected: the reader's copy is invalid, and the server has no value: an error, not the old copy.
      const e1 = caught(() => r.getValue());
      expect(e1.code).toBe('ERR_SHM_NOT_FOUND');
      expect(e1.message).toMatch(/is gone from redis 127\.0\.0\.1:\d+: the server lost it/);
      await expect(r.getValueAsync()).rejects.toMatchObject({ code: 'ERR_SHM_NOT_FOUND' });
      // The writer is told too: its commit does not silently re-create a store with a new history.
      expect(caught(() => w.setValue('x')).code).toBe('ERR_SHM_NOT_FOUND');
      // Creating it again makes a new store: the old handles say so.
      const again = RedisStore.create({ url: server.url, name, serializer: 'json' });
      expect(again.created).toBe(true);
      again.setValue('new life');
      expect(caught(() => r.getValue()).message).toMatch(/destroyed and created again/);
      const fresh = RedisStore.open({ connection: rc, name, serializer: 'json' });
      expect(fresh.getValue()).toBe('new life');
      fresh.close();
      again.destroy();
    } finally {
      w.close();
      r.close();
      await rc.close();
    }
  });
});
