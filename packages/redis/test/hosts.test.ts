// Several processes as separate hosts, each with its own connection, against a real redis-server.

import { LockStatus } from '@shm/core';
import { type RedisServer, startRedis, stopRedis, waitFor } from '@shm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../src/index.js';
import { commandCounts, peer, rawClient, total, uniqueStoreName } from './helpers.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  if (server) await stopRedis(server);
});

describe('several processes, each its own connection', () => {
  it('4 processes x 1000 update() increments give exactly 4000 (compare-and-set on the serial, retried)', async () => {
    const name = uniqueStoreName('incr');
    const peers = Array.from({ length: 4 }, () => peer(server, 'incr', name, '1000'));
    const results = await Promise.all(peers.map((p) => p.exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const conflicts = results.reduce((s, r) => s + r.messages[0].conflicts, 0);
    const store = RedisStore.open({ url: server.url, name, serializer: 'json' });
    try {
      expect(store.getValue()).toBe(4000);
      expect(store.serial).toBe(4000);
      // The processes did overlap: some attempts lost the race and were retried.
      expect(conflicts).toBeGreaterThan(0);
    } finally {
      store.destroy();
    }
  }, 120_000);

  it('2 processes x 1000 update() and 2 x 1000 updateAsync() increments give exactly 4000', async () => {
    const name = uniqueStoreName('incr-mixed');
    const peers = ['incr', 'incr-async', 'incr', 'incr-async'].map((m) => peer(server, m, name, '1000'));
    const results = await Promise.all(peers.map((p) => p.exited));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const store = RedisStore.open({ url: server.url, name, serializer: 'json' });
    try {
      expect(store.getValue()).toBe(4000);
      expect(store.serial).toBe(4000);
      expect(results.reduce((s, r) => s + r.messages[0].conflicts, 0)).toBeGreaterThan(0);
    } finally {
      store.destroy();
    }
  }, 120_000);

  it('1000 reads of an unchanged value cost no command on the server after the first, and a change is seen at once', async () => {
    const name = uniqueStoreName('reads');
    const writer = RedisStore.create({ url: server.url, name, serializer: 'json' });
    const counter = await rawClient(server);
    try {
      writer.setValue({ hello: 'world' });
      const reader = peer(server, 'reads', name, '1000');
      expect((await reader.next((m) => 'first' in m)).first).toEqual({ hello: 'world' });
      const before = await commandCounts(counter);
      reader.send('go');
      const r = await reader.next((m) => 'same' in m);
      const after = await commandCounts(counter);
      // Counted on the server: nothing ran between the two snapshots (INFO itself is not counted).
      expect(total(after) - total(before), JSON.stringify({ before, after })).toBe(0);
      expect(r.same).toBe(1000);
      expect(r.after.requests - r.before.requests).toBe(0);
      expect(r.after.decodes - r.before.decodes).toBe(0);
      // Another host writes: the server pushes the invalidation, and the next read fetches the new value.
      writer.setValue({ hello: 'again' });
      await new Promise((res) => setTimeout(res, 200));
      reader.send('go');
      const last = await reader.next((m) => 'value' in m);
      expect(last.value).toEqual({ hello: 'again' });
      expect((await reader.exited).code).toBe(0);
    } finally {
      writer.destroy();
      await counter.close();
    }
  });

  it('a lock holder SIGKILLed: another process gets the lock within the lease plus a margin and is told the owner died', async () => {
    const name = uniqueStoreName('kill');
    const leaseMs = 1500;
    const holder = peer(server, 'hold', name, String(leaseMs));
    const held = await holder.next((m) => m.locked);
    const next = peer(server, 'lock', name, String(leaseMs));
    await next.next((m) => m.ready);
    holder.kill('SIGKILL');
    await holder.exited;
    // Wall-clock times of one machine: from the kill to the moment the waiting process holds the lock.
    const killedAt = Date.now();
    next.send('go');
    const got = await next.next((m) => 'status' in m);
    const waited = got.at - killedAt;
    expect(got.status).toBe(LockStatus.OwnerDied);
    expect(waited).toBeLessThan(leaseMs + 3000);
    expect(got.token).toBeGreaterThan(held.token);
    expect((await next.exited).code).toBe(0);
    const store = RedisStore.open({ url: server.url, name, serializer: 'json' });
    expect(store.getValue()).toBe('from the new holder');
    store.destroy();
  });

  it('a holder paused (SIGSTOP) past its lease cannot commit afterwards with its stale token', async () => {
    const name = uniqueStoreName('stop');
    const leaseMs = 1000;
    const holder = peer(server, 'hold', name, String(leaseMs));
    try {
      const held = await holder.next((m) => m.locked);
      holder.kill('SIGSTOP');
      const next = peer(server, 'lock', name, String(leaseMs));
      await next.next((m) => m.ready);
      next.send('go');
      const got = await next.next((m) => 'status' in m);
      expect(got.status).toBe(LockStatus.OwnerDied);
      expect(got.token).toBeGreaterThan(held.token);
      expect((await next.exited).code).toBe(0);
      holder.kill('SIGCONT');
      holder.send('commit');
      const r = await holder.next((m) => 'error' in m || 'committed' in m);
      expect(r.code).toBe('ERR_SHM_LEASE_EXPIRED');
      expect(r.error).toMatch(new RegExp(`fencing token ${held.token} is stale`));
      const store = RedisStore.open({ url: server.url, name, serializer: 'json' });
      expect(store.getValue()).toBe('from the new holder');
      store.destroy();
    } finally {
      holder.kill('SIGKILL');
      await holder.exited;
    }
  });

  it('no acknowledged write is lost while the server stays up, even when the writer is killed right after', async () => {
    const name = uniqueStoreName('ack');
    const writer = peer(server, 'write', name, '100000');
    await writer.next((m) => m.acked >= 200);
    writer.kill('SIGKILL');
    const r = await writer.exited;
    const acked = Math.max(...r.messages.map((m) => m.acked ?? 0));
    const store = RedisStore.open({ url: server.url, name, serializer: 'json' });
    try {
      // Every write it was told about is there; at most the one in flight went through unannounced.
      const v = store.getValue<number>()!;
      expect(v).toBeGreaterThanOrEqual(acked);
      expect(v).toBeLessThanOrEqual(acked + 1);
      expect(store.serial).toBe(v);
    } finally {
      store.destroy();
    }
  });
});

describe('waits pushed by the server', () => {
  it('waitForChange() resolves when another host commits, and changes() yields the new values', async () => {
    const name = uniqueStoreName('wait');
    const a = await RedisStore.createAsync({ url: server.url, name, serializer: 'json' });
    try {
      const s0 = await a.serialAsync();
      const waiting = a.waitForChange(s0, 10_000);
      const p = peer(server, 'write', name, '3');
      expect(await waiting).toBeGreaterThan(s0);
      await p.exited;
      await waitFor(async () => (await a.getValueAsync()) === 3, 'the third write');
      const seen: unknown[] = [];
      const it = a.changes<number>();
      const first = it.next();
      const w = peer(server, 'write', name, '1');
      seen.push((await first).value);
      await w.exited;
      await it.return(undefined);
      expect(seen).toEqual([1]);
    } finally {
      await a.destroyAsync();
    }
  });
});
