import {
  type ChildProcess,
  type ForkOptions,
  fork as forkChild,
  type SpawnOptions,
  spawn as spawnChild,
} from 'node:child_process';
import cluster, { type ClusterSettings, type Worker as ClusterWorker } from 'node:cluster';
import { isMainThread, SHARE_ENV, Worker, type WorkerOptions } from 'node:worker_threads';
import {
  type ChangeIterator,
  expected,
  type FetchInfo,
  getSerializer,
  LockStatus,
  raw,
  type Serializer,
  ShmError,
  Store,
  serializerId,
  serializerMismatchError,
} from '@shm/core';
import {
  attachToStdio,
  checkHandle,
  ENV_VAR,
  envForThread,
  inheritedHandles,
  makeHandle,
  type ShareHandle,
  type ShareMap,
  stdioBase,
} from './handoff.js';
import { shareChanges } from './share-watch.js';

/** The largest area `new MmapShare(size)` makes (1 GiB; it takes twice that, see README). */
export const MAX_SIZE = 2 ** 30;

/** Options of `new MmapShare(size, options)` and of the receiving side (`inherited`, `fromWorkerData`). */
export interface MmapShareOptions {
  /**
   * How values become bytes: 'v8' (default: structured clone, the closest thing to Perl's Storable), 'json',
   * 'raw' (Uint8Array/Buffer and strings), or a serializer object such as `msgpack` from @shm/serializer-msgpack.
   * A child must use the same one: builtin names travel with the share, serializer objects must be passed again.
   */
  serializer?: 'v8' | 'json' | 'raw' | Serializer;
  /** How often a process waiting for the lock checks whether the holder died, in ms (default 10). */
  pollMs?: number;
}

/** Extra shares to hand to a child along with the one the helper is called on ('default'). */
export interface WithShares {
  /** More shares for the child, by the name it passes to `MmapShare.inherited(name)`. */
  shares?: Record<string, MmapShare>;
}

/** What `update()` tells its callback. */
export interface UpdateInfo {
  /** True when the previous holder of the lock died holding it: the value is the last one it committed. */
  ownerDied: boolean;
}

interface Adopt {
  store: Store;
  handle: ShareHandle;
  serializer: Serializer;
}
/**
 * Shares mapped from a handle by #adopt, keyed by the empty options object it passes to the constructor. Only #adopt
 * puts keys here and the constructor takes each out once, so no caller can reach the adopting path: an options
 * object from outside is never a key. (A module flag read by the constructor did the same but was a bypass any
 * re-entrant construction could trip over.)
 */
const adoptions = new WeakMap<object, Adopt>();
const NO_HEAD = new Uint8Array(0);
const inheritedShares = new Map<string, MmapShare>();
let clusterBase: { produced: unknown[]; base: unknown[] } | undefined;

/**
 * IPC::Mmap::Share for Node: an anonymous shared-memory area (a sealed memfd on Linux) holding one value, which
 * processes started from the creator (child_process, cluster, worker_threads) and their descendants can read and
 * replace. Nothing names it in any namespace; the kernel frees it when the last process mapping it exits.
 *
 * Every `set` is atomic and crash-consistent (a writer killed mid-write leaves the previous value); `set` takes
 * the exclusive lock, `get` the shared one, so a `lock()` ... `unlock()` section is seen by others as one step.
 */
export class MmapShare {
  readonly #store: Store;
  readonly #size: number;
  readonly #fd: number;
  readonly #serializer: Serializer;
  readonly #sid: number;
  readonly #info: FetchInfo = { serial: 0, serializerId: 0 };
  #scratch = new Uint8Array(0);
  /** Whether the store's capacity is at most `size`: then a value the store accepts needs no check of ours. */
  readonly #bounded: boolean;
  /** Whether the serializer is core's raw: get() decodes its Buffers itself (#rawBuffer). */
  readonly #rawBuffers: boolean;
  /** The payload of #bodyOf (the value's view that #rawBuffer saw last). */
  #body: Uint8Array = NO_HEAD;
  #bodyOf: Uint8Array | undefined;

