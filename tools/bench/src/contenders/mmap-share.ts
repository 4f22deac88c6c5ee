import { MmapShare } from '@shm/mmap-share';
import { msgpack } from '@shm/serializer-msgpack';
import type { NodeContender } from '../contender.js';
import { byteLength, type PayloadKind, type Value } from '../payload.js';

/** The shares process A made for B (one per payload kind), kept until A closes them. */
const created = new Map<PayloadKind, MmapShare>();

const serializerOf = (kind: PayloadKind) => (kind === 'object' ? msgpack : 'raw');

/** @shm/mmap-share: an anonymous memfd per payload kind, handed to B at fork (the only way to reach it). */
export const mmapShare: NodeContender = {
  runtime: 'node',
  id: 'mmap-share',
  label: '@shm/mmap-share',
  notes:
    "Created in A and handed to B by `share.fork()`. Bytes: the `'raw'` serializer; object: msgpack. `get()` " +
    'decodes afresh each time by design (no cache); the hand-off polls `get()`.',
  forkPeer(script, args, options, _config, kinds) {
    for (const kind of kinds) {
      created.set(
        kind,
        new MmapShare(Math.max(1024, byteLength(kind) + 1024), { serializer: serializerOf(kind) }),
      );
    }
    const [first] = created.values();
    return first!.fork(script, args, { ...options, shares: Object.fromEntries(created) });
  },
  open({ role, kind }) {
    const share =
      role === 'a'
        ? created.get(kind)
        : MmapShare.inherited(kind, kind === 'object' ? { serializer: msgpack } : {});
    if (!share) throw new Error(`no share was made for ${kind}`);
    return {
      store: (v) => share.set(v),
      fetch: () => share.get() as Value,
      close() {
        share.close();
        if (role === 'a') created.delete(kind);
      },
    };
  },
};
