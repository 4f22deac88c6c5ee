// Bad inputs for @shm/mmap-share (see ../src/table.ts). Fixtures: a share of 256 bytes holding a value, a closed one.
import { SHARE_ENV } from 'node:worker_threads';
import type { MmapShare } from '@shm/mmap-share';
import { bad, definePackage } from '../src/table.js';

type M = typeof import('@shm/mmap-share');

type F = { share: MmapShare; closed: MmapShare };

export default definePackage<M, F>((m) => {
  const { MmapShare } = m;
  const timeouts = (method: 'lock' | 'lockAsync') => [
    bad('range', 'timeout -1', 'timeoutMs', (fx: F) => fx.share[method](-1)),
    bad('range', 'timeout NaN', 'timeoutMs', (fx: F) => fx.share[method](Number.NaN)),
    bad('type', "timeout 'abc'", 'timeoutMs', (fx: F) => fx.share[method]('abc' as never)),
    bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method]()),
  ];
  const sets = (method: 'set' | 'setAsync') => [
    bad('type', 'undefined', 'value', (fx: F) => fx.share[method](undefined)),
    bad('type', 'two values', 'set()', (fx: F) => (fx.share[method] as any)(1, 2)),
    bad('range', 'a value larger than the share', 'ERR_SHM_TOO_LARGE', (fx: F) =>
      fx.share[method]('x'.repeat(1000)),
    ),
    bad('type', 'a function', 'ERR_SHM_UNSERIALIZABLE', (fx: F) => fx.share[method](() => 1)),
    bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method](1)),
  ];
  return {
    setup(): F {
      const share = new MmapShare(256);
      share.set({ the: 'value' });
      const closed = new MmapShare(16);
      closed.close();
      return { share, closed };
    },
    teardown(fx) {
      fx.share.close();
    },
    snapshot: (fx) => ({ value: fx.share.get(), locked: fx.share.locked }),
    entries: {
      'new MmapShare': [
        bad('type', 'a string for size', 'size', () => new MmapShare('256' as never)),
        bad('range', 'size 0', 'size', () => new MmapShare(0)),
        bad('range', 'size 2 GiB', 'size', () => new MmapShare(2 ** 31)),
        bad('type', 'a string for options', 'options', () => new MmapShare(16, 'x' as never)),
        bad(
          'range',
          "serializer 'yaml'",
          'serializer',
          () => new MmapShare(16, { serializer: 'yaml' as never }),
        ),
        bad('range', 'pollMs -1', 'options.pollMs', () => new MmapShare(16, { pollMs: -1 })),
      ],
      'MmapShare.inherited': [
        bad('type', 'a number for name', 'name', () => MmapShare.inherited(5 as never)),
        bad('missing', 'a share this process was not given', 'ERR_SHM_NOT_FOUND', () =>
          MmapShare.inherited('nope'),
        ),
      ],
      'MmapShare.hasInherited': [
        bad('type', 'a number for name', 'name', () => MmapShare.hasInherited(5 as never)),
      ],
      'MmapShare.fromWorkerData': [
        bad('type', 'a string', 'handle', () => MmapShare.fromWorkerData('x' as never)),
        bad('type', 'a handle with fd -1', 'handle', () =>
          MmapShare.fromWorkerData({
            kind: '@shm/mmap-share',
            fd: -1,
            size: 1,
            serializer: 'v8',
            serializerId: 1,
          }),
        ),
      ],
      'MmapShare#set': sets('set'),
      'MmapShare#setAsync': sets('setAsync'),
      ...Object.fromEntries(
        (['waitForChange', 'waitForChangeAsync'] as const).map((method) => [
          `MmapShare#${method}`,
          [
            bad('type', 'a string for serial', 'serial', (fx: F) => fx.share[method]('1' as never)),
            bad('range', 'serial 0.5', 'serial', (fx: F) => fx.share[method](0.5)),
            bad('range', 'timeout -2', 'timeoutMs', (fx: F) => fx.share[method](0, -2)),
            bad('type', 'timeout null', 'timeoutMs', (fx: F) => fx.share[method](0, null as never)),
            bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed[method](0, 0)),
          ],
        ]),
      ),
      'MmapShare#changes': [
        bad('type', 'a string for options', 'options', (fx: F) => fx.share.changes('x' as never)),
        bad('range', 'since -3', 'options.since', (fx: F) => fx.share.changes({ since: -3 })),
        bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.changes()),
      ],
      'MmapShare#get': [bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.get())],
      'MmapShare#getAsync': [
        bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.getAsync()),
      ],
      'MmapShare#lock': timeouts('lock'),
      'MmapShare#lockAsync': timeouts('lockAsync'),
      'MmapShare#tryLock': [
        bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.tryLock()),
      ],
      'MmapShare#unlock': [
        bad('state', 'unlock without the lock', 'ERR_SHM_NOT_HELD', (fx: F) => fx.share.unlock()),
      ],
      'MmapShare#update': [
        bad('type', 'a string for fn', 'fn', (fx: F) => fx.share.update('x' as never)),
        bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.update(() => 1)),
      ],
      'MmapShare#updateAsync': [
        bad('type', 'a string for fn', 'fn', (fx: F) => fx.share.updateAsync('x' as never)),
      ],
      'MmapShare#fork': [
        bad('type', 'a number for modulePath', 'modulePath', (fx: F) => fx.share.fork(5 as never)),
        bad('type', 'a string for options', 'options', (fx: F) => fx.share.fork('x.js', [], 'x' as never)),
        bad('type', 'a number for options.shares', 'options.shares', (fx: F) =>
          fx.share.fork('x.js', [], { shares: 5 as never }),
        ),
        bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.fork('x.js')),
      ],
      'MmapShare#spawn': [
        bad('type', 'a number for command', 'command', (fx: F) => fx.share.spawn(5 as never)),
        bad('type', 'a string for options', 'options', (fx: F) => fx.share.spawn('node', [], 'x' as never)),
      ],
      'MmapShare#setupPrimary': [
        bad('type', 'a string for settings', 'settings', (fx: F) => fx.share.setupPrimary('x' as never)),
      ],
      'MmapShare#clusterFork': [
        bad('type', 'a string for env (was spread into variables 0, 1, 2)', 'env', (fx: F) =>
          fx.share.clusterFork('abc' as never),
        ),
        bad('type', 'a share that is not an MmapShare', 'options.shares.x', (fx: F) =>
          fx.share.clusterFork({}, { x: {} as never }),
        ),
      ],
      'MmapShare#worker': [
        bad('type', 'a string for options', 'options', (fx: F) => fx.share.worker('x.js', 'x' as never)),
        bad('type', 'SHARE_ENV for options.env', 'options.env', (fx: F) =>
          fx.share.worker('x.js', { env: SHARE_ENV }),
        ),
      ],
      'MmapShare#transferable': [
        bad('closed', 'a closed share', 'ERR_SHM_CLOSED', (fx: F) => fx.closed.transferable()),
      ],
      'MmapShare#close': { accepts: 'no arguments; idempotent' },
    },
  };
});
