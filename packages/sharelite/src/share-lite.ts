// The ShareLite facade: the public API of an IPC::ShareLite handle (Perl's methods, async variants, lifecycle).
// The format and protocol live beside it: share-open.ts (new_share), share-chain.ts (read_share, write_share and
// the segment chain), share-lock.ts (the semaphore lock), protocol.ts (the constants and semop tables).
import { expected, getSerializer, sysv } from '@shm/core';
import { type ParsedOptions, parseArgs, type ShareLiteKey, type ShareLiteOptions } from './args.js';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from './constants.js';
import type { ShareChain } from './share-chain.js';
import { ShareErrors } from './share-errors.js';
import type { LockState, ShareLock } from './share-lock.js';
import { type OpenedShare, openShare } from './share-open.js';
import { decodeValue, encodeValue, type ValueSerializer } from './value-methods.js';

export type { LockState } from './share-lock.js';

const MAX_LENGTH = 0x7fffffff; // the header's length is a C int

/** The constructor's first argument from ShareLite.open: the handle opens later. Not exported, so unreachable. */
const OPEN_LATER: unique symbol = Symbol('ShareLite.open');

/** Handles with destroy: true, destroyed when the process exits normally (Perl's DESTROY at global destruction). */
const destroyAtExit = new Set<ShareLite>();
let exitHookInstalled = false;

const { code: errCode } = ShareErrors;
const WOULD_BLOCK = sysv.GuardedCopyStatus.WouldBlock;

/** Any value store() accepts, as bytes: a string as its UTF-8 encoding. */
function toBytes(data: unknown): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw expected('a string, a Uint8Array, an ArrayBufferView or an ArrayBuffer', 'data', data);
}

function checkInto(into: unknown): void {
  if (into !== undefined && !(into instanceof Uint8Array))
    throw expected('a Uint8Array or undefined', 'into', into);
}

function parseLock(flags: unknown): number {
  if (flags === undefined || flags === null) return LOCK_EX;
  if (typeof flags !== 'number' || !Number.isInteger(flags) || flags < 0 || flags > 15) {
    throw expected('LOCK_SH, LOCK_EX or LOCK_UN, optionally with LOCK_NB', 'flags', flags);
  }
  if (flags === 0) return LOCK_EX;
  const ex = (flags & LOCK_EX) !== 0;
  const sh = (flags & LOCK_SH) !== 0;
  const un = (flags & LOCK_UN) !== 0;
  if ((ex && sh) || (un && (ex || sh))) {
    throw expected(
      'one of LOCK_SH, LOCK_EX or LOCK_UN (optionally with LOCK_NB)',
      'flags',
      flags,
      RangeError,
    );
  }
  return un ? LOCK_UN : ex ? LOCK_EX : sh ? LOCK_SH : 0;
}

function parseTimeout(t: unknown): number {
  if (t === undefined) return -1;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0)
    throw expected('a number of milliseconds >= 0', 'timeoutMs', t);
  return t === Number.POSITIVE_INFINITY ? -1 : t;
}

/**
 * A handle on an IPC::ShareLite share: one value of any length, in a chain of SysV shared memory segments,
 * guarded by a 3-semaphore reader/writer lock, byte-for-byte and lock-for-lock compatible with the Perl module.
 *
 * Sync methods block the calling thread while another process holds a conflicting lock, exactly like the Perl
 * module. On the main thread that freezes the event loop: use `ShareLite.open()`, `lockAsync()`, `storeAsync()`,
 * `fetchAsync()` and `destroyAsync()`, which wait on a thread of their own instead (never on the libuv pool, so
 * fs, dns and crypto calls keep running however many waits are pending).
 *
 * Locks belong to the process (SEM_UNDO), so the kernel releases them if the process dies. Two handles in one
 * process (or in two worker threads of it) still exclude each other through the semaphore values.
 */