  /**
   * Creates an anonymous area that holds values whose encoding takes up to `size` bytes.
   * @throws RangeError for a size that is not an integer from 1 to 1 GiB; TypeError/RangeError for bad options;
   *   ShmSystemError (ENOMEM, EMFILE...) if the system refuses the memory.
   */
  constructor(size: number, options: MmapShareOptions = {}) {
    const a = adoptions.get(options);
    if (a) {
      adoptions.delete(options);
      this.#store = a.store;
      this.#size = a.handle.size;
      this.#fd = a.handle.fd;
      this.#serializer = a.serializer;
      this.#sid = a.handle.serializerId;
      this.#bounded = a.store.capacity <= this.#size;
      this.#rawBuffers = a.serializer === raw;
      return;
    }
    if (typeof size !== 'number') throw expected('a size in bytes', 'size', size);
    if (!Number.isInteger(size) || size < 1 || size > MAX_SIZE) {
      throw expected(`an integer from 1 to ${MAX_SIZE} (bytes)`, 'size', size, RangeError);
    }
    const opts = checkOptions(options);
    const serializer = getSerializer(opts.serializer ?? 'v8');
    this.#store = Store.create({
      inlineCapacity: size,
      maxValueSize: size,
      serializer,
      ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    });
    this.#size = size;
    this.#fd = this.#store.region.fd;
    this.#serializer = serializer;
    this.#sid = serializerId(serializer);
    this.#bounded = this.#store.capacity <= size;
    this.#rawBuffers = serializer === raw;
  }

  // ---------------------------------------------------------------- receiving

  /**
   * The share named `name` that this process was started with (by `fork`, `spawn`, `clusterFork`, `worker` of a
   * share in an ancestor). Repeated calls return the same object until it is closed.
   * @throws ShmError ERR_SHM_NOT_FOUND if no such share was handed over; ERR_SHM_SERIALIZER_MISMATCH if
   *   `options.serializer` is not the one the share was created with; TypeError if the share uses a serializer
   *   object and none was given.
   */
  static inherited(name = 'default', options: Omit<MmapShareOptions, never> = {}): MmapShare {
    if (typeof name !== 'string') throw expected('a share name (string)', 'name', name);
    const cached = inheritedShares.get(name);
    if (cached && !cached.closed) return cached;
    const handle = inheritedHandles().get(name);
    if (!handle) {
      const names = [...inheritedHandles().keys()];
      throw new ShmError(
        'ERR_SHM_NOT_FOUND',
        `No share named '${name}' was handed to this ${isMainThread ? 'process' : 'thread'} ` +
          (names.length
            ? `(it received ${names.map((n) => `'${n}'`).join(', ')})`
            : `(${ENV_VAR} is not set: start it with share.fork(), spawn(), clusterFork() or worker())`),
        { target: name },
      );
    }
    if (cached && isMainThread) {
      throw new ShmError('ERR_SHM_CLOSED', `The inherited share '${name}' was closed; its fd is gone`, {
        target: name,
      });
    }
    // A worker thread shares its fd table with the thread that started it: that fd is not ours to close.
    const share = MmapShare.#adopt(handle, options, !isMainThread);
    inheritedShares.set(name, share);
    return share;
  }

  /** Whether this process (or thread) was handed a share named `name`. */
  static hasInherited(name = 'default'): boolean {
    if (typeof name !== 'string') throw expected('a share name (string)', 'name', name);
    return inheritedHandles().has(name);
  }

  /**
   * Maps a share from a handle made by `share.transferable()` in the same process (a worker thread's
   * `workerData`). The fd stays the sender's: close() here unmaps but does not close it.
   */
  static fromWorkerData(handle: ShareHandle, options: MmapShareOptions = {}): MmapShare {
    return MmapShare.#adopt(checkHandle(handle, 'handle'), options, true);
  }

  static #adopt(handle: ShareHandle, options: MmapShareOptions, keepFd: boolean): MmapShare {
    const opts = checkOptions(options);
    let serializer: Serializer;
    if (opts.serializer !== undefined) {
      serializer = getSerializer(opts.serializer);
      const id = serializerId(serializer);
      if (id !== handle.serializerId) {
        throw new ShmError(
          'ERR_SHM_SERIALIZER_MISMATCH',
          `This share was created with serializer '${handle.serializer}', not '${serializer.name}'`,
          { target: `fd ${handle.fd}` },
        );
      }
    } else if (['v8', 'json', 'raw'].includes(handle.serializer)) {
      serializer = getSerializer(handle.serializer);
    } else {
      throw expected(
        `the serializer object '${handle.serializer}' this share was created with`,
        'options.serializer',
        undefined,
      );
    }
    const store = Store.fromFd(handle.fd, {
      keepFd,
      maxValueSize: handle.size,
      serializer,
      ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    });
    const token: MmapShareOptions = {};
    adoptions.set(token, { store, handle, serializer });
    return new MmapShare(handle.size, token);
  }

  // ---------------------------------------------------------------- values

  /** Bytes a value's encoding may take (the size given to the constructor). */
  get size(): number {
    return this.#size;
  }

  /** The memfd (in this process's numbering); -1 after close(). Helpers pass it on; you rarely need it. */
  get fd(): number {
    return this.closed ? -1 : this.#fd;
  }

  /** The serializer values are stored with. */
  get serializer(): Serializer {
    return this.#serializer;
  }

  /** True once `close()` ran in this process. */
  get closed(): boolean {
    return this.#store.closed;
  }

  /**
   * Stores `value`, replacing the previous one atomically (takes the exclusive lock, or nests inside yours).
   * @throws TypeError for undefined or for more than one argument (store an array instead);
   *   ShmError ERR_SHM_TOO_LARGE if the encoding is larger than `size` (the message gives both sizes);
   *   ERR_SHM_UNSERIALIZABLE if the serializer cannot carry it. The previous value is kept on every error.
   */
  set(value: unknown): void {
    // arguments.length, not a rest parameter: no array per call on the hot path.
    // biome-ignore lint/complexity/noArguments: the count of arguments is what is checked
    const count = arguments.length;
    if (count !== 1 || value === undefined || this.#store.closed) this.#checkArgs(count, value);
    const ser = this.#serializer;
    // Nothing here checks the size: it is the store's own limit (maxValueSize), which store()/storeParts() check
    // before they commit. A refusal is only reworded in the share's terms (#refused); the try costs nothing.
    if (ser.encodeView === undefined) {
      const bytes = ser.encode(value);
      try {
        this.#store.store(bytes, this.#sid);
      } catch (err) {
        throw this.#refused(err, bytes.byteLength);
      }
      return;
    }
    // The serializer's reused buffer (or, with 'raw', a tag and the caller's own bytes), copied once by the
    // commit: nothing calls the serializer between here and there.
    const e = ser.encodeView(value);
    try {
      this.#store.storeParts(e.head, e.body, this.#sid);
    } catch (err) {
      throw this.#refused(err, e.head.byteLength + e.body.byteLength);
    }
  }

  /** set() whose wait for the lock does not block the event loop. */
  async setAsync(value: unknown): Promise<void> {
    // biome-ignore lint/complexity/noArguments: the count of arguments is what is checked
    this.#checkArgs(arguments.length, value);
    // encode(), not encodeView(): the wait for the lock lets other code use the serializer meanwhile. The size is
    // the store's limit, as for set().
    const bytes = this.#serializer.encode(value);
    try {
      await this.#store.storeAsync(bytes, this.#sid);
    } catch (err) {
      throw this.#refused(err, bytes.byteLength);
    }
  }

  #checkArgs(count: number, value: unknown): void {
    this.#checkOpen();
    if (count > 1) {
      throw new TypeError(
        `Expected exactly one value for set() but received ${count} arguments (store an array or object instead)`,
      );
    }
    if (value === undefined) {
      throw expected('a value other than undefined (store null to clear it)', 'value', value);
    }
  }

  /** What set() throws for `err`, which the store threw committing an encoding of `n` bytes. */
  #refused(err: unknown, n: number): unknown {
    return n > this.#size && ShmError.isInstance(err) && err.code === 'ERR_SHM_TOO_LARGE'
      ? this.#tooLarge(n)
      : err;
  }

  #tooLarge(n: number): ShmError {
    return new ShmError(
      'ERR_SHM_TOO_LARGE',
      `The value encodes to ${n} bytes with serializer '${this.#serializer.name}', more than the ` +
        `${this.#size} bytes this share holds (new MmapShare(${this.#size})); the previous value is kept`,
      { target: this.#store.name },
    );
  }

  /**
   * The current value, decoded afresh on every call (mutating it changes nothing shared), or undefined if
   * nothing was stored yet. Takes the shared lock: it waits while another process holds lock().
   * @throws ShmError ERR_SHM_SERIALIZER_MISMATCH if the value was written with another serializer.
   */
  get<T = unknown>(): T | undefined {
    const store = this.#store;
    if (store.closed) throw closedShare();
    const lock = store.lock;
    const status = lock.lockShared();
    try {
      return this.#decode<T>(this.#read());
    } finally {
      if (status !== LockStatus.WouldBlock) lock.unlockShared();
    }
  }

  /** get() whose wait for the lock does not block the event loop. */
  async getAsync<T = unknown>(): Promise<T | undefined> {
    this.#checkOpen();
    const lock = this.#store.lock;
    await lock.lockSharedAsync();
    try {
      return this.#decode<T>(this.#read());
    } finally {
      lock.unlockShared();
    }
  }

  /**
   * The current value's bytes, read under the shared lock, where no commit can interleave: a view of the shared
   * memory itself (the decoder, which runs under the lock too, copies what it keeps), so nothing is copied twice.
   */
  #read(): Uint8Array {
    let view: Uint8Array | undefined;
    try {
      view = this.#store.viewLocked(this.#info);
    } catch (e) {
      throw this.#readError(e);
    }
    if (view !== undefined) {
      // The store refuses a length past its capacity; a share whose capacity is its size checks nothing more.
      if (!this.#bounded && view.byteLength > this.#size) throw this.#corrupt(view.byteLength);
      return view;
    }
    // An anonymous store never chains; a foreign one that does is read the long way.
    const len = this.#store.length;
    // No commit can interleave (we hold the shared lock) and set() never stores more than `size` bytes: a longer
    // value is corrupt memory, and must not size the buffer.
    if (len > this.#size) throw this.#corrupt(len);
    if (this.#scratch.byteLength < len)
      this.#scratch = new Uint8Array(Math.max(len, this.#scratch.byteLength * 2));
    return this.#store.fetch(this.#scratch, this.#info);
  }

  /** What a read throws for `e`, which the store threw: a length past the size is the corruption this share can
   * name best (with its own size). */
  #readError(e: unknown): unknown {
    if (!ShmError.isInstance(e) || e.code !== 'ERR_SHM_BAD_FORMAT') return e;
    const len = this.#store.length;
    return len > this.#size ? this.#corrupt(len) : e;
  }

  #corrupt(len: number): ShmError {
    return new ShmError(
      'ERR_SHM_BAD_FORMAT',
      `The share's memory is corrupt: its value claims ${len} bytes, but it holds at most ${this.#size} (new MmapShare(${this.#size}))`,
      { target: this.#store.name },
    );
  }

  #decode<T>(bytes: Uint8Array): T | undefined {
    const info = this.#info;
    if (info.serial === 0) return undefined; // never written
    if (info.serializerId !== this.#sid) {
      throw serializerMismatchError(this.#sid, info.serializerId, { target: this.#store.name });
    }
    if (this.#rawBuffers && bytes[0] === RAW_BUFFER_TAG) return this.#rawBuffer(bytes) as T;
    // Decoders copy what they keep (the Serializer contract): the bytes may be shared memory or the scratch buffer.
    return this.#serializer.decode(bytes) as T;
  }

  /**
   * raw.decode() of a Buffer (a fresh Buffer of the bytes behind the tag), without raw's view of them per call:
   * the view is kept while `bytes` is the same view (viewLocked() returns the same one while the bank and the length
   * repeat), and a view's extent never changes, so it covers the value's payload. One allocation, one copy.
   */
  #rawBuffer(bytes: Uint8Array): Buffer {
    let body = this.#body;
    if (this.#bodyOf !== bytes) {
      body = this.#body = bytes.subarray(1);
      this.#bodyOf = bytes;
    }
    const out = Buffer.allocUnsafe(body.length);
    out.set(body);
    return out;
  }

  // ---------------------------------------------------------------- waiting for a change

  /** Changes on every set(), by any process (0: nothing stored yet). One atomic load. */
  get serial(): number {
    this.#checkOpen();
    return this.#store.serial;
  }

  /**
   * Blocks until the serial differs from `serial` (a set() by any process sharing the area), sleeping in the
   * kernel. Returns the new serial, or undefined once `timeoutMs` passed (default: wait forever).
   * @throws ShmError ERR_SHM_CLOSED on a closed share; TypeError/RangeError for a bad serial or timeout.
   */
  waitForChange(serial: number, timeoutMs?: number): number | undefined {
    this.#checkOpen();
    return this.#store.waitForChange(serial, timeoutMs);
  }

  /** waitForChange() that never blocks the event loop; `signal` aborts it. Rejects ERR_SHM_CLOSED on close(). */
  waitForChangeAsync(serial: number, timeoutMs?: number, signal?: AbortSignal): Promise<number | undefined> {
    if (this.closed) return Promise.reject(closedShare());
    return this.#store.waitForChangeAsync(serial, timeoutMs, signal);
  }

  /**
   * An async iterator of changes: `for await (const { serial, value } of share.changes())`. Each value is read
   * under the shared lock with its serial (a lock() section of several set()s shows as its last value) and decoded
   * afresh. It coalesces (a slow consumer gets the latest value, never an older one after a newer one), and ends on
   * `break`/`return()` or close() of this share.
   * @param options.since yield once the serial differs from this one (default: the serial now; 0: the current
   *   value first).
   */
  changes<T = unknown>(options?: { since?: number }): ChangeIterator<T | undefined> {
    this.#checkOpen();
    return shareChanges(this.#store, this.#serializer, this.#sid, options) as ChangeIterator<T | undefined>;
  }

  // ---------------------------------------------------------------- locking

  /**
   * Takes the exclusive lock for a critical section spanning several calls (set/get inside it nest).
   * Nested calls count; each needs its unlock(). Blocks the thread while another holds it: see lockAsync().
   * @param timeoutMs give up after this long (default: wait forever) with ShmError ERR_SHM_LOCK_TIMEOUT.
   * @returns LockStatus.Acquired, or LockStatus.OwnerDied when the previous holder died holding it (the value is
   *   the last one it committed; any set() it had not finished never happened).
   */
  lock(timeoutMs?: number): LockStatus {
    this.#checkOpen();
    checkTimeout(timeoutMs);
    const status = this.#store.lock.lock(timeoutMs);
    if (status === LockStatus.WouldBlock) throw this.#store.lock.timeoutError('exclusive', timeoutMs!);
    return status;
  }

  /** lock() without blocking the event loop. */
  async lockAsync(timeoutMs?: number): Promise<LockStatus> {
    this.#checkOpen();
    checkTimeout(timeoutMs);
    const status = await this.#store.lock.lockAsync(timeoutMs);
    if (status === LockStatus.WouldBlock) throw this.#store.lock.timeoutError('exclusive', timeoutMs!);
    return status;
  }

  /** Takes the lock if it is free: LockStatus.WouldBlock (0) if someone holds it. */
  tryLock(): LockStatus {
    this.#checkOpen();
    return this.#store.lock.tryLock();
  }

  /** Releases one lock() (or lockAsync/tryLock). @throws ShmError ERR_SHM_NOT_HELD if this handle does not hold it. */
  unlock(): void {
    this.#checkOpen();
    this.#store.lock.unlock();
  }

  /** Whether this handle holds the exclusive lock. */
  get locked(): boolean {
    return !this.closed && this.#store.lock.holdsExclusive;
  }

  /**
   * Read-modify-write under the exclusive lock: calls `fn` with the current value and stores what it returns
   * (returning undefined keeps the value). Returns what `fn` returned.
   */
  update<T>(fn: (current: T | undefined, info: UpdateInfo) => T | undefined): T | undefined {
    if (typeof fn !== 'function') throw expected('a function', 'fn', fn);
    const status = this.lock();
    try {
      const next = fn(this.get<T>(), { ownerDied: status === LockStatus.OwnerDied });
      if (next !== undefined) this.set(next);
      return next;
    } finally {
      this.unlock();
    }
  }

  /** update() whose wait for the lock does not block the event loop (`fn` itself is synchronous). */
  async updateAsync<T>(
    fn: (current: T | undefined, info: UpdateInfo) => T | undefined,
  ): Promise<T | undefined> {
    if (typeof fn !== 'function') throw expected('a function', 'fn', fn);
    const status = await this.lockAsync();
    try {
      const next = fn(this.get<T>(), { ownerDied: status === LockStatus.OwnerDied });
      if (next !== undefined) this.set(next);
      return next;
    } finally {
      this.unlock();
    }
  }

  // ---------------------------------------------------------------- handing it on

  /**
   * `child_process.fork()` with this share (and `options.shares`) attached: each rides in an extra stdio slot
   * and the child's SHM_MMAP_SHARE variable says which. In the child: `MmapShare.inherited()`.
   */
  fork(
    modulePath: string | URL,
    args: readonly string[] = [],
    options: ForkOptions & WithShares = {},
  ): ChildProcess {
    checkObject(options, 'options');
    const { shares, ...rest } = options;
    const map = this.#shareMap(shares);
    const silent = rest.silent ? 'pipe' : 'inherit';
    const base = stdioBase(rest.stdio, [silent, silent, silent, 'ipc'], true);
    const { stdio, env } = attachToStdio(map, base);
    return forkChild(modulePath, args as string[], {
      ...rest,
      stdio: stdio as ForkOptions['stdio'],
      env: { ...(rest.env ?? process.env), [ENV_VAR]: env },
    });
  }

  /** `child_process.spawn()` with this share attached (for a Node program; see fork() for how). */
  spawn(
    command: string,
    args: readonly string[] = [],
    options: SpawnOptions & WithShares = {},
  ): ChildProcess {
    if (typeof command !== 'string') throw expected('a command (string)', 'command', command);
    checkObject(options, 'options');
    const { shares, ...rest } = options;
    const map = this.#shareMap(shares);
    const base = stdioBase(rest.stdio, ['pipe', 'pipe', 'pipe'], false);
    const { stdio, env } = attachToStdio(map, base);
    return spawnChild(command, args, {
      ...rest,
      stdio: stdio as SpawnOptions['stdio'],
      env: { ...(rest.env ?? process.env), [ENV_VAR]: env },
    });
  }

  /**
   * `cluster.setupPrimary(settings)` with this share attached to the stdio of workers forked from now on.
   * Returns the environment to pass to `cluster.fork(env)` (clusterFork() does both).
   */
  setupPrimary(settings: ClusterSettings & WithShares = {}): Record<string, string> {
    checkObject(settings, 'settings');
    if (!cluster.isPrimary)
      throw new ShmError('ERR_SHM_NOT_SUPPORTED', 'setupPrimary() is for the cluster primary');
    const { shares, ...rest } = settings;
    const map = this.#shareMap(shares);
    // Our own earlier stdio (with fds appended) must not be extended again.
    const current = rest.stdio ?? (cluster.settings.stdio as unknown[] | undefined);
    const userStdio = clusterBase && current === clusterBase.produced ? clusterBase.base : current;
    const silent = (rest.silent ?? cluster.settings.silent) ? 'pipe' : 'inherit';
    const base = stdioBase(userStdio as ClusterSettings['stdio'], [silent, silent, silent, 'ipc'], true);
    const { stdio, env } = attachToStdio(map, base);
    clusterBase = { produced: stdio, base };
    cluster.setupPrimary({ ...rest, stdio: stdio as ClusterSettings['stdio'] });
    return { [ENV_VAR]: env };
  }

  /** `cluster.fork(env)` of a worker that receives this share (and `shares`) through `MmapShare.inherited()`. */
  clusterFork(env: Record<string, string> = {}, shares?: Record<string, MmapShare>): ClusterWorker {
    checkObject(env, 'env');
    const shareEnv = this.setupPrimary(shares ? { shares } : {});
    return cluster.fork({ ...env, ...shareEnv });
  }

  /**
   * A worker thread that receives this share through `MmapShare.inherited()` (its `env` option carries the
   * handle; the fd is the process's own). The creator must keep the share open while the worker may fork
   * grandchildren from it.
   */
  worker(filename: string | URL, options: WorkerOptions & WithShares = {}): Worker {
    checkObject(options, 'options');
    const { shares, ...rest } = options;
    if (rest.env === SHARE_ENV) {
      throw expected('an env object (the share travels in it)', 'options.env', 'SHARE_ENV');
    }
    const env = envForThread(this.#shareMap(shares));
    return new Worker(filename, {
      ...rest,
      env: { ...((rest.env as Record<string, string> | undefined) ?? process.env), [ENV_VAR]: env },
    });
  }

  /**
   * A plain-data handle for a worker thread of this process (pass it in `workerData`; the worker calls
   * `MmapShare.fromWorkerData(handle)`). Useless in another process: use fork/spawn there.
   */
  transferable(): ShareHandle {
    this.#checkOpen();
    return this.#handle();
  }

  #handle(fd = this.#fd): ShareHandle {
    return makeHandle(fd, this.#size, this.#serializer.name, this.#sid);
  }

  #shareMap(extra: Record<string, MmapShare> | undefined): ShareMap {
    this.#checkOpen();
    if (this.#fd < 0) {
      throw new ShmError('ERR_SHM_NOT_SUPPORTED', 'This share has no fd to hand on (its creator closed it)', {
        target: this.#store.name,
      });
    }
    const map: ShareMap = { default: this.#entry() };
    if (extra !== undefined) {
      if (typeof extra !== 'object' || extra === null)
        throw expected('an object of shares', 'options.shares', extra);
      for (const [name, s] of Object.entries(extra)) {
        if (!(s instanceof MmapShare)) throw expected('an MmapShare', `options.shares.${name}`, s);
        if (name === 'default' && s !== this)
          throw expected("a name other than 'default'", 'options.shares', name);
        s.#checkOpen();
        map[name] = s.#entry();
      }
    }
    return map;
  }

  #entry(): ShareMap[string] {
    return { fd: this.#fd, handle: (fd?: number) => this.#handle(fd) };
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Unmaps the area here (and closes this process's fd to it, unless a worker borrowed it). Other processes keep
   * theirs; the memory is freed when the last one is gone. Idempotent.
   */
  close(): void {
    this.#store.close();
  }

  #checkOpen(): void {
    if (this.#store.closed) throw closedShare();
  }
}

/** The tag raw puts before a Buffer's bytes, learnt from raw itself. */
const RAW_BUFFER_TAG = raw.encode(Buffer.alloc(0))[0];

function closedShare(): ShmError {
  return new ShmError('ERR_SHM_CLOSED', 'This MmapShare is closed', { target: 'MmapShare' });
}

function checkOptions(options: unknown): MmapShareOptions {
  if (typeof options !== 'object' || options === null)
    throw expected('an options object', 'options', options);
  const o = options as MmapShareOptions;
  if (
    o.pollMs !== undefined &&
    (typeof o.pollMs !== 'number' || !(o.pollMs > 0) || !Number.isFinite(o.pollMs))
  ) {
    throw expected('a positive number of milliseconds', 'options.pollMs', o.pollMs, RangeError);
  }
  return o;
}

function checkObject(v: unknown, name: string): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw expected('an object', name, v);
}

function checkTimeout(ms: unknown): void {
  if (ms === undefined || ms === Number.POSITIVE_INFINITY) return;
  if (typeof ms !== 'number' || !(ms >= 0)) {
    throw expected(
      'a number of milliseconds (0 or more)',
      'timeoutMs',
      ms,
      typeof ms === 'number' ? RangeError : TypeError,
    );
  }
}
