// Change notification for ShareLite (issue 18). IPC::ShareLite's header is four words (next shmid, length,
// shm_state, version) with no room for a waiters count, and Perl writers would not wake anyone anyway, so a waiter
// polls `version` (one load of the mapped header word) every `pollMs` (default 10 ms), and checks on each poll that
// the semaphore set still exists (one semctl): a share destroyed meanwhile gives ERR_SHM_CLOSED. The methods are
// added to ShareLite's prototype here, so share-lite.ts stays as it is.
import { ChangeIterator, destroyedError, expected, type StoreChange, sysv, type Watchable } from '@shm/core';
import { LOCK_SH } from './constants.js';
import { ShareLite } from './share-lite.js';

/** How often a waiter looks at `version` unless told otherwise (ms). */
export const DEFAULT_POLL_MS = 10;
const MAX_VERSION = 0xffffffff;
const nap = new Int32Array(new SharedArrayBuffer(4));

/** Options of ShareLite's waits. */
export interface ShareLiteWaitOptions {
  /** How often to look at the version, in ms (default 10; from 1 to 60000). Lower reacts sooner and costs more. */
  pollMs?: number;
  /** Aborts an async wait (it rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** Options of ShareLite's changes(). */
export interface ShareLiteChangesOptions {
  /** Yield once the version differs from this one (default: the version now; 0: the current value first). */
  since?: number;
  /** How often to look at the version, in ms (default 10). */
  pollMs?: number;
}

declare module './share-lite.js' {
  interface ShareLite {
    /**
     * Blocks until the share's version differs from `version` (a store by any process, Perl included), polling
     * the version every `options.pollMs` (default 10 ms): the format has no waiters word, and Perl writers wake no
     * one. Returns the new version, or undefined once `timeoutMs` passed (default: wait forever).
     * @throws ShmError ERR_SHM_CLOSED on a closed handle or when the share is destroyed meanwhile; TypeError/
     *   RangeError for a bad version, timeout or pollMs.
     */
    waitForChange(
      version: number,
      timeoutMs?: number,
      options?: Omit<ShareLiteWaitOptions, 'signal'>,
    ): number | undefined;
    /** waitForChange() polling on timers: the event loop keeps running. Rejects ERR_SHM_CLOSED on close(). */
    waitForChangeAsync(
      version: number,
      timeoutMs?: number,
      options?: ShareLiteWaitOptions,
    ): Promise<number | undefined>;
    /**
     * An async iterator of changes: `for await (const { serial, value } of share.changes())`, where `serial` is the
     * version and `value` the bytes (a Buffer) that version stored, read together under one shared lock.
     * It coalesces (a slow consumer gets the latest value, never an older one after a newer
     * one), ends on `break`/`return()` or close() of this handle, and throws ERR_SHM_CLOSED if the share is
     * destroyed.
     */
    changes(options?: ShareLiteChangesOptions): ChangeIterator<Buffer, Watchable>;
  }
}

function checkVersion(v: unknown, name = 'version'): asserts v is number {
  if (typeof v !== 'number') throw expected('a version (number)', name, v);
  if (!Number.isInteger(v) || v < 0 || v > MAX_VERSION)
    throw expected(`a version (an integer from 0 to ${MAX_VERSION})`, name, v, RangeError);
}

function checkTimeout(v: unknown): void {
  if (v === undefined) return;
  if (typeof v !== 'number')
    throw expected('a number of milliseconds (or undefined to wait forever)', 'timeoutMs', v);
  if (!(v >= 0))
    throw expected(
      'a number of milliseconds >= 0 (or undefined/Infinity to wait forever)',
      'timeoutMs',
      v,
      RangeError,
    );
}

function pollOf(o: unknown, name: string): number {
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o)))
    throw expected('an options object', name, o);
  const ms = (o as { pollMs?: unknown } | undefined)?.pollMs;
  if (ms === undefined) return DEFAULT_POLL_MS;
  if (typeof ms !== 'number') throw expected('a number of milliseconds', `${name}.pollMs`, ms);
  if (!(ms >= 1 && ms <= 60_000))
    throw expected('a number of milliseconds from 1 to 60000', `${name}.pollMs`, ms, RangeError);
  return ms;
}

function closed(share: ShareLite): Error {
  try {
    share.version(); // throws the handle's own ERR_SHM_CLOSED
  } catch (e) {
    return e as Error;
  }
  return new Error('unreachable');
}

/** The version now; ERR_SHM_CLOSED if the share's semaphore set is gone (the share was destroyed). */
function current(share: ShareLite): number {
  const v = share.version();
  try {
    sysv.semGetVal(share.ids.semid, 0);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'EINVAL' || code === 'EIDRM')
      throw destroyedError(`ShareLite key 0x${share.key.toString(16)}`);
    throw e;
  }
  return v;
}

function deadlineOf(ms: number | undefined): number {
  return ms === undefined || ms === Number.POSITIVE_INFINITY
    ? Number.POSITIVE_INFINITY
    : performance.now() + ms;
}

ShareLite.prototype.waitForChange = function waitForChange(
  this: ShareLite,
  version: number,
  timeoutMs?: number,
  options?: Omit<ShareLiteWaitOptions, 'signal'>,
): number | undefined {
  checkVersion(version);
  checkTimeout(timeoutMs);
  const pollMs = pollOf(options, 'options');
  const deadline = deadlineOf(timeoutMs);
  for (;;) {
    const v = current(this);
    if (v !== version) return v;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    Atomics.wait(nap, 0, 0, Math.min(left, pollMs));
  }
};

ShareLite.prototype.waitForChangeAsync = async function waitForChangeAsync(
  this: ShareLite,
  version: number,
  timeoutMs?: number,
  options?: ShareLiteWaitOptions,
): Promise<number | undefined> {
  checkVersion(version);
  checkTimeout(timeoutMs);
  const pollMs = pollOf(options, 'options');
  const signal = options?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw expected('an AbortSignal or undefined', 'options.signal', signal);
  const deadline = deadlineOf(timeoutMs);
  for (;;) {
    if (this.closed) throw closed(this);
    signal?.throwIfAborted();
    const v = current(this);
    if (v !== version) return v;
    const left = deadline - performance.now();
    if (left <= 0) return undefined;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.min(left, pollMs));
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
};

ShareLite.prototype.changes = function changes(
  this: ShareLite,
  options?: ShareLiteChangesOptions,
): ChangeIterator<Buffer, Watchable> {
  const pollMs = pollOf(options, 'options');
  if (options?.since !== undefined) checkVersion(options.since, 'options.since');
  const since = options?.since ?? this.version();
  const share = this;
  const watchable: Watchable = {
    get closed() {
      return share.closed;
    },
    waitForChangeAsync: (v, t, signal) =>
      share.waitForChangeAsync(v, t, { pollMs, ...(signal ? { signal } : {}) }),
  };
  return new ChangeIterator<Buffer, Watchable>(
    () => watchable,
    async (): Promise<StoreChange<Buffer>> => {
      // The version and the bytes under one shared lock (a handle that holds a lock already reads under it).
      if (share.locked !== 0) return { serial: share.version(), value: share.fetch() };
      await share.lockAsync(LOCK_SH);
      try {
        return { serial: share.version(), value: share.fetch() };
      } finally {
        share.unlock();
      }
    },
    since,
  );
};
