import { RedisStore } from '@shm/redis';
import { msgpack } from '@shm/serializer-msgpack';
import { redisVersion, serverOnPort, startRedis, stopRedis } from '@shm/test-utils';
import type { Endpoint, NodeContender } from '../contender.js';
import { byteLength, type SmallObject, seqOf, type Value } from '../payload.js';
import { packageVersion } from '../versions.js';

/** @shm/redis's RedisStore on Redis 7 (Debian's redis-server, started for the run), over TCP on 127.0.0.1. */
export const shmRedis: NodeContender = {
  runtime: 'node',
  id: 'shm-redis',
  label: '@shm/redis',
  notes:
    'A redis-server of its own, as for the ioredis contender. Store: `storeAsync()`/`setValueAsync()`, one commit ' +
    "script on the process's own connection (the call resolves once Redis acknowledged it; the sync `store()` waits " +
    "for the connection's worker thread as well: see the @shm/redis section below). `fetch(into)`/`getValue()` " +
    'answer from the copy the server has not invalidated (RESP3 client tracking): in the fetch loop the value does ' +
    'not change, so this column is the unchanged-value read, no command sent. The hand-off waits with ' +
    '`waitForChange()` (the invalidation pushed by the server), then fetches once.',
  async prepare(names) {
    const server = await startRedis(names.path());
    return { port: server.port };
  },
  async cleanup(config) {
    const server = serverOnPort(config.port as number);
    if (server) await stopRedis(server);
  },
  versions: () => ({ 'redis-server': redisVersion() ?? 'missing', redis: packageVersion('redis') }),
  async open({ role, kind, config }) {
    const opts = {
      url: `redis://127.0.0.1:${config.port as number}`,
      name: `bench:${kind}`,
      serializer: msgpack,
    };
    const s = role === 'a' ? await RedisStore.createAsync(opts) : await RedisStore.openAsync(opts);
    const isObject = kind === 'object';
    const into = new Uint8Array(byteLength(kind));
    const fetch = (): Value => (isObject ? s.getValue<SmallObject>()! : s.fetch(into));
    const endpoint: Endpoint = {
      store: async (v) => {
        if (isObject) await s.setValueAsync(v);
        else await s.storeAsync(v as Uint8Array);
      },
      fetch,
      async waitFor(seq, deadline) {
        for (;;) {
          // The serial is read before the value: read after, it may name a newer value than the
          // one looked at, and waiting for a change from it waits for a commit that never comes.
          const serial = s.serial;
          const v = fetch();
          if (seqOf(v) >= seq) return v;
          const left = deadline - performance.now();
          if (left <= 0) throw new Error(`Timed out waiting for seq ${seq}; last seen ${seqOf(v)}`);
          await s.waitForChange(serial, Math.ceil(left));
        }
      },
      async close() {
        if (role === 'a') await s.destroyAsync();
        else await s.closeAsync();
      },
    };
    return endpoint;
  },
};
