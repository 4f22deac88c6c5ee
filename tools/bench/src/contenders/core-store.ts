import { Store } from '@shm/core';
import { msgpack } from '@shm/serializer-msgpack';
import type { Endpoint, NodeContender } from '../contender.js';
import { byteLength, type PayloadKind, type SmallObject, seqOf, type Value } from '../payload.js';
import { Poll, waitTimeout } from '../workloads.js';

/** @shm/core's Store: one named store (POSIX shm) per payload kind. */
export const coreStore: NodeContender = {
  runtime: 'node',
  id: 'core-store',
  label: '@shm/core Store',
  notes:
    'Bytes: `store(bytes)` and `fetch(into)` (copies into a buffer allocated once). Object: `setValue`/`getValue` ' +
    'with the msgpack serializer; `getValue` decodes only when the serial moved. Inline capacity sized to the ' +
    'payload (no chained segments). The hand-off polls `serial` (one atomic load) and fetches once it moves.',
  prepare: (names, kinds) => Object.fromEntries(kinds.map((k) => [k, names.name()])),
  open({ role, kind, config }) {
    const opts = {
      name: config[kind] as string,
      serializer: msgpack,
      register: false,
      inlineCapacity: Math.max(64 * 1024, byteLength(kind) + 1024),
    };
    const s = role === 'a' ? Store.create(opts) : Store.open(opts);
    return kind === 'object' ? objectEndpoint(s, role) : bytesEndpoint(s, kind, role);
  },
};

function waitSerial(s: Store, fetch: () => Value, seq: number, deadline: number): Value {
  let serial = -1;
  const poll = new Poll(deadline);
  for (;;) {
    const now = s.serial;
    if (now !== serial) {
      serial = now;
      const v = fetch();
      if (seqOf(v) >= seq) return v;
    }
    if (poll.miss()) throw waitTimeout(seq, fetch());
  }
}

function closer(s: Store, role: 'a' | 'b') {
  return () => (role === 'a' ? s.destroy() : s.close());
}

function objectEndpoint(s: Store, role: 'a' | 'b'): Endpoint {
  const fetch = () => s.getValue<SmallObject>()!;
  return {
    store: (v) => {
      s.setValue(v);
    },
    fetch,
    waitFor: (seq, deadline) => waitSerial(s, fetch, seq, deadline),
    close: closer(s, role),
  };
}

function bytesEndpoint(s: Store, kind: PayloadKind, role: 'a' | 'b'): Endpoint {
  const into = new Uint8Array(byteLength(kind));
  const fetch = () => s.fetch(into);
  return {
    store: (v) => {
      s.store(v as Uint8Array);
    },
    fetch,
    waitFor: (seq, deadline) => waitSerial(s, fetch, seq, deadline),
    close: closer(s, role),
  };
}