export class ShareLite {
  readonly #o: ParsedOptions;
  readonly #errors: ShareErrors;
  /** Set once open; undefined before (ShareLite.open) and after close. */
  #lock: ShareLock | undefined;
  #chain: ShareChain | undefined;
  #closed = false;
  #destroyOnClose: boolean;
  /** Async operations in flight on this handle; sync calls are refused meanwhile. */
  #busy = 0;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * Opens (or, with `create`, creates) the share, as `IPC::ShareLite->new`. Takes the exclusive lock briefly,
   * so it blocks while another process holds any lock on the share (Perl does the same); `ShareLite.open()` is
   * the variant that waits without blocking the event loop.
   *
   * Named form: `new ShareLite({ key, create, destroy, exclusive, mode, flags, size })` (Perl's `-key` spellings
   * work too). Positional form: `new ShareLite(key, create, destroy, exclusive, mode, flags, size)`.
   * @throws ShmSystemError ENOENT (missing, no `create`), EEXIST (`exclusive` and it exists), EACCES (mode),
   *   EINVAL (`size` larger than the existing share's), ENOSPC (system limits); ShmError ERR_SHM_BAD_FORMAT when
   *   the key belongs to something that is not a share; TypeError/RangeError for bad arguments.
   */
  constructor(options?: ShareLiteOptions);
  constructor(
    key?: ShareLiteKey,
    create?: ShareLiteOptions['create'],
    destroy?: ShareLiteOptions['destroy'],
    exclusive?: ShareLiteOptions['exclusive'],
    mode?: number,
    flags?: number,
    size?: number,
  );
  constructor(...args: unknown[]) {
    const later = args[0] === OPEN_LATER;
    this.#o = parseArgs(later ? (args[1] as unknown[]) : args);
    this.#errors = new ShareErrors(this.#o.key);
    // Nobody else can reach a private share by key, so keeping it after close would only leak it.
    this.#destroyOnClose = this.#o.destroy || this.#o.key === IPC_PRIVATE;
    if (!later) this.#adopt(openShare(this.#o, this.#errors, 'sync'));
  }

  /**
   * Opens the share like the constructor, but waits for the lock on a thread of its own, so the event loop keeps
   * running while another process holds a lock. Same arguments and errors as the constructor.
   */
  static async open(options?: ShareLiteOptions): Promise<ShareLite>;
  static async open(
    key?: ShareLiteKey,
    create?: ShareLiteOptions['create'],
    destroy?: ShareLiteOptions['destroy'],
    exclusive?: ShareLiteOptions['exclusive'],
    mode?: number,
    flags?: number,
    size?: number,
  ): Promise<ShareLite>;
  static async open(...args: unknown[]): Promise<ShareLite> {
    const s = new (ShareLite as new (...a: unknown[]) => ShareLite)(OPEN_LATER, args);
    await s.#serial(async () => s.#adopt(await openShare(s.#o, s.#errors, 'async')));
    return s;
  }

  // ---------------------------------------------------------------- accessors

  /** The SysV key (derived from a string key as Perl does; 0 = IPC_PRIVATE). */
  get key(): number {
    return this.#o.key;
  }
  /** The segment size as requested (0 by default), like Perl's `$share->size`. */
  get size(): number {
    return this.#o.size;
  }
  /** The real size of every segment of this share in bytes, header included (the creator's choice). */
  get segmentSize(): number {
    return this.#chain?.segmentSize ?? 0;
  }
  /** The flags passed to semget and shmget (mode bits | IPC_CREAT | IPC_EXCL). */
  get flags(): number {
    return this.#o.flags;
  }
  /** The permission bits requested for new objects. */
  get mode(): number {
    return this.#o.mode;
  }
  /** IPC_CREAT if the handle was allowed to create the share, else 0 (as Perl's `$share->create`). */
  get create(): number {
    return this.#o.create ? IPC_CREAT : 0;
  }
  /** IPC_EXCL|IPC_CREAT if exclusive, else 0 (as Perl's `$share->exclusive`). */
  get exclusive(): number {
    return this.#o.exclusive ? IPC_EXCL | IPC_CREAT : 0;
  }
  /** Whether close() removes the share (Perl's `$share->destroy($flag)` is this setter). Always true for IPC_PRIVATE. */
  get destroyOnClose(): boolean {
    return this.#destroyOnClose;
  }
  /** Perl's `$share->destroy($flag)`: true makes close() (and a normal exit) remove the share. */
  set destroyOnClose(v: boolean) {
    this.#destroyOnClose = !!v || this.#o.key === IPC_PRIVATE;
    if (this.#destroyOnClose && !this.#closed) this.#registerExit();
    else destroyAtExit.delete(this);
  }
  /** The lock this handle holds: 0, LOCK_SH or LOCK_EX. */
  get locked(): LockState {
    return this.#lock?.state ?? 0;
  }
  /** True once close() or destroy() ran. */
  get closed(): boolean {
    return this.#closed;
  }
  /** The semaphore set's id and the head segment's shmid (for diagnostics and `ipcs`). */
  get ids(): { semid: number; shmid: number } {
    return { semid: this.#lock?.semid ?? -1, shmid: this.#chain?.headShmid ?? -1 };
  }

  // ---------------------------------------------------------------- data

  /**
   * Stores `data` as the share's value: a string is stored as its whole UTF-8 encoding, bytes as they are.
   * Atomic for every cooperating process. Takes the exclusive lock unless this handle holds it (a held shared
   * lock is released first and taken again afterwards, both as Perl does, so not atomically). Grows or
   * shrinks the chain of segments and increments the version.
   * @throws ShmError ERR_SHM_TOO_LARGE above 2^31-1 bytes, ERR_SHM_BAD_FORMAT for a corrupt chain, ERR_SHM_CLOSED;
   *   ShmSystemError (ENOSPC: out of segments; EINVAL/EIDRM: the share was removed).
   */
  store(data: string | Uint8Array | ArrayBufferView | ArrayBuffer): void {
    this.#checkSync();
    const bytes = toBytes(data);
    const len = bytes.byteLength;
    this.#checkLength(len);
    const lock = this.#lock!;
    const chain = this.#chain!;
    const held = lock.state;
    if (held === LOCK_SH) lock.release();
    // One addon call when the attached chain already fits the value (the fast path); else, or when its guard
    // fails, write_share in TypeScript under the exclusive lock the call left held.
    const plan = chain.writePlan(len);
    if (plan < 0) {
      if (held !== LOCK_EX) lock.take(LOCK_EX);
    } else if (lock.copy(plan, LOCK_EX, true, bytes) >= 0) {
      if (held === LOCK_SH) lock.take(LOCK_SH);
      return;
    }
    try {
      chain.write(bytes, len);
    } finally {
      if (held !== LOCK_EX) {
        lock.release();
        if (held === LOCK_SH) lock.take(LOCK_SH);
      }
    }
  }

  /**
   * Returns a copy of the share's value (an empty Buffer when nothing was stored). Takes a shared lock unless
   * this handle holds a lock. With `into`, a Uint8Array large enough for the value, the bytes are copied there
   * and the result is a Buffer over `into`'s memory (no allocation: much faster for large values, whose fresh
   * memory otherwise costs page faults); when `into` is too small a new Buffer is returned as without it.
   * @throws ShmError ERR_SHM_BAD_FORMAT when the header or chain is corrupt, ERR_SHM_CLOSED; ShmSystemError.
   */
  fetch(into?: Uint8Array): Buffer {
    this.#checkSync();
    checkInto(into);
    const lock = this.#lock!;
    const chain = this.#chain!;
    const held = lock.state;
    const dest = into ?? chain.fetchBuffer();
    const n = lock.copy(chain.readPlan(), LOCK_SH, true, dest);
    if (n >= 0) return chain.fetched(dest, n, into);
    // The guard failed (the chain changed, the value outgrew `dest`): read_share in TypeScript under the lock.
    try {
      return chain.read(into);
    } finally {
      if (held === 0) lock.release();
    }
  }

  /** store() that waits for the lock without blocking the event loop. Calls on one handle run in order. */
  storeAsync(data: string | Uint8Array | ArrayBufferView | ArrayBuffer): Promise<void> {
    this.#checkOpen();
    const bytes = toBytes(data);
    const len = bytes.byteLength;
    this.#checkLength(len);
    return this.#serial(async () => {
      this.#checkOpen();
      const lock = this.#lock!;
      const chain = this.#chain!;
      const held = lock.state;
      if (held === LOCK_SH) lock.release();
      // Uncontended, one addon call with the non-blocking lock; else wait on a thread of its own, then the slow way.
      const plan = chain.writePlan(len);
      const r = plan < 0 ? WOULD_BLOCK : lock.copy(plan, LOCK_EX, false, bytes);
      if (r < 0) {
        if (r === WOULD_BLOCK && held !== LOCK_EX) await lock.takeAsync(LOCK_EX);
        try {
          chain.write(bytes, len);
        } finally {
          if (held !== LOCK_EX) lock.release();
        }
      }
      if (held === LOCK_SH) await lock.takeAsync(LOCK_SH);
    });
  }

  /** fetch() that waits for the lock without blocking the event loop. Calls on one handle run in order. */
  fetchAsync(into?: Uint8Array): Promise<Buffer> {
    this.#checkOpen();
    checkInto(into);
    return this.#serial(async () => {
      this.#checkOpen();
      const lock = this.#lock!;
      const chain = this.#chain!;
      const held = lock.state;
      const dest = into ?? chain.fetchBuffer();
      const n = lock.copy(chain.readPlan(), LOCK_SH, false, dest);
      if (n >= 0) return chain.fetched(dest, n, into);
      if (n === WOULD_BLOCK) await lock.takeAsync(LOCK_SH);
      try {
        return chain.read(into);
      } finally {
        if (held === 0) lock.release();
      }
    });
  }

  /**
   * `store(serializer.encode(value))`: stores a value. With `storable` from @shm/serializer-storable, Perl reads it
   * with `thaw($share->fetch)`. `serializer` is a serializer object or 'raw' | 'json' | 'v8'. Errors: the
   * serializer's (ShmError ERR_SHM_UNSERIALIZABLE) and store()'s.
   */
  storeValue(value: unknown, serializer: ValueSerializer): void {
    this.store(encodeValue(value, serializer));
  }

  /**
   * `serializer.decode(fetch())`: the stored value (Perl's `$share->store(freeze(\%h))` with `storable`), or
   * undefined when the share is empty. Errors: the serializer's (ShmError ERR_SHM_BAD_FORMAT) and fetch()'s.
   */
  fetchValue<T = unknown>(serializer: ValueSerializer<T>): T | undefined {
    const s = getSerializer(serializer); // checked before the lock is taken
    return decodeValue(this.fetch(), s as ValueSerializer<T>);
  }

  /** storeValue() that waits for the lock without blocking the event loop. */
  storeValueAsync(value: unknown, serializer: ValueSerializer): Promise<void> {
    return this.storeAsync(encodeValue(value, serializer));
  }

  /** fetchValue() that waits for the lock without blocking the event loop. */
  async fetchValueAsync<T = unknown>(serializer: ValueSerializer<T>): Promise<T | undefined> {
    const s = getSerializer(serializer); // checked before the lock is taken
    return decodeValue(await this.fetchAsync(), s as ValueSerializer<T>);
  }

  // ---------------------------------------------------------------- locks

  /**
   * Takes an advisory lock: LOCK_EX (the default, also for 0), LOCK_SH, either with LOCK_NB, or LOCK_UN.
   * Returns true when held, false when LOCK_NB would block or `timeoutMs` ran out. Not counted: asking again
   * for the lock already held returns true at once. Changing between SH and EX releases the old lock first
   * (not atomic, as in Perl), so a false return from a LOCK_NB change leaves the handle with no lock.
   * `lock(LOCK_NB)` alone takes nothing and returns true (Perl does the same). Blocks the thread: see lockAsync.
   * @throws RangeError for LOCK_EX|LOCK_SH or LOCK_UN with either; ShmSystemError when the share was removed.
   */
  lock(flags: number = LOCK_EX, timeoutMs?: number): boolean {
    this.#checkSync();
    const want = parseLock(flags);
    const t = parseTimeout(timeoutMs); // checked even when nothing waits (held already, LOCK_NB, LOCK_UN)
    const lock = this.#lock!;
    if (want === LOCK_UN) {
      lock.release();
      return true;
    }
    if (want === 0 || want === lock.state) return true;
    lock.release();
    return lock.take(want as typeof LOCK_EX, (flags & LOCK_NB) === 0, t);
  }

  /**
   * lock() that waits on a thread of its own (never the libuv pool), so the event loop keeps running. Resolves
   * true, or false as lock(). close() or destroy() meanwhile rejects it with ERR_SHM_CLOSED.
   */
  lockAsync(flags: number = LOCK_EX, timeoutMs?: number): Promise<boolean> {
    this.#checkOpen();
    const want = parseLock(flags);
    const t = parseTimeout(timeoutMs);
    return this.#serial(async () => {
      this.#checkOpen();
      const lock = this.#lock!;
      if (want === LOCK_UN) {
        lock.release();
        return true;
      }
      if (want === 0 || want === lock.state) return true;
      lock.release();
      const mode = want as typeof LOCK_EX;
      return (flags & LOCK_NB) !== 0 ? lock.take(mode, false) : lock.takeAsync(mode, t);
    });
  }

  /** Releases the lock this handle holds (none: no-op). Returns true. Same as lock(LOCK_UN). */
  unlock(): boolean {
    this.#checkSync();
    this.#lock!.release();
    return true;
  }

  // ---------------------------------------------------------------- information

  /** The share's write counter: 1 when created, +1 on every store (wraps at 2^32). Read without a lock, as Perl. */
  version(): number {
    this.#checkOpen();
    return this.#chain!.version;
  }

  /**
   * The number of segments in the share's chain (1 for values up to segmentSize - 16 bytes), walked through the
   * next_shmid links without a lock, as Perl does.
   * @throws ShmError ERR_SHM_BAD_FORMAT when the chain loops or points at a segment of another size.
   */
  numSegments(): number {
    this.#checkOpen();
    for (let attempt = 0; ; attempt++) {
      try {
        return this.#chain!.count();
      } catch (e) {
        // A writer may have removed a segment while we walked (no lock is taken): walk again.
        if (attempt < 3 && (errCode(e) === 'EINVAL' || errCode(e) === 'EIDRM')) continue;
        throw e;
      }
    }
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Detaches this handle and releases its lock; the share stays unless the handle was opened with
   * `destroy` (or is IPC_PRIVATE), in which case close() is destroy(). Unlike Perl's DESTROY it does not take
   * the exclusive lock first, so it never blocks. Async calls still waiting for a lock reject with ERR_SHM_CLOSED
   * (so do those queued behind them). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#checkIdle();
    if (this.#destroyOnClose) {
      this.destroy();
      return;
    }
    try {
      this.#lock?.release();
    } catch {
      /* the set was removed meanwhile: nothing to release */
    } finally {
      this.#detach();
    }
  }

  /**
   * Removes the share from the system: takes the exclusive lock (waiting for other holders), removes every
   * segment of the chain and the semaphore set, and closes this handle. Other handles then get EINVAL/EIDRM.
   * A link that points at a missing or foreign segment stops the walk (the rest is left, with a warning). Async
   * calls still waiting for a lock reject with ERR_SHM_CLOSED.
   */
  destroy(): void {
    if (this.#closed) return;
    this.#checkIdle();
    const lock = this.#lock!;
    try {
      if (lock.state !== LOCK_EX) {
        lock.release();
        lock.take(LOCK_EX);
      }
    } catch (e) {
      if (this.#alreadyRemoved(e)) return;
      throw e;
    }
    this.#removeAll();
  }

  /** destroy() that waits for the exclusive lock without blocking the event loop. */
  destroyAsync(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#serial(async () => {
      if (this.#closed) return;
      const lock = this.#lock!;
      try {
        if (lock.state !== LOCK_EX) {
          lock.release();
          await lock.takeAsync(LOCK_EX);
        }
      } catch (e) {
        if (this.#alreadyRemoved(e)) return;
        throw e;
      }
      this.#removeAll();
    });
  }

  // ---------------------------------------------------------------- internals

  /** The open protocol's result becomes this handle's. */
  #adopt(s: OpenedShare): void {
    this.#lock = s.lock;
    this.#chain = s.chain;
    if (this.#destroyOnClose) this.#registerExit();
  }

  #checkLength(len: number): void {
    if (len > MAX_LENGTH) throw this.#errors.tooLarge(len, MAX_LENGTH);
  }

  #checkOpen(): void {
    if (this.#closed || !this.#chain) throw this.#errors.closed();
  }

  #checkSync(): void {
    this.#checkOpen();
    if (this.#busy) throw this.#errors.busy();
  }

  /**
   * close() and destroy() with async calls in flight: those waiting for a lock are rejected (the waiter threads
   * stop and a lock granted meanwhile is given back); any other is queued and will find the handle closed. Before
   * ShareLite.open finished there is nothing to close yet.
   */
  #checkIdle(): void {
    if (!this.#chain) throw this.#errors.busy();
    this.#lock!.cancelWaits(this.#errors.closed());
  }

  /** Closes the handle without touching the share: detach, forget the lock, leave the exit list. */
  #detach(): void {
    this.#chain?.detachAll();
    this.#lock?.forget();
    this.#closed = true;
    destroyAtExit.delete(this);
  }

  /** destroy_share with destroy=1; the caller holds the exclusive lock. */
  #removeAll(): void {
    const lock = this.#lock!;
    let err = this.#chain!.removeAll(); // the chain's problems are only warned of: the set is always removed
    this.#detach();
    try {
      lock.removeSet();
    } catch (e) {
      err ??= e;
    }
    if (err) throw this.#errors.system(err, 'cannot remove');
  }

  /** Another handle destroyed the share (its set is gone): just let go of our attachments. */
  #alreadyRemoved(e: unknown): boolean {
    const c = errCode(e);
    if (c !== 'EINVAL' && c !== 'EIDRM') return false;
    this.#detach();
    return true;
  }

  #registerExit(): void {
    destroyAtExit.add(this);
    if (exitHookInstalled) return;
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const s of destroyAtExit) s.#destroyAtExit();
    });
  }

  /** Best effort at exit: never hang the exit on another process's lock for more than a second. */
  #destroyAtExit(): void {
    if (this.#closed || this.#busy) return;
    try {
      const lock = this.#lock!;
      if (lock.state !== LOCK_EX) {
        lock.release();
        if (!lock.take(LOCK_EX, true, 1000)) return;
      }
      this.#removeAll();
    } catch {
      /* exiting anyway */
    }
  }

  /** Runs async operations of one handle one after another (they change the handle's lock state). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    this.#busy++;
    const run = this.#queue.then(fn);
    const done = run.finally(() => {
      this.#busy--;
    });
    this.#queue = done.catch(() => undefined);
    return done;
  }
}
