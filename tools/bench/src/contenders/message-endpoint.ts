import type { Endpoint, Link } from '../contender.js';
import { type PayloadKind, seqOf, type Value } from '../payload.js';
import { waitTimeout } from '../workloads.js';

/** How a message contender puts a value on the wire and takes it off. */
export interface WireCodec {
  encode(v: Value): unknown;
  decode(w: unknown): Value;
}

type Msg =
  | { bk: PayloadKind; t: 'v' | 'ans'; w: unknown }
  | { bk: PayloadKind; t: 'ask' }
  | { bk: PayloadKind; t: 'sync' | 'synced'; n: number };

/**
 * An Endpoint over an IPC channel (process.send). There is no shared value: a store sends the value to the other
 * process (resolving when the channel took it, so the pipe's back-pressure paces the loop); a fetch asks the other
 * process for the latest value it knows and waits for the answer (a round trip); waitFor waits for a value
 * message; flush sends a marker and waits for its echo, which arrives after every value sent before it.
 */
export function messageEndpoint(link: Link, kind: PayloadKind, codec: WireCodec): Endpoint {
  let received: Value | undefined;
  let latestWire: unknown;
  const asks: ((v: Value) => void)[] = [];
  const syncs = new Map<number, () => void>();
  let waiter: { seq: number; resolve: (v: Value) => void } | undefined;
  let syncN = 0;
  const send = (m: Msg) =>
    new Promise<void>((resolve, reject) => link.send(m, (e) => (e ? reject(e) : resolve())));

  const onMessage = (m: Msg) => {
    if (m?.bk !== kind) return;
    switch (m.t) {
      case 'v':
        latestWire = m.w;
        received = codec.decode(m.w);
        if (waiter && seqOf(received) >= waiter.seq) {
          const w = waiter;
          waiter = undefined;
          w.resolve(received);
        }
        break;
      case 'ask':
        void send({ bk: kind, t: 'ans', w: latestWire });
        break;
      case 'ans':
        asks.shift()?.(codec.decode(m.w));
        break;
      case 'sync':
        void send({ bk: kind, t: 'synced', n: m.n });
        break;
      case 'synced':
        syncs.get(m.n)?.();
        syncs.delete(m.n);
        break;
    }
  };
  link.on('message', onMessage);

  return {
    store(v) {
      latestWire = codec.encode(v);
      return send({ bk: kind, t: 'v', w: latestWire });
    },
    fetch() {
      return new Promise<Value>((resolve) => {
        asks.push(resolve);
        void send({ bk: kind, t: 'ask' });
      });
    },
    waitFor(seq, deadline) {
      if (received !== undefined && seqOf(received) >= seq) return received;
      return new Promise<Value>((resolve, reject) => {
        const timer = setTimeout(
          () => {
            waiter = undefined;
            reject(waitTimeout(seq, received ?? new Uint8Array(0)));
          },
          Math.max(0, deadline - performance.now()),
        );
        waiter = {
          seq,
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v);
          },
        };
      });
    },
    flush() {
      const n = ++syncN;
      return new Promise<void>((resolve, reject) => {
        syncs.set(n, resolve);
        send({ bk: kind, t: 'sync', n }).catch(reject);
      });
    },
    close() {
      link.off('message', onMessage);
    },
  };
}
