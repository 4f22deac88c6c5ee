import { closedError, expected, ShmError } from '@shm/native';
import { platformOf, type Region } from './region.js';
import { serializerMismatchError } from './serializers/serializer-mismatch-error.js';
import type { FetchInfo, Store } from './store.js';
import { wordWait, wordWaitAsync, wordWake } from './word-wait.js';

// Change notification for a Store (docs/architecture/store.md, "Waiting for a change"). A waiter counts itself in
// the head's waiters word, re-reads `pub`, and sleeps on `pub` (futex; the named event on Windows) while it holds
// the value it read; a commit, after its one atomic store of `pub`, wakes the word only when the count is above 0.
// Both sides use sequentially consistent atomics, so either the waiter's re-read sees the new `pub` or the writer's
// load sees the count: no lost wake-up, and a writer pays one load (no syscall) while nobody waits.

/** i32 in the store head: waiters sleeping on `pub` (waitForChange, changes()); was always 0 before. */
export const H_WAITERS = 52;
/** u32 in the store head: 1 once destroy() removed the store (watchers then get ERR_SHM_CLOSED). */
export const H_DESTROYED = 56;
/**
 * i32 in the store head: the latest time (s since CLAIM_EPOCH) until which a counted waiter may sleep. Each waiter
 * raises it before each sleep; a writer that finds it past wakes nobody, so the count a SIGKILLed waiter leaves
 * behind costs a clock read per commit once its claim ran out, not a futex wake (about 8 µs here) forever.
 */
export const H_SLEEP_UNTIL = 60;
/** 2023-11-14 (s): claims fit an i32 until 2091. */
const CLAIM_EPOCH = 1_700_000_000;
/** Seconds a claim outlasts the slice it covers: for a waiter descheduled between its claim and its sleep. */
const CLAIM_MARGIN_S = 2;

const SERIAL_MASK = 0x3fffffff;
/**
 * The longest single sleep (ms): the waiter then re-checks the word. It bounds what a lost wake costs: a writer of
 * an older @shm/core (which never wakes) is seen within a slice; where a wake reaches one sleeper (Windows'
 * auto-reset events, `wakeWakesAll` false), the others also pass the wake on (see wakeNext) and a shorter slice is
 * their backstop.
 */
const SLICE_MS = 1000;
const ONE_WAKE_SLICE_MS = 100;
function nowS(): number {
  return Math.floor(Date.now() / 1000) - CLAIM_EPOCH;
}

/** Raises the sleep claim to cover a slice from now (an atomic max: a longer claim of another waiter stays). */
function claim(i32: Int32Array, sliceMs: number): void {
  const until = nowS() + Math.ceil(sliceMs / 1000) + CLAIM_MARGIN_S;
  for (;;) {
    const cur = Atomics.load(i32, H_SLEEP_UNTIL >> 2);
    if (cur >= until || Atomics.compareExchange(i32, H_SLEEP_UNTIL >> 2, cur, until) === cur) return;
  }
}

/**
 * After a commit's store of `pub`, when the waiters count is not 0: wakes the sleepers, unless every claim ran out
 * (then the counted waiters are dead, or between two slices, and such a one claims again and re-reads `pub` before
 * it sleeps: sequentially consistent, like the count, so it sees this commit). A clock that jumps forward can make
 * a live claim look past: that waiter then notices at the end of its slice (at most SLICE_MS late), never later.
 */
export function wakeWaiters(region: Region, pubOffset: number): void {
  const until = Atomics.load(region.i32, H_SLEEP_UNTIL >> 2);
  // A claim no later than one already found past is past too (in any store: time only moves on), and reading the
  // clock costs ~250 ns on this VM's clock source, so a stale count costs two loads per commit.
  if (until <= expiredUpTo) return;
  if (until >= nowS()) wordWake(region, pubOffset);
  else expiredUpTo = until;
}
let expiredUpTo = -1;
/**
 * Loads of `pub` (well under a microsecond) before a blocking waiter counts itself and sleeps: a commit already in
 * flight costs no syscall. A longer, timed spin (5-50 µs) measured no better hand-off on this 2-vCPU machine, where
 * a spinning waiter competes with the writer it waits for.
 */
const SPIN = 128;

