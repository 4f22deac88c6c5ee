import { msgpack } from '@shm/serializer-msgpack';
import { redisVersion, serverOnPort, startRedis, stopRedis } from '@shm/test-utils';
import { createClient, RESP_TYPES } from 'redis';
import type { NodeContender } from '../contender.js';
import type { Value } from '../payload.js';
import { packageVersion } from '../versions.js';

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Redis 7 through plain node-redis GET/SET (what @shm/redis is built on), over TCP on 127.0.0.1. */
export const nodeRedis: NodeContender = {
  runtime: 'node',
  id: 'node-redis',
  label: 'Redis (node-redis)',
  notes:
    'As the ioredis contender, through node-redis (RESP2): `set(key, buffer)` / `get(key)` with Buffer replies; ' +
    'object: msgpack-encoded. One command in flight per process. The hand-off polls `get`.',
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
    const client = createClient({ url: `redis://127.0.0.1:${config.port as number}` }).withTypeMapping({
      [RESP_TYPES.BLOB_STRING]: Buffer,
    });
    await client.connect();
    const key = `bench:${kind}`;
    const isObject = kind === 'object';
    return {
      store: async (v) => {
        await client.set(key, asBuffer(isObject ? msgpack.encode(v) : (v as Uint8Array)));
      },
      fetch: async () => {
        const b = (await client.get(key)) as Buffer | null;
        if (!b) throw new Error(`${key} is not set`);
        return (isObject ? msgpack.decode(b) : b) as Value;
      },
      async close() {
        if (role === 'a') await client.del(key);
        await client.close();
      },
    };
  },
};
