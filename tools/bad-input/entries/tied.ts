// Bad inputs for @shm/tied (see ../src/table.ts). Fixtures: a named hash and a named ScalarRef in a namespace of
// their own (mode 0600), and the namespace's name for the calls that create.
import { uniqueName } from '@shm/test-utils';
import type { ScalarRef } from '@shm/tied';
import { bad, definePackage } from '../src/table.js';

type M = typeof import('@shm/tied');

type F = { ns: string; hash: Record<string, unknown>; ref: ScalarRef<number> };

export default definePackage<M, F>((m) => {
  const { tie, tied, untie, removeAll, ScalarRef } = m;
  const locks = (method: 'readLock' | 'writeLock' | 'readLockAsync' | 'writeLockAsync') => [
    bad('range', 'timeout -1', 'timeoutMs', (fx: F) => tied(fx.hash)[method](-1)),
    bad('range', 'timeout NaN', 'timeoutMs', (fx: F) => tied(fx.hash)[method](Number.NaN)),
    bad('type', "timeout 'x' (writeLock('x') used to pass)", 'timeoutMs', (fx: F) =>
      tied(fx.hash)[method]('x' as never),
    ),
  ];
  const withs = (method: 'withWriteLock' | 'withWriteLockAsync' | 'withReadLock') => [
    bad('type', "a string for fn (was 'fn is not a function', after locking)", 'fn', (fx: F) =>
      tied(fx.hash)[method]('x' as never),
    ),
    bad('range', 'timeout -1', 'timeoutMs', (fx: F) => tied(fx.hash)[method](() => 1, -1)),
  ];
  return {
    setup(): F {
      const ns = uniqueName();
      const hash = tie({ a: 1 }, 'hash', { namespace: ns, mode: 0o600 });
      const ref = tie(new ScalarRef(1), 'ref', { namespace: ns });
      return { ns, hash, ref };
    },
    teardown(fx) {
      tied(fx.hash).remove();
      tied(fx.ref).remove();
      removeAll({ namespace: fx.ns });
    },
    snapshot: (fx) => ({
      hash: tied(fx.hash).snapshot(),
      ref: fx.ref.value,
      locks: [tied(fx.hash).debug().lock, tied(fx.ref).serial],
    }),
    entries: {
      tie: [
        bad('type', 'a number for target', "tie()'s target", () => tie(5 as never, 'x')),
        bad('type', 'a number for name (made an anonymous variable)', 'name', (fx: F) =>
          tie({}, 123 as never, { namespace: fx.ns }),
        ),
        bad('type', 'a string for options', 'options', () => tie({}, 'x', 'opts' as never)),
        bad('type', 'an unknown option', 'an option name', () => tie({}, { nmae: 'x' } as never)),
        bad('range', 'size 10', 'options.size', (fx: F) => tie({}, 'x', { namespace: fx.ns, size: 10 })),
        bad('type', 'a namespace with a slash', 'options.namespace', () =>
          tie({}, 'x', { namespace: 'a/b' }),
        ),
        bad('type', 'a handle that is not one', 'options.handle', () => tie({}, { handle: 'x' })),
        bad('type', "'yes' for options.create", 'options.create', () =>
          tie({}, 'x', { create: 'yes' as never }),
        ),
        bad('missing', 'a name that does not exist, without create', 'ENOENT', (fx: F) =>
          tie({}, 'nope', { namespace: fx.ns, create: false }),
        ),
        bad('exclusive', 'exclusive on an existing variable', 'EEXIST', (fx: F) =>
          tie({}, 'hash', { namespace: fx.ns, exclusive: true }),
        ),
        bad(
          'permission',
          "root's 0600 variable, as nobody",
          'EACCES',
          (_f, ns) => tie({}, 'hash', { namespace: ns }),
          {
            as: 'nobody',
            prepare: (fx: F) => fx.ns,
          },
        ),
        bad(
          'full',
          'a 2 MiB initial value on a 1 MiB tmpfs',
          'ENOSPC',
          () => tie({ big: 'x'.repeat(2 * 1024 * 1024) }, 'big', { namespace: 'bad-input' }),
          { as: 'full-tmpfs' },
        ),
      ],
      tied: [bad('type', 'a plain object', 'tied()', () => tied({}))],
      untie: [bad('type', 'a number', 'untie()', () => untie(5))],
      isTied: { accepts: 'a predicate on any value' },
      removeAll: [
        bad('type', 'a string for opts', 'opts', () => removeAll('ns' as never)),
        bad('type', 'a namespace with a slash', 'opts.namespace', () => removeAll({ namespace: 'a/b' })),
        bad('type', 'a number for opts.swapfile', 'opts.swapfile', () => removeAll({ swapfile: 5 as never })),
      ],
      ...Object.fromEntries(
        (['waitForChange', 'waitForChangeAsync'] as const).map((method) => [
          `Tied#${method}`,
          [
            bad('type', 'a string for serial', 'serial', (fx: F) => tied(fx.hash)[method]('1' as never)),
            bad('range', 'serial -1', 'serial', (fx: F) => tied(fx.hash)[method](-1)),
            bad('range', 'timeout -1', 'timeoutMs', (fx: F) => tied(fx.hash)[method](0, -1)),
            bad('type', "timeout 'x'", 'timeoutMs', (fx: F) => tied(fx.hash)[method](0, 'x' as never)),
          ],
        ]),
      ),
      'Tied#changes': [
        bad('type', 'a number for options', 'options', (fx: F) => tied(fx.hash).changes(5 as never)),
        bad('range', 'since 1.5', 'options.since', (fx: F) => tied(fx.hash).changes({ since: 1.5 })),
        bad('type', "since 'x'", 'options.since', (fx: F) => tied(fx.hash).changes({ since: 'x' as never })),
      ],
      'Tied#readLock': locks('readLock'),
      'Tied#writeLock': locks('writeLock'),
      'Tied#readLockAsync': locks('readLockAsync'),
      'Tied#writeLockAsync': locks('writeLockAsync'),
      'Tied#withWriteLock': withs('withWriteLock'),
      'Tied#withWriteLockAsync': withs('withWriteLockAsync'),
      'Tied#withReadLock': withs('withReadLock'),
      'Tied#unlock': { accepts: 'no arguments (false when this process holds no lock)' },
      'Tied#snapshot': { accepts: 'no arguments' },
      'Tied#debug': { accepts: 'no arguments' },
      'Tied#remove': { accepts: 'no arguments' },
      'new Tied': { internal: '@internal: control objects come from tied(x)' },
      'new ScalarRef': { accepts: 'any value: an untied ScalarRef is a local box' },
      'ScalarRef#value=': [
        bad('type', 'a function, on a tied ref (the value stays)', 'ERR_SHM_UNSERIALIZABLE', (fx: F) => {
          (fx.ref as { value: unknown }).value = () => 1;
        }),
        bad('type', 'a symbol, on a tied ref', 'ERR_SHM_UNSERIALIZABLE', (fx: F) => {
          (fx.ref as { value: unknown }).value = Symbol('s');
        }),
      ],
      'ScalarRef#toJSON': { accepts: 'no arguments' },
      'ScalarRef#valueOf': { accepts: 'no arguments' },
      'ScalarRef#toString': { accepts: 'no arguments' },
    },
  };
});
