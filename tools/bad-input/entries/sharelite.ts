// Bad inputs for @shm/sharelite (see ../src/table.ts). Fixtures: a 0600 share holding a value, a closed handle.

import type { ShareLite } from '@shm/sharelite';
import { uniqueKey } from '@shm/test-utils';
import { bad, definePackage } from '../src/table.js';

type M = typeof import('@shm/sharelite');

type F = { key: number; share: ShareLite; closed: ShareLite };

export default definePackage<M, F>((m) => {
  const { ShareLite, LOCK_EX, LOCK_SH } = m;
  const opens = (open: (...a: unknown[]) => unknown) => [
    bad('type', 'an object for key', 'key', () => open({ key: {} })),
    bad('range', 'a key of five characters', 'key', () => open({ key: 'abcde', create: true })),
    bad('type', "create 'maybe'", 'create', () => open({ key: uniqueKey(), create: 'maybe' })),
    bad('range', 'size -1', 'size', () => open({ key: uniqueKey(), create: true, size: -1 })),
    bad('range', 'mode 0o1000', 'mode', () => open({ key: uniqueKey(), create: true, mode: 0o1000 })),
    bad('type', 'an unknown option', 'option name', () => open({ kee: 1 })),
    bad('range', 'eight positional arguments', 'new ShareLite()', () => open(1, 1, 0, 0, 0, 0, 0, 0)),
    bad('missing', 'a key with no share, without create', 'ENOENT', () => open({ key: uniqueKey() })),
    bad('exclusive', 'exclusive on an existing share', 'EEXIST', (fx: F) =>
      open({ key: fx.key, exclusive: true }),
    ),
  ];
  const lockCases = (method: 'lock' | 'lockAsync') => [
    bad('type', "flags 'ex'", 'flags', (fx: F) => fx.share[method]('ex' as never)),
    bad('range', 'LOCK_EX | LOCK_SH', 'flags', (fx: F) => fx.share[method](LOCK_EX | LOCK_SH)),
    bad('type', 'timeout -1', 'timeoutMs', (fx: F) => fx.share[method](LOCK_SH, -1)),
    bad('type', "timeout 'abc'", 'timeoutMs', (fx: F) => fx.share[method](LOCK_EX, 'abc' as never)),
    bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]()),
  ];
  return {
    setup(): F {
      const key = uniqueKey();
      const share = new ShareLite({ key, create: true, destroy: true, mode: 0o600 });
      share.store('the value');
      const closed = new ShareLite({ key });
      closed.close();
      return { key, share, closed };
    },
    teardown(fx) {
      fx.share.destroy();
    },
    snapshot: (fx) => ({
      value: fx.share.fetch().toString(),
      version: fx.share.version(),
      locked: fx.share.locked,
    }),
    entries: {
      'new ShareLite': [
        ...opens((...a) => new (ShareLite as any)(...a)),
        bad('permission', "root's 0600 share, as nobody", 'EACCES', (_f, key) => new ShareLite({ key }), {
          as: 'nobody',
          prepare: (fx: F) => fx.key,
        }),
      ],
      'ShareLite.open': opens((...a) => (ShareLite.open as any)(...a)),
      ...Object.fromEntries(
        (['store', 'storeAsync'] as const).map((method) => [
          `ShareLite#${method}`,
          [
            bad('type', 'a number', 'data', (fx: F) => fx.share[method](5 as never)),
            bad('type', 'null', 'data', (fx: F) => fx.share[method](null as never)),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]('x')),
          ],
        ]),
      ),
      ...Object.fromEntries(
        (['fetch', 'fetchAsync'] as const).map((method) => [
          `ShareLite#${method}`,
          [
            bad('type', 'a string for into', 'into', (fx: F) => fx.share[method]('x' as never)),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]()),
          ],
        ]),
      ),
      ...Object.fromEntries(
        (['storeValue', 'storeValueAsync'] as const).map((method) => [
          `ShareLite#${method}`,
          [
            bad('type', 'a number for serializer', 'serializer', (fx: F) => fx.share[method]({}, 5 as never)),
            bad('range', "an unknown serializer name 'yaml'", 'serializer', (fx: F) =>
              fx.share[method]({}, 'yaml' as never),
            ),
            bad('type', 'a function for the json serializer', 'ERR_SHM_UNSERIALIZABLE', (fx: F) =>
              fx.share[method](() => 1, 'json'),
            ),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]({}, 'json')),
          ],
        ]),
      ),
      ...Object.fromEntries(
        (['fetchValue', 'fetchValueAsync'] as const).map((method) => [
          `ShareLite#${method}`,
          [
            bad('type', 'a number for serializer', 'serializer', (fx: F) => fx.share[method](5 as never)),
            bad('range', 'bytes that are not JSON', 'ERR_SHM_BAD_FORMAT', (fx: F) =>
              fx.share[method]('json'),
            ),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]('json')),
          ],
        ]),
      ),
      ...Object.fromEntries(
        (['waitForChange', 'waitForChangeAsync'] as const).map((method) => [
          `ShareLite#${method}`,
          [
            bad('type', 'a string for version', 'version', (fx: F) => fx.share[method]('1' as never)),
            bad('range', 'version -1', 'version', (fx: F) => fx.share[method](-1)),
            bad('range', 'version 2^32', 'version', (fx: F) => fx.share[method](2 ** 32)),
            bad('range', 'timeout -1', 'timeoutMs', (fx: F) => fx.share[method](0, -1)),
            bad('type', "timeout 'x'", 'timeoutMs', (fx: F) => fx.share[method](0, 'x' as never)),
            bad('range', 'pollMs 0', 'options.pollMs', (fx: F) => fx.share[method](0, 1, { pollMs: 0 })),
            bad('type', 'a number for options', 'options', (fx: F) => fx.share[method](0, 1, 5 as never)),
            bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method](0, 0)),
          ],
        ]),
      ),
      'ShareLite#changes': [
        bad('type', 'a string for options', 'options', (fx: F) => fx.share.changes('x' as never)),
        bad('range', 'since 1.5', 'options.since', (fx: F) => fx.share.changes({ since: 1.5 })),
        bad('range', 'pollMs -1', 'options.pollMs', (fx: F) => fx.share.changes({ pollMs: -1 })),
        bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.changes()),
      ],
      'ShareLite#lock': lockCases('lock'),
      'ShareLite#lockAsync': lockCases('lockAsync'),
      'ShareLite#unlock': [bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.unlock())],
      'ShareLite#version': [
        bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.version()),
      ],
      'ShareLite#numSegments': [
        bad('closed', 'a closed handle', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.numSegments()),
      ],
      'ShareLite#close': { accepts: 'no arguments; idempotent' },
      'ShareLite#destroy': {
        accepts: 'no arguments; idempotent (a closed handle has nothing left to remove)',
      },
      'ShareLite#destroyAsync': {
        accepts: 'no arguments; idempotent (a closed handle has nothing left to remove)',
      },
      'ShareLite#destroyOnClose=': {
        accepts: "Perl's $share->destroy($flag): any value, taken as true or false",
      },
      deriveKey: [
        bad('type', 'an object', 'key', () => m.deriveKey({} as never)),
        bad('range', 'five characters', 'key', () => m.deriveKey('abcde')),
        bad('range', 'a fraction', 'key', () => m.deriveKey(1.5)),
      ],
    },
  };
});
