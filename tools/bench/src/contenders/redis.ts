import { msgpack } from '@shm/serializer-msgpack';
import { redisVersion, serverOnPort, startRedis, stopRedis } from '@shm/test-utils';
import { Redis } from 'ioredis';
import type { NodeContender } from '../contender.js';
import type { Value } from '../payload.js';
import { packageVersion } from '../versions.js';

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Redis 7 (Debian's redis-server, started for the run) through ioredis, over TCP on 127.0.0.1. */
export const redis: NodeContender = {
  runtime: 'node',
  id: 'redis',
  label: 'Redis (ioredis)',
  notes:
    'A redis-server started for the run on 127.0.0.1 with no persistence (`--save "" --appendonly no`), stopped ' +
    'after it. One command in flight per process (a store is done when Redis acknowledged it, like a synchronous ' +
    'store elsewhere). Bytes: `set(key, buffer)` / `getBuffer(key)`; object: msgpack-encoded. The hand-off polls ' +
    '`getBuffer`.',
  async prepare(names) {
    const server = await startRedis(names.path());
    return { port: server.port };
  },
  async cleanup(config) {
    const server = serverOnPort(config.port as number);
    if (server) await stopRedis(server);
  },
  versions: () => ({ 'redis-server': redisVersion() ?? 'missing', ioredis: packageVersion('ioredis') }),
  async open({ role, kind, config }) {
    const client = new Redis({ host: '127.0.0.1', port: config.port as number, lazyConnect: true });
    await client.connect();
    const key = `bench:${kind}`;
    const isObject = kind === 'object';
    return {
      store: async (v) => {
        await client.set(key, asBuffer(isObject ? msgpack.encode(v) : (v as Uint8Array)));
      },
      fetch: async () => {
        const b = await client.getBuffer(key);
        if (!b) throw new Error(`${key} is not set`);
        return (isObject ? msgpack.decode(b) : b) as Value;
      },
      async close() {
        if (role === 'a') await client.del(key);
        await client.quit();
      },
    };
  },
};
