// Bad inputs for @shm/core (see ../src/table.ts). Fixtures: a POSIX and a SysV store with a value, an anonymous
// store of 64 bytes, a plain region with a lock, closed handles; the snapshot is their values, serials and locks.
import { existsSync } from 'node:fs';
import type { Region, RwLock, Store } from '@shm/core';
import { uniqueKey, uniqueName } from '@shm/test-utils';
import { bad, definePackage } from '../src/table.js';

type Core = typeof import('@shm/core');
type F = {
  name: string;
  key: number;
  store: Store;
  sysv: Store;
  small: Store;
  closed: Store;
  regionName: string;
  region: Region;
  closedRegion: Region;
  lock: RwLock;
};

const MiB = 1024 * 1024;

export default definePackage<Core, F>((m) => {
  const { Region, RwLock, Store, registry, json, raw, v8 } = m;

  /** Runs `fn`; rethrows its error only if the store kept its value (else a plain Error fails the case). */
  const keepsValue = (s: Store, fn: () => unknown) => {
    const before = Buffer.from(s.fetch()).toString('hex');
    try {
      fn();
    } catch (e) {
      if (Buffer.from(s.fetch()).toString('hex') !== before)
        throw new Error('the failed call changed the value');
      throw e;
    }
  };
  const ns = () => `/${uniqueName()}`;

  return {
    setup(): F {
      const name = uniqueName();
      const key = uniqueKey();
      const store = Store.create({ name, pollMs: 5, register: false });
      store.store(Buffer.from('the value'));
      const sysv = Store.create({ key, pollMs: 5, register: false });
      sysv.store(Buffer.alloc(100_000, 7)); // chained
      const small = Store.create({ inlineCapacity: 64 });
      small.store(Buffer.from('small'));
      const closed = Store.open({ name, register: false });
      closed.close();
      const regionName = uniqueName();
      const region = Region.create({ name: regionName, size: 4096, register: false });
      RwLock.init(region, 0);
      const lock = new RwLock(region, 0, { pollMs: 5 });
      const closedRegion = Region.create({ size: 4096 });
      closedRegion.close();
      return { name, key, store, sysv, small, closed, regionName, region, closedRegion, lock };
    },
    teardown(fx) {
      fx.lock.release();
      fx.region.destroy();
      fx.store.destroy();
      fx.sysv.destroy();
      fx.small.close();
    },
    snapshot: (fx) => ({
      value: Buffer.from(fx.store.fetch()).toString(),
      serial: fx.store.serial,
      sysv: [fx.sysv.serial, fx.sysv.length, fx.sysv.debug().segments.length],
      small: Buffer.from(fx.small.fetch()).toString(),
      locks: [fx.store.lock.state(), fx.sysv.lock.state(), fx.lock.state()],
      held: [fx.lock.holdsExclusive, fx.lock.holdsShared, fx.store.lock.holdsExclusive],
    }),
    entries: {
      // ------------------------------------------------------------ Region
      'new Region': {
        internal: 'TypeScript-private constructor: regions come from Region.create/open/fromFd',
      },
      'Region.create': [
        bad('type', 'a string for options', 'options', () => Region.create('x' as never)),
        bad('type', 'null for options', 'options', () => Region.create(null as never)),
        bad('type', 'a number for options.name', 'options.name', () =>
          Region.create({ name: 123 as never, size: 4096 }),
        ),
        bad('range', 'an unknown backend', 'options.backend', () =>
          Region.create({ backend: 'tape' as never, name: ns(), size: 4096 }),
        ),
        bad('range', 'a negative size', 'options.size', () => Region.create({ name: ns(), size: -1 })),
        bad('type', 'a string for options.size', 'options.size', () =>
          Region.create({ name: ns(), size: '4096' as never }),
        ),
        bad('range', 'mode 0o10000', 'options.mode', () =>
          Region.create({ name: ns(), size: 4096, mode: 0o10000 }),
        ),
        bad('type', "'yes' for options.exclusive", 'options.exclusive', () =>
          Region.create({ name: ns(), size: 4096, exclusive: 'yes' as never }),
        ),
        bad('type', 'no size for a new memfd region', 'options.size', () => Region.create({})),
        bad('range', 'a key beyond 32 bits', 'options.key', () =>
          Region.create({ key: 2 ** 33, size: 4096 }),
        ),
        bad('range', 'a name with a slash inside', 'name', () => Region.create({ name: '/a/b', size: 4096 })),
        bad('exclusive', 'exclusive on an existing name', 'EEXIST', (fx: F) =>
          Region.create({ name: fx.regionName, size: 4096, exclusive: true, register: false }),
        ),
        bad(
          'permission',
          'a 0600 region of root, as nobody',
          'EACCES',
          (_f, p) => Region.create({ name: p, size: 4096 }),
          {
            as: 'nobody',
            prepare: (fx: F) => fx.regionName,
          },
        ),
        bad(
          'full',
          '4 MiB on a 1 MiB tmpfs',
          'ENOSPC',
          () => Region.create({ name: '/bad-input-full', size: 4 * MiB, register: false }),
          {
            as: 'full-tmpfs',
            after: () => {
              if (existsSync('/dev/shm/bad-input-full')) throw new Error('the failed create left its object');
            },
          },
        ),
      ],
      'Region.open': [
        bad('type', 'a number for options', 'options', () => Region.open(5 as never)),
        bad('missing', 'a name that does not exist', 'ENOENT', () => Region.open({ name: ns() })),
        bad('missing', 'a SysV key that does not exist', 'ENOENT', () => Region.open({ key: uniqueKey() })),
        bad('range', 'key 0 (IPC_PRIVATE)', 'key', () => Region.open({ key: 0 })),
        bad('range', 'a size larger than the object', 'ERR_SHM_SIZE_MISMATCH', (fx: F) =>
          Region.open({ name: fx.regionName, size: MiB, register: false }),
        ),
        bad('type', 'no fd for an anonymous region', 'options.fd', () => Region.open({})),
        bad('permission', 'a 0600 region of root, as nobody', 'EACCES', (_f, p) => Region.open({ name: p }), {
          as: 'nobody',
          prepare: (fx: F) => fx.regionName,
        }),
      ],
      'Region.fromFd': [
        bad('type', 'a string for fd', 'fd', () => Region.fromFd('3' as never)),
        bad('range', 'a negative fd', 'fd', () => Region.fromFd(-5)),
        bad('type', 'a string for options', 'options', () => Region.fromFd(0, 'x' as never)),
        bad('range', 'an fd that is not a memfd', 'ERR_SHM_BAD_FORMAT', (fx: F) =>
          Region.fromFd(fx.region.fd),
        ),
      ],
      'Region.remove': [
        bad('type', 'a string for the target', 'target', () => Region.remove('x' as never)),
        bad('type', 'a number for target.name', 'target.name', () => Region.remove({ name: 5 as never })),
        bad('type', 'a string for target.key', 'target.key', () => Region.remove({ key: 'x' as never })),
      ],
      'Region#close': { accepts: 'no arguments; idempotent' },
      'Region#destroy': { accepts: 'no arguments; idempotent (a missing object is ignored)' },

      // ------------------------------------------------------------ RwLock
      'new RwLock': [
        bad('type', 'a string for region', 'region', () => new RwLock('x' as never, 0)),
        bad(
          'type',
          'a plain object for region',
          'region',
          () => new RwLock({ i32: new Int32Array(8) } as never, 0),
        ),
        bad('type', 'a string for offset', 'offset', (fx: F) => new RwLock(fx.region, '0' as never)),
        bad('range', 'an unaligned offset', 'offset', (fx: F) => new RwLock(fx.region, 4)),
        bad('range', 'an offset past the end', 'offset', (fx: F) => new RwLock(fx.region, 4096)),
        bad('type', 'a string for options', 'options', (fx: F) => new RwLock(fx.region, 0, 'x' as never)),
        bad('range', 'pollMs -1', 'options.pollMs', (fx: F) => new RwLock(fx.region, 0, { pollMs: -1 })),
        bad(
          'range',
          'pollMs NaN',
          'options.pollMs',
          (fx: F) => new RwLock(fx.region, 0, { pollMs: Number.NaN }),
        ),
        bad(
          'range',
          'pollMs Infinity',
          'options.pollMs',
          (fx: F) => new RwLock(fx.region, 0, { pollMs: Infinity }),
        ),
        bad(
          'type',
          "pollMs 'abc'",
          'options.pollMs',
          (fx: F) => new RwLock(fx.region, 0, { pollMs: 'abc' as never }),
        ),
        bad('range', 'spins -1', 'options.spins', (fx: F) => new RwLock(fx.region, 0, { spins: -1 })),
        bad(
          'type',
          'an object that is no OwnerIdentity',
          'options.identity',
          (fx: F) => new RwLock(fx.region, 0, { identity: { id: () => 1 } as never }),
        ),
        bad(
          'range',
          'an offset where no lock was written',
          'ERR_SHM_BAD_FORMAT',
          (fx: F) => new RwLock(fx.region, 1152),
        ),
        bad('closed', 'a closed region', 'ERR_SHM_CLOSED', (fx: F) => new RwLock(fx.closedRegion, 0)),
      ],
      'RwLock.init': [
        bad('type', 'a string for region', 'region', () => RwLock.init('x' as never, 0)),
        bad('range', 'an unaligned offset', 'offset', (fx: F) => RwLock.init(fx.region, 8)),
      ],
      ...Object.fromEntries(
        (['lock', 'lockShared', 'lockAsync', 'lockSharedAsync'] as const).map((method) => [
          `RwLock#${method}`,
          [
            bad('range', 'timeout -1 while the lock is free', 'timeoutMs', (fx: F) => fx.lock[method](-1)),
            bad('range', 'timeout NaN while the lock is free', 'timeoutMs', (fx: F) =>
              fx.lock[method](Number.NaN),
            ),
            bad('type', "timeout 'abc'", 'timeoutMs', (fx: F) => fx.lock[method]('abc' as never)),
            bad('type', "timeout '5' (a string, not coerced)", 'timeoutMs', (fx: F) =>
              fx.lock[method]('5' as never),
            ),
            bad('type', 'timeout null', 'timeoutMs', (fx: F) => fx.lock[method](null as never)),
          ],
        ]),
      ),
      'RwLock#unlock': [
        bad('state', 'unlock without holding it', 'ERR_SHM_NOT_HELD', (fx: F) => fx.lock.unlock()),
      ],
      'RwLock#unlockShared': [
        bad('state', 'unlockShared without holding it', 'ERR_SHM_NOT_HELD', (fx: F) =>
          fx.lock.unlockShared(),
        ),
      ],
      'RwLock#tryLock': { accepts: 'no arguments' },
      'RwLock#tryLockShared': { accepts: 'no arguments' },
      'RwLock#release': { accepts: 'no arguments; idempotent' },
      'RwLock#state': { accepts: 'no arguments' },
      'RwLock#timeoutError': [
        bad('range', "mode 'both'", 'mode', (fx: F) => fx.lock.timeoutError('both' as never, 5)),
        bad('type', 'a string for timeoutMs', 'timeoutMs', (fx: F) =>
          fx.lock.timeoutError('shared', 'x' as never),
        ),
      ],

      // ------------------------------------------------------------ Store
      'new Store': { internal: 'TypeScript-private constructor: stores come from Store.create/open/fromFd' },
      'Store.create': [
        bad('type', 'a string for options', 'options', () => Store.create('x' as never)),
        bad(
          'type',
          'a number for options.name (was "o.name.startsWith is not a function")',
          'options.name',
          () => Store.create({ name: 123 as never }),
        ),
        bad('type', 'a string for options.key', 'options.key', () => Store.create({ key: 'k' as never })),
        bad('range', 'pollMs -1 (made lock() wait forever on a dead holder)', 'options.pollMs', () =>
          Store.create({ name: ns(), pollMs: -1 }),
        ),
        bad('range', 'pollMs NaN', 'options.pollMs', () => Store.create({ name: ns(), pollMs: Number.NaN })),
        bad('type', "pollMs 'abc'", 'options.pollMs', () =>
          Store.create({ name: ns(), pollMs: 'abc' as never }),
        ),
        bad('range', 'a negative inlineCapacity', 'options.inlineCapacity', () =>
          Store.create({ name: ns(), inlineCapacity: -1 }),
        ),
        bad('range', 'a maxSegmentSize below 64 KiB', 'options.maxSegmentSize', () =>
          Store.create({ name: ns(), maxSegmentSize: 1024 }),
        ),
        bad('range', 'a negative maxValueSize', 'options.maxValueSize', () =>
          Store.create({ name: ns(), maxValueSize: -5 }),
        ),
        bad('type', 'a number for serializer', 'serializer', () =>
          Store.create({ name: ns(), serializer: 5 as never }),
        ),
        bad('range', 'an unknown serializer name', 'serializer', () =>
          Store.create({ name: ns(), serializer: 'yaml' as never }),
        ),
        bad('type', "'yes' for options.exclusive", 'options.exclusive', () =>
          Store.create({ name: ns(), exclusive: 'yes' as never }),
        ),
        bad('exclusive', 'exclusive on an existing store', 'EEXIST', (fx: F) =>
          Store.create({ name: fx.name, exclusive: true, register: false }),
        ),
        bad('exclusive', 'exclusive on an existing SysV store', 'EEXIST', (fx: F) =>
          Store.create({ key: fx.key, exclusive: true, register: false }),
        ),
        bad('permission', 'a 0600 store of root, as nobody', 'EACCES', (_f, p) => Store.create({ name: p }), {
          as: 'nobody',
          prepare: (fx: F) => fx.name,
        }),
        bad(
          'permission',
          'a 0600 SysV store of root, as nobody',
          'EACCES',
          (_f, p) => Store.create({ key: p }),
          {
            as: 'nobody',
            prepare: (fx: F) => fx.key,
          },
        ),
        bad(
          'full',
          'a 2 MiB head on a 1 MiB tmpfs',
          'ENOSPC',
          () => Store.create({ name: '/bad-input-head', inlineCapacity: MiB, register: false }),
          {
            as: 'full-tmpfs',
            after: () => {
              if (existsSync('/dev/shm/bad-input-head')) throw new Error('the failed create left its head');
            },
          },
        ),
      ],
      'Store.open': [
        bad('type', 'null for options', 'options', () => Store.open(null as never)),
        bad('missing', 'a name that does not exist', 'ENOENT', () => Store.open({ name: ns() })),
        bad('missing', 'a SysV key that does not exist', 'ENOENT', () => Store.open({ key: uniqueKey() })),
        bad('range', 'a region that is not a store', 'ERR_SHM_BAD_FORMAT', (fx: F) =>
          Store.open({ name: fx.regionName, register: false }),
        ),
        bad('range', 'pollMs 0', 'options.pollMs', (fx: F) => Store.open({ name: fx.name, pollMs: 0 })),
        bad('permission', 'a 0600 store of root, as nobody', 'EACCES', (_f, p) => Store.open({ name: p }), {
          as: 'nobody',
          prepare: (fx: F) => fx.name,
        }),
      ],
      'Store.fromFd': [
        bad('type', 'a string for fd', 'fd', () => Store.fromFd('x' as never)),
        bad('range', 'fd -1', 'fd', () => Store.fromFd(-1)),
        bad('type', 'a string for options', 'options', () => Store.fromFd(0, 'x' as never)),
        bad('range', 'an fd that is not a memfd', 'ERR_SHM_BAD_FORMAT', (fx: F) =>
          Store.fromFd(fx.region.fd),
        ),
      ],
      'Store#changedSince': [
        bad('type', 'a string for serial', 'serial', (fx: F) => fx.store.changedSince('1' as never)),
      ],
      ...Object.fromEntries(
        (['store', 'storeAsync'] as const).map((method) => [
          `Store#${method}`,
          [
            bad('type', 'a string (committed an empty value)', 'bytes', (fx: F) =>
              fx.store[method]('text' as never),
            ),
            bad('type', 'a number', 'bytes', (fx: F) => fx.store[method](42 as never)),
            bad('type', 'an array of numbers', 'bytes', (fx: F) => fx.store[method]([1, 2, 3] as never)),
            bad('type', 'null (was "Cannot read properties of null")', 'bytes', (fx: F) =>
              fx.store[method](null as never),
            ),
            bad('range', 'serializer id -1', 'serializer', (fx: F) => fx.store[method](Buffer.from('x'), -1)),
            bad('type', 'serializer id 1.5', 'serializer', (fx: F) =>
              fx.store[method](Buffer.from('x'), 1.5),
            ),
            bad('type', "serializer id 'v8'", 'serializer', (fx: F) =>
              fx.store[method](Buffer.from('x'), 'v8' as never),
            ),
            bad('type', "serializer id '1' (a numeric string)", 'serializer', (fx: F) =>
              fx.store[method](Buffer.from('x'), '1' as never),
            ),
            bad('range', 'serializer id 2 ** 32', 'serializer', (fx: F) =>
              fx.store[method](Buffer.from('x'), 2 ** 32),
            ),
            bad('range', 'more bytes than the store holds', 'ERR_SHM_TOO_LARGE', (fx: F) =>
              fx.small[method](Buffer.alloc(65)),
            ),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) =>
              fx.closed[method](Buffer.from('x')),
            ),
            ...(method === 'store'
              ? [
                  bad(
                    'full',
                    'a 2 MiB value whose chained segments do not fit a 1 MiB tmpfs (the old value stays)',
                    'ENOSPC',
                    () => {
                      const s = Store.create({ name: '/bad-input-v', inlineCapacity: 4096, register: false });
                      s.store(Buffer.from('old'));
                      keepsValue(s, () => s.store(Buffer.alloc(2 * MiB, 1)));
                    },
                    { as: 'full-tmpfs' as const },
                  ),
                ]
              : []),
          ],
        ]),
      ),
      ...Object.fromEntries(
        (['waitForChange', 'waitForChangeAsync'] as const).map((method) => [
          `Store#${method}`,
          [
            bad('type', 'a string for serial', 'serial', (fx: F) => fx.store[method]('1' as never)),
            bad('range', 'serial -1', 'serial', (fx: F) => fx.store[method](-1)),
            bad('range', 'serial 1.5', 'serial', (fx: F) => fx.store[method](1.5)),
            bad('range', 'serial 2^30 (serials wrap below it)', 'serial', (fx: F) =>
              fx.store[method](2 ** 30),
            ),
            bad('range', 'timeout -1', 'timeoutMs', (fx: F) => fx.store[method](0, -1)),
            bad('range', 'timeout NaN', 'timeoutMs', (fx: F) => fx.store[method](0, Number.NaN)),
            bad('type', "timeout '10'", 'timeoutMs', (fx: F) => fx.store[method](0, '10' as never)),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method](0, 0)),
            ...(method === 'waitForChangeAsync'
              ? [
                  bad('type', 'an object that is not an AbortSignal', 'signal', (fx: F) =>
                    fx.store.waitForChangeAsync(0, 0, {} as never),
                  ),
                ]
              : []),
          ],
        ]),
      ),
      'Store#changes': [
        bad('type', 'a string for options', 'options', (fx: F) => fx.store.changes('x' as never)),
        bad('range', 'since -1', 'options.since', (fx: F) => fx.store.changes({ since: -1 })),
        bad('type', "since '1'", 'options.since', (fx: F) => fx.store.changes({ since: '1' as never })),
        bad('type', 'bytes 1', 'options.bytes', (fx: F) => fx.store.changes({ bytes: 1 as never })),
        bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.changes()),
      ],
      'new ChangeIterator': {
        internal: 'made by changes() of Store, tied variables, MmapShare and ShareLite',
      },
      'ChangeIterator#next': { accepts: 'no arguments; resolves { done: true } once the iterator ended' },
      'ChangeIterator#return': { accepts: 'no arguments; idempotent' },
      destroyedError: { accepts: 'any description: it only builds an error' },
      'Store#storeLocked': [
        bad('state', 'without holding the lock', 'ERR_SHM_NOT_HELD', (fx: F) =>
          fx.store.storeLocked(Buffer.from('x')),
        ),
        bad('type', 'a string', 'bytes', (fx: F) => fx.store.storeLocked('x' as never)),
        bad('range', 'serializer -1', 'serializer', (fx: F) => fx.store.storeLocked(Buffer.from('x'), -1)),
      ],
      'Store#storeParts': [
        bad('type', 'a string for head', 'head', (fx: F) =>
          fx.store.storeParts('x' as never, Buffer.from('x')),
        ),
        bad('type', 'an array for body', 'body', (fx: F) =>
          fx.store.storeParts(Buffer.from('x'), [1] as never),
        ),
        bad('type', 'null for body', 'body', (fx: F) => fx.store.storeParts(Buffer.from('x'), null as never)),
        bad('range', 'serializer id -1', 'serializer', (fx: F) =>
          fx.store.storeParts(Buffer.from('x'), Buffer.from('y'), -1),
        ),
        bad('type', 'serializer id 1.5', 'serializer', (fx: F) =>
          fx.store.storeParts(Buffer.from('x'), Buffer.from('y'), 1.5),
        ),
        bad('type', "serializer id '1' (a numeric string)", 'serializer', (fx: F) =>
          fx.store.storeParts(Buffer.from('x'), Buffer.from('y'), '1' as never),
        ),
        bad('range', 'serializer id 2 ** 32', 'serializer', (fx: F) =>
          fx.store.storeParts(Buffer.from('x'), Buffer.from('y'), 2 ** 32),
        ),
        bad('range', 'head and body more than the store holds', 'ERR_SHM_TOO_LARGE', (fx: F) =>
          fx.small.storeParts(Buffer.alloc(33), Buffer.alloc(32)),
        ),
        bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) =>
          fx.closed.storeParts(Buffer.from('x'), Buffer.from('y')),
        ),
      ],
      'Store#viewLocked': [
        bad('state', 'without holding the lock', 'ERR_SHM_NOT_HELD', (fx: F) => fx.store.viewLocked()),
        bad('type', 'a number for info', 'info', (fx: F) => fx.store.viewLocked(5 as never)),
        bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.viewLocked()),
      ],
      'Store#setValueLocked': [
        bad('state', 'without holding the lock', 'ERR_SHM_NOT_HELD', (fx: F) =>
          fx.store.setValueLocked({ a: 1 }),
        ),
        bad('type', 'a function (v8 cannot clone it)', 'ERR_SHM_UNSERIALIZABLE', (fx: F) =>
          fx.store.setValueLocked(() => 1),
        ),
      ],
      ...Object.fromEntries(
        (['fetch', 'fetchAsync'] as const).map((method) => [
          `Store#${method}`,
          [
            bad('type', "a string for into (was 'into.subarray is not a function')", 'into', (fx: F) =>
              fx.store[method]('x' as never),
            ),
            bad('type', 'a number for into', 'into', (fx: F) => fx.store[method](5 as never)),
            bad('type', 'an array for into', 'into', (fx: F) => fx.store[method]([] as never)),
            bad('type', 'a number for info', 'info', (fx: F) => fx.store[method](undefined, 5 as never)),
            bad('range', 'a buffer too small for the value', 'ERR_SHM_TOO_LARGE', (fx: F) =>
              fx.store[method](new Uint8Array(2)),
            ),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]()),
          ],
        ]),
      ),
      ...Object.fromEntries(
        (['setValue', 'setValueAsync'] as const).map((method) => [
          `Store#${method}`,
          [
            bad('type', 'a function (v8 cannot clone it)', 'ERR_SHM_UNSERIALIZABLE', (fx: F) =>
              fx.store[method](() => 1),
            ),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]({ a: 1 })),
          ],
        ]),
      ),
      'Store#getValue': [bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.getValue())],
      'Store#update': [
        bad('type', 'a string for fn', 'fn', (fx: F) => fx.store.update('x' as never)),
        bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.update(() => 1)),
      ],
      'Store#debug': [bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.debug())],
      'Store#close': { accepts: 'no arguments; idempotent' },
      'Store#destroy': [bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.destroy())],

      // ------------------------------------------------------------ serializers and helpers
      getSerializer: [
        bad('type', 'a number', 'serializer', () => m.getSerializer(5 as never)),
        bad('range', 'an unknown name', 'serializer', () => m.getSerializer('yaml')),
        bad('type', 'an object without encode/decode', 'serializer', () =>
          m.getSerializer({ name: 'x' } as never),
        ),
      ],
      serializerId: [
        bad('type', 'null', 'serializer', () => m.serializerId(null as never)),
        bad('range', 'id 0', 'serializer.id', () => m.serializerId({ name: 'x', id: 0 })),
      ],
      protoKeyError: [
        bad('type', 'a string for bytes', 'bytes', () => m.protoKeyError('x', {}, 'bytes' as never)),
      ],
      ...Object.fromEntries(
        Object.entries({ json, raw, v8 }).flatMap(([n, s]) => [
          [
            `${n}.decode`,
            [
              bad('type', 'a string', 'bytes', () => s.decode('{}' as never)),
              bad('type', 'null', 'bytes', () => s.decode(null as never)),
              bad('range', 'bytes it did not write', 'ERR_SHM_BAD_FORMAT', () =>
                s.decode(Buffer.from([0xff, 0, 1])),
              ),
            ],
          ],
          [
            `${n}.encode`,
            [bad('type', 'a function', 'ERR_SHM_UNSERIALIZABLE', () => s.encode((() => 1) as never))],
          ],
        ]),
      ),
      'raw.encodeView': [
        bad('type', 'a function', 'ERR_SHM_UNSERIALIZABLE', () => raw.encodeView!((() => 1) as never)),
        bad('type', 'a number', 'ERR_SHM_UNSERIALIZABLE', () => raw.encodeView!(5 as never)),
        bad('range', 'a string with a lone surrogate', 'ERR_SHM_UNSERIALIZABLE', () =>
          raw.encodeView!('\ud800'),
        ),
      ],
      isExistsError: { accepts: 'a predicate on any thrown value' },
      isNotFoundError: { accepts: 'a predicate on any thrown value' },
      serializerName: { accepts: 'a lookup: any id that is not known gives undefined' },
      serializerMismatchError: {
        accepts: 'builds an error (its message describes whatever ids it is given)',
      },
      badFormatError: { accepts: 'builds an error from any message parts' },
      unserializableError: { accepts: 'builds an error describing any value' },
      describeType: { accepts: 'describes any value' },
      messageOf: { accepts: 'the message of any thrown value' },

      // ------------------------------------------------------------ registry
      'registry.remove': [
        bad('type', 'an object', 'idOrKey', () => registry.remove({} as never)),
        bad('type', 'an empty string', 'idOrKey', () => registry.remove('')),
        bad('type', 'a fraction', 'idOrKey', () => registry.remove(1.5)),
      ],
      'registry.cleanup': [
        bad('type', 'a string for opts', 'opts', () => registry.cleanup('all' as never)),
        bad('type', 'a number for opts.tag', 'opts.tag', () => registry.cleanup({ tag: 5 as never })),
        bad('type', "'yes' for opts.all", 'opts.all', () => registry.cleanup({ all: 'yes' as never })),
      ],
      'registry.recordCreated': [
        bad('type', 'a string', 'entry', () => registry.recordCreated('x' as never)),
        bad('type', 'an entry without an id', 'id', () =>
          registry.recordCreated({ backend: 'posix' } as never),
        ),
        bad('type', 'a string for ownerPid', 'entry.ownerPid', () =>
          registry.recordCreated({ backend: 'posix', id: '/x', ownerPid: 'me' } as never),
        ),
      ],
      'registry.addParts': [
        bad('type', 'a number for backend', 'backend', () => registry.addParts(1 as never, '/x', [])),
        bad('type', 'an empty id', 'id', () => registry.addParts('posix', '', [])),
        bad('type', 'a string for parts', 'parts', () => registry.addParts('posix', '/x', 'p' as never)),
      ],
      'registry.forgetCreated': [
        bad('type', 'a number for backend', 'backend', () => registry.forgetCreated(1 as never, '/x')),
        bad('type', 'a number for id', 'id', () => registry.forgetCreated('posix', 5 as never)),
      ],
      'registry.addObjectRemover': [
        bad('type', 'a string', 'remover', () => registry.addObjectRemover('x' as never)),
      ],
      'registry.list': { accepts: 'no arguments' },
      'registry.registryDir': { accepts: 'no arguments' },
    },
  };
});
