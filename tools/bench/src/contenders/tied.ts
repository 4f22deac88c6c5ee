import { removeAll, ScalarRef, tie, tied, untie } from '@shm/tied';
import type { Endpoint, NodeContender } from '../contender.js';
import { byteLength, seqOf, type Value } from '../payload.js';
import { Poll, waitTimeout } from '../workloads.js';

/** @shm/tied: one named tied scalar (`tie(new ScalarRef(), name)`) per payload kind, in its own namespace. */
export const tiedScalar: NodeContender = {
  runtime: 'node',
  id: 'tied',
  label: '@shm/tied',
  notes:
    'A tied `ScalarRef` per payload, msgpack (the default), `size` set so the value fits its first segment. ' +
    'Store: `ref.value = v`; the small object becomes a tied hash whose nested objects and array get segments ' +
    'of their own, as documented; each store after the first rewrites those four variables in place. ' +
    'Fetch: bytes `ref.value` (decoded once per change, then cached); object `tied(ref).snapshot()` (a deep ' +
    'plain copy). The hand-off polls `tied(ref).serial`.',
  prepare: (names, kinds) => Object.fromEntries(kinds.map((k) => [k, names.name()])),
  open({ role, kind, config }) {
    const namespace = config[kind] as string;
    const size = Math.max(32 * 1024, byteLength(kind) + 1024);
    const ref =
      role === 'a'
        ? tie(new ScalarRef<Value>(), 'v', { namespace, size })
        : tie(new ScalarRef<Value>(), 'v', { namespace, create: false });
    const t = tied(ref);
    const fetch = kind === 'object' ? () => t.snapshot() as Value : () => ref.value;
    const ep: Endpoint = {
      store: (v) => {
        ref.value = v;
      },
      fetch,
      waitFor(seq, deadline) {
        let serial = -1;
        const poll = new Poll(deadline);
        for (;;) {
          const now = t.serial;
          if (now !== serial) {
            serial = now;
            const v = fetch();
            if (v !== undefined && seqOf(v) >= seq) return v;
          }
          if (poll.miss()) throw waitTimeout(seq, fetch());
        }
      },
      close() {
        if (role === 'a') {
          t.remove();
          removeAll({ namespace });
        } else {
          untie(ref);
        }
      },
    };
    return ep;
  },
};