/** Expected a serial: an integer from 0 to 2^30-1 (what `serial` returns). */
export function checkSerial(v: unknown, name = 'serial'): void {
  if (typeof v !== 'number') throw expected('a serial (number)', name, v);
  if (!Number.isInteger(v) || v < 0 || v > SERIAL_MASK)
    throw expected(`a serial (an integer from 0 to ${SERIAL_MASK})`, name, v, RangeError);
}

/** undefined or Infinity (forever), else a number of milliseconds >= 0. */
export function checkWaitTimeout(v: unknown, name = 'timeoutMs'): void {
  if (v === undefined) return;
  if (typeof v !== 'number')
    throw expected('a number of milliseconds (or undefined to wait forever)', name, v);
  if (!(v >= 0))
    throw expected(
      'a number of milliseconds >= 0 (or undefined/Infinity to wait forever)',
      name,
      v,
      RangeError,
    );
}

/** undefined or an AbortSignal. */
export function checkSignal(v: unknown, name = 'signal'): void {
  if (v !== undefined && !(v instanceof AbortSignal)) throw expected('an AbortSignal or undefined', name, v);
}

const destroyedErrors = new WeakSet<object>();

/** The ERR_SHM_CLOSED a watcher gets when the thing it watches is destroyed (not merely this handle closed). */
export function destroyedError(what: string): ShmError {
  const e = new ShmError('ERR_SHM_CLOSED', `${what} was destroyed while it was watched`, { target: what });
  destroyedErrors.add(e);
  return e;
}

/** One async wait in progress on a handle: close() settles it at once. */
interface Pending {
  counted: boolean;
  abort(e: unknown): void;
}

/**
 * The waiting side of one Store handle. Store creates it on the first wait; close() of the handle calls close()
 * here first, which rejects the async waits in progress (and uncounts them) before the head is unmapped.
 */
export class StoreWatch {
  readonly #region: Region;
  readonly #pub: number;
  readonly #name: string;
  readonly #pending = new Set<Pending>();
  /** The platform's wake reaches every sleeper (else a waiter that saw a change passes the wake on). */
  readonly #wakesAll: boolean;
  readonly #slice: number;
  #closed = false;

  constructor(region: Region, pubOffset: number, name: string) {
    this.#region = region;
    this.#pub = pubOffset;
    this.#name = name;
    this.#wakesAll = platformOf(region).wakeWakesAll;
    this.#slice = this.#wakesAll ? SLICE_MS : ONE_WAKE_SLICE_MS;
  }

  /** The serial now, or the ERR_SHM_CLOSED of a destroyed store (checked first: a destroy also moves `pub`). */
  #current(i32: Int32Array): number {
    const p = Atomics.load(i32, this.#pub >> 2);
    if (Atomics.load(i32, H_DESTROYED >> 2) !== 0) throw destroyedError(`Store ${this.#name}`);
    return p;
  }

