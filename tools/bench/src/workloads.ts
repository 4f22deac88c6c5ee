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

/** How long a poller spins between sleeps (ms). */
export const SPIN_MS = 0.05;
/** How long it sleeps after each spin (ms; the kernel adds its timer slack, ~50 µs). */
export const SLEEP_MS = 0.02;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * The pacing of a polling loop: call miss() after every check that did not find the value. A poller spins for
 * SPIN_MS (a value that arrives within microseconds is seen within microseconds), then sleeps SLEEP_MS, and so
 * on: two polling processes on a busy 2-CPU machine thus leave each other a CPU instead of spinning until the
 * scheduler preempts them (a 4 ms time slice here). The pacing is by time, so the Perl poller, whose checks are
 * slower, paces alike (perl-sharelite-side.pl).
 */
export class Poll {
  readonly #deadline: number;
  #spinUntil: number;
  #misses = 0;

  constructor(deadline: number) {
    this.#deadline = deadline;
    this.#spinUntil = performance.now() + SPIN_MS;
  }

  /** @returns true once the deadline passed (the caller throws, naming what it waited for). */
  miss(): boolean {
    if ((++this.#misses & 31) !== 0) return false;
    const now = performance.now();
    if (now < this.#spinUntil) return false;
    if (now > this.#deadline) return true;
    Atomics.wait(sleeper, 0, 0, SLEEP_MS);
    this.#spinUntil = performance.now() + SPIN_MS;
    return false;
  }
}

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

/**
 * Returns the first fetched value with seq >= `seq`, polling fetch() (the default Endpoint.waitFor). An
 * asynchronous fetch (a network round trip) is its own pacing.
 */
export function pollFetch(ep: Endpoint, seq: number, deadline: number): Value | Promise<Value> {
  const poll = new Poll(deadline);
  for (;;) {
    const r = ep.fetch();
    if (isPromise(r)) return pollFetchAsync(ep, r, seq, deadline);
    if (seqOf(r) >= seq) return r;
    if (poll.miss()) throw waitTimeout(seq, r);
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

/** The first value with seq >= `seq`, waited for as the hand-off waits (the endpoint's waitFor, or polling). */
export function waitFor(ep: Endpoint, seq: number): Value | Promise<Value> {
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
