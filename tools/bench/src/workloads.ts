// The timed loops a Node side runs over an Endpoint. perl-sharelite-side.pl has the same loops in Perl.
import type { Endpoint } from './contender.js';
import { byteLength, type PayloadKind, STOP_SEQ, seqOf, setSeq, type Value } from './payload.js';

/** Operations done and milliseconds taken in the measured phase. */
export interface Timing {
  ops: number;
  ms: number;
}

/** How long a side waits to see a value before it gives up (performance.now() ms). */
export const WAIT_MS = 60_000;

type Op = () => unknown;

function isPromise(x: unknown): x is Promise<unknown> {
  return x instanceof Promise;
}

/**
 * Calls `op` until `ms` milliseconds or `maxOps` operations have passed. Synchronous operations run in batches
 * that double while a batch takes under 1 ms, so reading the clock costs little at any speed.
 */
async function phase(op: Op, ms: number, maxOps: number): Promise<Timing> {
  let n = 0;
  let batch = 1;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms && n < maxOps) {
    const b = Math.min(batch, maxOps - n);
    for (let i = 0; i < b; i++) {
      const r = op();
      if (isPromise(r)) await r;
    }
    n += b;
    const now = performance.now();
    if (now - t < 1 && batch < 4096) batch *= 2;
    t = now;
  }
  return { ops: n, ms: t - t0 };
}

/** A warm-up of ms/5 (skipped when maxOps is given: a check, not a measurement), then the measured phase. */
async function timed(op: Op, ms: number, maxOps: number | undefined): Promise<Timing> {
  if (maxOps === undefined) await phase(op, ms / 5, Number.POSITIVE_INFINITY);
  return phase(op, ms, maxOps ?? Number.POSITIVE_INFINITY);
}

/** Returns the first fetched value with seq >= `seq`, polling fetch() (the default Endpoint.waitFor). */
export function pollFetch(ep: Endpoint, seq: number, deadline: number): Value | Promise<Value> {
  for (let i = 0; ; i++) {
    const r = ep.fetch();
    if (isPromise(r)) return pollFetchAsync(ep, r, seq, deadline);
    if (seqOf(r) >= seq) return r;
    if ((i & 255) === 255 && performance.now() > deadline) throw waitTimeout(seq, r);
  }
}

async function pollFetchAsync(ep: Endpoint, first: Promise<Value>, seq: number, deadline: number) {
  let v = await first;
  while (seqOf(v) < seq) {
    if (performance.now() > deadline) throw waitTimeout(seq, v);
    v = await ep.fetch();
  }
  return v;
}

export function waitTimeout(seq: number, last: unknown): Error {
  return new Error(
    `Timed out waiting for a value with seq >= ${seq}; the last one seen had seq ${seqOf(last)}`,
  );
}

function waitFor(ep: Endpoint, seq: number): Value | Promise<Value> {
  const deadline = performance.now() + WAIT_MS;
  return ep.waitFor ? ep.waitFor(seq, deadline) : pollFetch(ep, seq, deadline);
}

/** store: makeValue(kind, seq0), seq0 + 1, ... as fast as the endpoint takes them; the flush is timed too. */
export async function storeLoop(
  ep: Endpoint,
  value: Value,
  ms: number,
  maxOps: number | undefined,
  seq0: number,
): Promise<Timing> {
  let seq = seq0;
  const t = await timed(() => ep.store(setSeq(value, seq++)), ms, maxOps);
  if (!ep.flush) return t;
  const t0 = performance.now();
  await ep.flush();
  return { ops: t.ops, ms: t.ms + performance.now() - t0 };
}

/** fetch: the latest value, whole, in a loop; each must have the right size and a seq that never goes back. */
export function fetchLoop(
  ep: Endpoint,
  kind: PayloadKind,
  ms: number,
  maxOps: number | undefined,
): Promise<Timing> {
  const len = byteLength(kind);
  let last = 0;
  const check = (v: Value) => {
    const s = seqOf(v);
    if (s < last) throw new Error(`fetch went back from seq ${last} to ${s}`);
    last = s;
    if (len !== 0 && (v as Uint8Array).byteLength !== len) {
      throw new Error(`fetch returned ${(v as Uint8Array).byteLength} bytes, expected ${len}`);
    }
  };
  return timed(
    () => {
      const r = ep.fetch();
      if (isPromise(r)) return r.then(check);
      check(r);
      return undefined;
    },
    ms,
    maxOps,
  );
}

/** ping (process A): one round trip stores seq and waits for seq + 1 from B. Ends by storing STOP_SEQ. */
export async function pingLoop(
  ep: Endpoint,
  value: Value,
  ms: number,
  maxOps: number | undefined,
  seq0: number,
): Promise<Timing> {
  let seq = seq0;
  const t = await timed(
    () => {
      const target = seq + 1;
      const r = ep.store(setSeq(value, seq));
      seq += 2;
      if (isPromise(r)) return r.then(() => waitFor(ep, target));
      return waitFor(ep, target);
    },
    ms,
    maxOps,
  );
  const r = ep.store(setSeq(value, STOP_SEQ));
  if (isPromise(r)) await r;
  if (ep.flush) await ep.flush();
  return t;
}

/** pong (process B): answers every seq from A with seq + 1 until it sees STOP_SEQ; returns round trips. */
export async function pongLoop(ep: Endpoint, value: Value, seq0: number): Promise<number> {
  let expect = seq0;
  let trips = 0;
  for (;;) {
    const w = waitFor(ep, expect);
    const s = seqOf(isPromise(w) ? await w : w);
    if (s === STOP_SEQ) return trips;
    const r = ep.store(setSeq(value, s + 1));
    if (isPromise(r)) await r;
    expect = s + 2;
    trips++;
  }
}
