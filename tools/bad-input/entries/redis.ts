// Bad inputs for @shm/redis (see ../src/table.ts). Fixtures: a redis-server of the test's own on a free port, a
// connection to it, a store holding a value, and a closed store. Every call is refused before a command is sent.
import type { RedisConnection, RedisStore } from '@shm/redis';
import { type RedisServer, startRedis, stopRedis, uniqueName } from '@shm/test-utils';
import { bad, definePackage } from '../src/table.js';

type M = typeof import('@shm/redis');

/** The protocol between RedisStore/RedisLock and the connection's worker: @internal, stripped from the types. */
const WIRE = 'the @internal protocol of RedisStore and RedisLock with the worker; not in the published types';

type F = { server: RedisServer; conn: RedisConnection; store: RedisStore; closed: RedisStore; name: string };

export default definePackage<M, F>((m) => {
  const { RedisStore, RedisConnection, redisBackend } = m;
  const opens = (open: (o: unknown) => unknown) => [
    bad('type', 'a string for options', 'options', () => open('x')),
    bad('type', 'no name', 'options.name', (fx: F) => open({ connection: fx.conn })),
    bad('range', 'an empty name', 'options.name', (fx: F) => open({ connection: fx.conn, name: '' })),
    bad('range', 'a name with braces (a hash tag)', 'options.name', (fx: F) =>
      open({ connection: fx.conn, name: 'a{b}' }),
    ),
    bad('range', 'partSize 10', 'options.partSize', (fx: F) =>
      open({ connection: fx.conn, name: uniqueName('bad'), partSize: 10 }),
    ),
    bad('type', "leaseMs '5'", 'options.leaseMs', (fx: F) =>
      open({ connection: fx.conn, name: uniqueName('bad'), leaseMs: '5' }),
    ),
    bad('range', "serializer 'yaml'", 'serializer', (fx: F) =>
      open({ connection: fx.conn, name: uniqueName('bad'), serializer: 'yaml' }),
    ),
    bad('type', 'a number for connection', 'options.connection', () =>
      open({ connection: 5, name: uniqueName('bad') }),
    ),
    bad('type', 'an unknown option', 'an option name', (fx: F) =>
      open({ connection: fx.conn, name: uniqueName('bad'), colour: 1 }),
    ),
  ];
  const closedStore = (method: string, ...args: unknown[]) =>
    bad('closed', 'a closed store', 'ERR_SHM_CLOSED', (fx: F) => (fx.closed as any)[method](...args));
  const stores = (method: 'store' | 'storeAsync' | 'storeLocked') => [
    bad('type', 'a string for bytes', 'bytes', (fx: F) => fx.store[method]('text' as never)),
    bad('type', 'null for bytes', 'bytes', (fx: F) => fx.store[method](null as never)),
    bad('range', 'serializer -1', 'serializer', (fx: F) => fx.store[method](Buffer.alloc(1), -1)),
    closedStore(method, Buffer.alloc(1)),
  ];
  const fetches = (method: 'fetch' | 'fetchAsync') => [
    bad('type', 'an array for into', 'into', (fx: F) => fx.store[method]([] as never)),
    bad('type', 'a string for info', 'info', (fx: F) => fx.store[method](undefined, 'x' as never)),
    closedStore(method),
  ];
  const updates = (method: 'update' | 'updateAsync') => [
    bad('type', 'a number for fn', 'fn', (fx: F) => fx.store[method](5 as never)),
    bad('type', 'null for fn', 'fn', (fx: F) => fx.store[method](null as never)),
    closedStore(method, () => 1),
  ];
  const locks = (method: 'lock' | 'lockAsync' | 'lockShared' | 'lockSharedAsync') => [
    bad('range', 'timeout -5', 'timeoutMs', (fx: F) => fx.store.lock[method](-5)),
    bad('type', "timeout '1'", 'timeoutMs', (fx: F) => fx.store.lock[method]('1' as never)),
    bad('range', 'timeout NaN', 'timeoutMs', (fx: F) => fx.store.lock[method](Number.NaN)),
  ];
  const unlocks = (method: 'unlock' | 'unlockAsync' | 'unlockShared' | 'unlockSharedAsync') => [
    bad('state', 'a lock this handle does not hold', 'ERR_SHM_NOT_HELD', (fx: F) => fx.store.lock[method]()),
  ];
  return {
    async setup(): Promise<F> {
      const server = await startRedis();
      const conn = RedisConnection.connectSync({ url: server.url });
      const name = uniqueName('bad-redis');
      const store = RedisStore.create({ connection: conn, name, serializer: 'json' });
      store.setValue({ kept: true });
      const closed = RedisStore.open({ connection: conn, name, serializer: 'json' });
      closed.close();
      return { server, conn, store, closed, name };
    },
    async teardown(fx) {
      fx.store.destroy();
      fx.conn.close();
      await stopRedis(fx.server);
    },
    snapshot: (fx) => ({
      serial: fx.store.serial,
      value: fx.store.getValue(),
      lock: fx.store.lock.state(),
    }),
    entries: {
      'RedisStore.create': opens((o) => RedisStore.create(o as never)),
      'RedisStore.open': [
        ...opens((o) => RedisStore.open(o as never)),
        bad('missing', 'a name with no store, without create', 'ERR_SHM_NOT_FOUND', (fx: F) =>
          RedisStore.open({ connection: fx.conn, name: uniqueName('missing') }),
        ),
      ],
      'RedisStore.createAsync': opens((o) => RedisStore.createAsync(o as never)),
      'RedisStore.openAsync': opens((o) => RedisStore.openAsync(o as never)),
      'new RedisStore': { internal: 'a private constructor: RedisStore.create/open make stores' },
      'RedisStore#store': stores('store'),
      'RedisStore#storeAsync': stores('storeAsync'),
      'RedisStore#storeLocked': [
        ...stores('storeLocked'),
        bad('state', 'without the exclusive lock', 'ERR_SHM_NOT_HELD', (fx: F) =>
          fx.store.storeLocked(Buffer.alloc(1)),
        ),
      ],
      'RedisStore#fetch': fetches('fetch'),
      'RedisStore#fetchAsync': fetches('fetchAsync'),
      'RedisStore#setValue': [
        bad('type', 'a function (json)', 'ERR_SHM_UNSERIALIZABLE', (fx: F) => fx.store.setValue(() => 1)),
        closedStore('setValue', 1),
      ],
      'RedisStore#setValueAsync': [
        bad('type', 'a function (json)', 'ERR_SHM_UNSERIALIZABLE', (fx: F) =>
          fx.store.setValueAsync(() => 1),
        ),
        closedStore('setValueAsync', 1),
      ],
      'RedisStore#setValueLocked': [
        bad('state', 'without the exclusive lock', 'ERR_SHM_NOT_HELD', (fx: F) => fx.store.setValueLocked(1)),
        closedStore('setValueLocked', 1),
      ],
      'RedisStore#getValue': [closedStore('getValue')],
      'RedisStore#getValueAsync': [closedStore('getValueAsync')],
      'RedisStore#update': updates('update'),
      'RedisStore#updateAsync': updates('updateAsync'),
      'RedisStore#changedSince': [
        bad('range', 'serial -1', 'serial', (fx: F) => fx.store.changedSince(-1)),
        bad('type', "serial '1'", 'serial', (fx: F) => fx.store.changedSince('1' as never)),
      ],
      'RedisStore#serialAsync': [closedStore('serialAsync')],
      'RedisStore#waitForChange': [
        bad('range', 'serial 1.5', 'serial', (fx: F) => fx.store.waitForChange(1.5)),
        bad('range', 'timeout -1', 'timeoutMs', (fx: F) => fx.store.waitForChange(0, -1)),
        closedStore('waitForChange'),
      ],
      'RedisStore#changes': {
        accepts: 'no arguments: an async iterator of the values committed from now on',
      },
      'RedisStore#debug': [closedStore('debug')],
      'RedisStore#close': { accepts: 'no arguments; idempotent' },
      'RedisStore#closeAsync': { accepts: 'no arguments; idempotent' },
      'RedisStore#destroy': [closedStore('destroy')],
      'RedisStore#destroyAsync': [closedStore('destroyAsync')],
      'new RedisLock': { internal: 'made by RedisStore for its own `lock`; not constructed by users' },
      'RedisLock#lock': locks('lock'),
      'RedisLock#lockAsync': locks('lockAsync'),
      'RedisLock#lockShared': locks('lockShared'),
      'RedisLock#lockSharedAsync': locks('lockSharedAsync'),
      'RedisLock#tryLock': { accepts: 'no arguments' },
      'RedisLock#tryLockShared': { accepts: 'no arguments' },
      'RedisLock#unlock': unlocks('unlock'),
      'RedisLock#unlockAsync': unlocks('unlockAsync'),
      'RedisLock#unlockShared': unlocks('unlockShared'),
      'RedisLock#unlockSharedAsync': unlocks('unlockSharedAsync'),
      'RedisLock#reset': { accepts: 'no arguments: forgets what this handle holds' },
      'RedisLock#state': { accepts: 'no arguments' },
      'RedisLock#timeoutError': [
        bad('range', "mode 'both'", 'mode', (fx: F) => fx.store.lock.timeoutError('both' as never, 1)),
        bad('type', "timeoutMs '1'", 'timeoutMs', (fx: F) =>
          fx.store.lock.timeoutError('shared', '1' as never),
        ),
      ],
      'new RedisConnection': [
        bad('type', 'an http url', 'options.url', () => new RedisConnection({ url: 'http://x' })),
        bad('range', 'timeoutMs -1', 'options.timeoutMs', () => new RedisConnection({ timeoutMs: -1 })),
        bad('type', 'a string for options', 'options', () => new RedisConnection('x' as never)),
      ],
      'RedisConnection.connectSync': [
        bad('type', 'an http url', 'options.url', () => RedisConnection.connectSync({ url: 'http://x' })),
        bad('missing', 'a port nobody listens on', 'ECONNREFUSED', () =>
          RedisConnection.connectSync({ url: 'redis://127.0.0.1:1' }),
        ),
      ],
      'RedisConnection.connect': [
        bad('type', 'an http url', 'options.url', () => RedisConnection.connect({ url: 'http://x' })),
        bad('range', 'timeoutMs -1', 'options.timeoutMs', () => RedisConnection.connect({ timeoutMs: -1 })),
        bad('missing', 'a port nobody listens on', 'ECONNREFUSED', () =>
          RedisConnection.connect({ url: 'redis://127.0.0.1:1' }),
        ),
      ],
      'RedisConnection#close': { accepts: 'no arguments; idempotent' },
      'RedisConnection#closeSync': { accepts: 'no arguments; idempotent' },
      'RedisConnection#call': { internal: WIRE },
      'RedisConnection#callSync': { internal: WIRE },
      'RedisConnection#pingSync': { internal: WIRE },
      'RedisConnection#readSync': { internal: WIRE },
      'RedisConnection#commitSync': { internal: WIRE },
      'RedisConnection#lockSync': { internal: WIRE },
      'RedisConnection#unlockSync': { internal: WIRE },
      'RedisConnection#adopt': { internal: WIRE },
      'RedisConnection#release': { internal: WIRE },
      'RedisConnection#wantTracking': { internal: WIRE },
      'RedisConnection#readAsync': { internal: WIRE },
      'RedisConnection#commitAsync': { internal: WIRE },
      redisBackend: [
        bad('type', 'a string for options', 'options', () => redisBackend('x' as never)),
        bad('type', 'a number for connection', 'options.connection', () =>
          redisBackend({ connection: 5 as never }),
        ),
      ],
    },
  };
});
