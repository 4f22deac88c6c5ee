import { msgpack } from '@shm/serializer-msgpack';
import { ShareLite } from '@shm/sharelite';
import type { Endpoint, NodeContender } from '../contender.js';
import { byteLength, seqOf, type Value } from '../payload.js';
import { Poll, waitTimeout } from '../workloads.js';

/** Segment size for a payload: the whole value in one segment (the header takes 16 bytes). */
export function shareLiteSegment(bytes: number): number {
  return Math.max(65536, bytes + 64);
}

/** @shm/sharelite: one SysV share per payload kind, with IPC::ShareLite's format and semaphores. */
export const sharelite: NodeContender = {
  runtime: 'node',
  id: 'sharelite',
  label: '@shm/sharelite',
  notes:
    'Segment size set so each value fits one segment (the `size` option; default 64 KB). Bytes: `fetch(into)` ' +
    '(no allocation). Object: msgpack-encoded bytes. The hand-off polls `version()` (a read of the header, no ' +
    'semaphore) and fetches once it moves.',
  prepare: (names, kinds) => Object.fromEntries(kinds.map((k) => [k, names.key()])),
  open({ role, kind, config }) {
    const len = byteLength(kind);
    const share = new ShareLite({
      key: config[kind] as number,
      create: role === 'a',
      destroy: false,
      size: shareLiteSegment(len),
    });
    const into = len > 0 ? Buffer.allocUnsafe(len) : undefined;
    const fetch = (): Value => (into ? share.fetch(into) : (msgpack.decode(share.fetch()) as Value));
    const ep: Endpoint = {
      store: (v) => {
        share.store(v instanceof Uint8Array ? v : msgpack.encode(v));
      },
      fetch,
      waitFor(seq, deadline) {
        let version = -1;
        const poll = new Poll(deadline);
        for (;;) {
          const now = share.version();
          if (now !== version) {
            version = now;
            const v = fetch();
            if (seqOf(v) >= seq) return v;
          }
          if (poll.miss()) throw waitTimeout(seq, fetch());
        }
      },
      close: () => (role === 'a' ? share.destroy() : share.close()),
    };
    return ep;
  },
};