  /** Blocks until the serial differs from `serial`; the new serial, or undefined after `timeoutMs`. */
  wait(serial: number, timeoutMs: number | undefined): number | undefined {
    const i32 = this.#region.i32;
    let p = this.#current(i32);
    if (p >>> 1 !== serial) return p >>> 1;
    if (timeoutMs === 0) return undefined;
    const pubIndex = this.#pub >> 2;
    for (let i = 0; i < SPIN; i++) {
      if (Atomics.load(i32, pubIndex) >>> 1 !== serial) return this.#current(i32) >>> 1;
    }
    const deadline = deadlineOf(timeoutMs);
    Atomics.add(i32, H_WAITERS >> 2, 1);
    try {
      for (;;) {
        p = this.#current(i32);
        if (p >>> 1 !== serial) {
          this.#wakeNext(i32);
          return p >>> 1;
        }
        const left = deadline - performance.now();
        if (left <= 0) return undefined;
        claim(i32, this.#slice);
        if (Atomics.load(i32, this.#pub >> 2) !== p) continue; // the claim is ordered before this re-read
        wordWait(this.#region, this.#pub, p, Math.min(left, this.#slice));
      }
    } finally {
      Atomics.sub(i32, H_WAITERS >> 2, 1);
    }
  }

  /** wait() without blocking the event loop; `signal` aborts it (rejecting with its reason). */
  async waitAsync(
    serial: number,
    timeoutMs: number | undefined,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    const region = this.#region;
    const i32 = region.i32;
    let p = this.#current(i32);
    if (p >>> 1 !== serial) return p >>> 1;
    if (timeoutMs === 0) return undefined;
    signal?.throwIfAborted();
    const deadline = deadlineOf(timeoutMs);
    let abort!: (e: unknown) => void;
    const aborted = new Promise<never>((_, reject) => {
      abort = reject;
    });
    aborted.catch(() => {}); // settled only to end the race below
    const me: Pending = { counted: true, abort };
    const onAbort = () => {
      this.#uncount(me);
      abort(signal!.reason);
      wordWake(region, this.#pub); // release the native wait now rather than at its slice's end
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#pending.add(me);
    Atomics.add(i32, H_WAITERS >> 2, 1);
    try {
      for (;;) {
        p = this.#current(i32);
        if (p >>> 1 !== serial) {
          this.#wakeNext(i32);
          return p >>> 1;
        }
        const left = deadline - performance.now();
        if (left <= 0) return undefined;
        claim(i32, this.#slice);
        if (Atomics.load(i32, this.#pub >> 2) !== p) continue;
        await Promise.race([wordWaitAsync(region, this.#pub, p, Math.min(left, this.#slice)), aborted]);
        if (this.#closed) throw closedError(`Store ${this.#name}`);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#pending.delete(me);
      this.#uncount(me);
    }
  }

  #uncount(me: Pending): void {
    if (!me.counted) return;
    me.counted = false;
    Atomics.sub(this.#region.i32, H_WAITERS >> 2, 1);
  }

  /**
   * Where a wake reaches one sleeper (Windows: a set() of the auto-reset event), one that found a change passes
   * the wake on while other waiters are counted (a spare wake only makes some waiter re-check). A futex wake
   * reached them all.
   */
  #wakeNext(i32: Int32Array): void {
    if (!this.#wakesAll && Atomics.load(i32, H_WAITERS >> 2) > 1) wordWake(this.#region, this.#pub);
  }

  /** Before the handle unmaps the head: rejects this handle's async waits with ERR_SHM_CLOSED. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#pending.size === 0) return;
    const err = closedError(`Store ${this.#name}`);
    for (const me of this.#pending) {
      this.#uncount(me);
      me.abort(err);
    }
    this.#pending.clear();
    // Releases the native waits (a spare wake for other processes' waiters, which re-check and sleep again).
    wordWake(this.#region, this.#pub);
  }
}

/**
 * Holding the exclusive lock, in destroy(): marks the head destroyed and moves the serial (same bank, so a reader
 * of a handle still open sees the same value), then wakes the waiters, who see the mark and throw ERR_SHM_CLOSED.
 * Moving `pub` is what makes the wake impossible to lose, as for a commit.
 */
export function markDestroyed(region: Region, pubOffset: number): void {
  const i32 = region.i32;
  Atomics.store(i32, H_DESTROYED >> 2, 1);
  const p = Atomics.load(i32, pubOffset >> 2);
  const serial = ((p >>> 1) + 1) & SERIAL_MASK || 1;
  Atomics.store(i32, pubOffset >> 2, (serial << 1) | (p & 1));
  if (Atomics.load(i32, H_WAITERS >> 2) !== 0) wordWake(region, pubOffset);
}

function deadlineOf(timeoutMs: number | undefined): number {
  return timeoutMs === undefined || timeoutMs === Number.POSITIVE_INFINITY
    ? Number.POSITIVE_INFINITY
    : performance.now() + timeoutMs;
}

// ------------------------------------------------------------------ the iterator of changes

/** One change seen by `changes()`: the serial of a commit and the value that commit stored, read together. */
export interface StoreChange<T> {
  /** The serial of the commit whose value `value` is (strictly greater than the one yielded before, modulo 2^30). */
  readonly serial: number;
  /** That commit's value: decoded (or the bytes, with `bytes: true`); undefined for a store never written. */
  readonly value: T;
}

/** Options of `Store.changes()`. */
export interface ChangesOptions {
  /**
   * Yield once the serial differs from this one (default: the serial when changes() is called, so only later
   * commits are yielded). `0` yields the current value first, if there is one.
   */
  since?: number;
  /** Yield the value's bytes (a fresh Buffer) instead of decoding it with the store's serializer. */
  bytes?: boolean;
}

/**
 * What a ChangeIterator waits on: a Store, or any handle with the same two members (ShareLite polls its version).
 * `waitForChangeAsync` resolves once the serial differs from the one given (rejecting with ERR_SHM_CLOSED when
 * the thing watched is destroyed, or with the signal's reason when aborted).
 */
export interface Watchable {
  /** True once this handle was closed (the iterator then ends). */
  readonly closed: boolean;
  /** Resolves with the new serial once it differs from `serial`. */
  waitForChangeAsync(serial: number, timeoutMs?: number, signal?: AbortSignal): Promise<number | undefined>;
}

/** Where a ChangeIterator waits and reads: the handle of the moment (a tied variable may reopen its store). */
export type ChangeSource<W extends Watchable = Store> = () => W;

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The async iterator `changes()` returns (Store, tied variables, MmapShare). It coalesces: each `next()` waits for
 * a commit after the last one it yielded, then reads the value current at that moment, so a slow consumer skips
 * the commits it was too slow for and never gets an older value after a newer one, nor a torn one.
 *
 * It ends (done) when `return()` is called (a `for await` loop's `break` does that; a `next()` waiting then ends
 * too) or when the handle it watches is closed in this process. It throws ERR_SHM_CLOSED when another handle or
 * process destroys the store, and whatever reading the value throws (a serializer mismatch, a removed variable);
 * after a throw it is done. Calls of `next()` are served in order.
 */
export class ChangeIterator<T, W extends Watchable = Store> implements AsyncIterableIterator<StoreChange<T>> {
  readonly #source: ChangeSource<W>;
  readonly #read: (store: W) => StoreChange<T> | Promise<StoreChange<T>>;
  readonly #abort = new AbortController();
  #last: number;
  #done = false;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * @internal Made by `changes()`: `source` gives the store to watch, `read` reads a value and its serial in one
   * step, `since` is the serial already seen.
   */
  constructor(
    source: ChangeSource<W>,
    read: (store: W) => StoreChange<T> | Promise<StoreChange<T>>,
    since: number,
  ) {
    this.#source = source;
    this.#read = read;
    this.#last = since;
  }

  /** Waits for the next change and yields it ({ done: true } once the iterator ended). */
  next(): Promise<IteratorResult<StoreChange<T>, undefined>> {
    const r = this.#queue.then(() => this.#step());
    this.#queue = r.catch(() => {});
    return r;
  }

  /** Ends the iterator: a `next()` waiting now resolves { done: true }, and so does every later one. */
  return(): Promise<IteratorResult<StoreChange<T>, undefined>> {
    this.#finish();
    return Promise.resolve(DONE);
  }

  /** The iterator itself (so it works in `for await`). */
  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#abort.abort();
  }

  async #step(): Promise<IteratorResult<StoreChange<T>, undefined>> {
    for (;;) {
      if (this.#done) return DONE;
      let store: W;
      try {
        store = this.#source();
      } catch (e) {
        return this.#fail(e, undefined);
      }
      if (store.closed) return this.#fail(undefined, store);
      try {
        await store.waitForChangeAsync(this.#last, undefined, this.#abort.signal);
        if (this.#done) return DONE;
        const change = await this.#read(store);
        // The serial moved on from #last (the wait said so) and `read` reads the value current after the wait.
        if (change.serial === this.#last) continue;
        this.#last = change.serial;
        if (this.#done) return DONE;
        return { done: false, value: change };
      } catch (e) {
        return this.#fail(e, store);
      }
    }
  }

  /** Ends on the handle's close() (or our own return()), else ends and throws `e`. */
  #fail(e: unknown, store: W | undefined): IteratorResult<StoreChange<T>, undefined> {
    const wasDone = this.#done;
    this.#finish();
    if (wasDone || e === undefined || (store?.closed && !isDestroyed(e))) return DONE;
    // A source that throws "closed" (a variable untied in this process) ends the iterator cleanly too.
    if (store === undefined && ShmError.isInstance(e) && e.code === 'ERR_SHM_CLOSED') return DONE;
    throw e;
  }
}

function isDestroyed(e: unknown): boolean {
  return typeof e === 'object' && e !== null && destroyedErrors.has(e);
}

/** Reads the current value of `store` with its serial, decoded by the store's serializer (or as bytes). */
export function readChange(store: Store, bytes: boolean): StoreChange<unknown> {
  const info: FetchInfo = { serial: 0, serializerId: 0 };
  const b = store.fetch(undefined, info);
  if (bytes) return { serial: info.serial, value: b };
  if (info.serial === 0) return { serial: 0, value: undefined };
  if (info.serializerId !== store.serializerId)
    throw serializerMismatchError(store.serializerId, info.serializerId, { target: store.name });
  return { serial: info.serial, value: store.serializer.decode(b) };
}
