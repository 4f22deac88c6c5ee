// The public Store: one versioned value in shared memory. This file is the facade (argument checks, creating and
// opening, waiting, values, lifecycle); the format is in store-format.ts, the segment chain in store-chain.ts, and
// commit and read in store-io.ts (docs/architecture/store.md, "Where the code is").
import { randomInt } from 'node:crypto';
import { checkFd, closedError, expected, ShmError } from '@shm/native';
import { type Backend, Region, type RegionOptions } from './region.js';
import type { RegistryEntry } from './registry.js';
import { LockStatus, RwLock } from './rw-lock.js';
import type { Serializer } from './serializer.js';
import { getSerializer } from './serializers/get-serializer.js';
import { serializerId } from './serializers/serializer-id.js';
import { serializerMismatchError } from './serializers/serializer-mismatch-error.js';
import { SegmentChain } from './store-chain.js';
import * as format from './store-format.js';
import { backendOf, headSize, initHead, inlineFor, listSegments, validateHead } from './store-format.js';
import { StoreIo } from './store-io.js';
import {
  ChangeIterator,
  type ChangesOptions,
  checkSerial,
  checkSignal,
  checkWaitTimeout,
  H_WAITERS,
  markDestroyed,
  readChange,
  type StoreChange,
  StoreWatch,
} from './store-watch.js';
import {
  checkBytes,
  checkFunction,
  checkInfo,
  checkInto,
  checkSerializerId,
  checkStoreOptions,
} from './validate-args.js';

export { STORE_HEADER_BYTES } from './store-format.js';

// Constants of this module, as in store-io.ts: `serial` and a cached getValue() read H_PUB on every call.
const {
  BANK_BYTES,
  BANK0,
  C_DATA,
  H_BACKEND,
  H_INLINE,
  H_MAX_SEG,
  H_PUB,
  H_STORE_ID,
  LOCK_OFFSET,
  MAX_SEGS,
  MIN_SEG,
} = format;

/** Where a store lives and how it is created or opened: a `RegionOptions` address (`name`, `key`, `path`, `fd` or none) plus the store's own settings. */
export interface StoreOptions extends Omit<RegionOptions, 'size' | 'populate'> {
  /**
   * Bytes each of the two inline banks in the head holds (default 64 KiB - 2 KiB header overhead rounded;
   * for memfd, the whole capacity since an anonymous store cannot chain).
   */
  inlineCapacity?: number;
  /** Largest chained segment (default 256 MiB). Values up to 28 of these fit. */
  maxSegmentSize?: number;
  /** Refuse values larger than this (default: what the chain can hold). */
  maxValueSize?: number;
  /** Serializer for setValue/getValue (default 'v8'). */
  serializer?: string | Serializer;
  /** How often lock waiters check for a dead holder (ms). */
  pollMs?: number;
}

/** What fetch() reports about the value it read. */
export interface FetchInfo {
  /** The serial of the value read (0: nothing was ever stored). */
  serial: number;
  /** The serializer id recorded with the value (0: raw bytes). */
  serializerId: number;
}

/**
 * One versioned value in shared memory, of any size, shared by every process that opens the same name.
 *
 * Commits are crash-consistent: a writer (holding the lock) fills the bank that is not current, inline in the
 * head or in chained segments, and publishes it by one atomic store of the `pub` word (serial and bank). A writer
 * killed at any instruction leaves the previous value intact. Readers do not lock: they copy the current bank and
 * check that `pub` did not move meanwhile, retrying if it did (after many retries they take the shared lock).
 */
export class Store {
  /** The head object (chained segments are separate regions). */
  readonly region: Region;
  /** The store's reader/writer lock: `store`/`update` take it exclusively; hold it yourself around several calls (then use `storeLocked`). */
  readonly lock: RwLock;
  /** The head's id: '/name', a path, 'key 0x...' or 'memfd:...'. */
  readonly name: string;
  readonly #i32: Int32Array;
  readonly #inline: number;
  readonly #maxValue: number;
  readonly #capacity: number;
  readonly #backend: Backend;
  readonly #sysv: boolean;
  readonly #serializer: Serializer;
  readonly #sid: number;
  /** The chained segments this handle maps (store-chain.ts). */
  readonly #chain: SegmentChain;
  /** Commit and read (store-io.ts): store() and fetch() go straight to it. */
  readonly #io: StoreIo;
  #scratch: Uint8Array = new Uint8Array(0);
  #cacheSerial = -1;
  #cacheValue: unknown;
  #closed = false;
  /** The waiting side (store-watch.ts), made on the first wait. */
  #watch: StoreWatch | undefined;
  /**
   * This handle's read counters (for tests and debug()): `decodes` (getValue decoded afresh), `cacheHits` (getValue
   * served the decoded copy), `retries` (optimistic copies overtaken by a writer), `lockedReads` (reads that fell
   * back to the shared lock).
   */
  readonly stats = { decodes: 0, cacheHits: 0, retries: 0, lockedReads: 0 };

  private constructor(region: Region, opts: StoreOptions) {
    this.region = region;
    this.name = region.id;
    this.#i32 = region.i32;
    const dv = new DataView(region.buffer);
    this.#inline = dv.getUint32(H_INLINE, true);
    const maxSeg = dv.getUint32(H_MAX_SEG, true);
    const storeId = dv.getUint32(H_STORE_ID, true);
    this.#backend = backendOf(dv.getUint32(H_BACKEND, true), region.backend);
    this.#sysv = this.#backend === 'sysv';
    this.#capacity = this.#backend === 'memfd' ? this.#inline : Math.max(this.#inline, MAX_SEGS * maxSeg);
    this.#maxValue = Math.min(opts.maxValueSize ?? Number.MAX_SAFE_INTEGER, this.#capacity);
    this.lock = new RwLock(region, LOCK_OFFSET, {
      name: `store ${region.id}`,
      ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    });
    this.#serializer = getSerializer(opts.serializer ?? 'v8');
    this.#sid = serializerId(this.#serializer);
    this.#chain = new SegmentChain(region, storeId, maxSeg, this.#backend, opts.mode ?? 0o600);
    this.#io = new StoreIo(
      region,
      this.lock,
      this.#chain,
      this.stats,
      this.#inline,
      this.#capacity,
      this.#sysv,
    );
  }

  /** Creates the store (or opens it if it exists, unless `exclusive`). */
  static create(opts: StoreOptions): Store {
    checkStoreOptions(opts);
    const inline = inlineFor(opts);
    const maxSeg = opts.maxSegmentSize ?? 256 * 1024 * 1024;
    if (!Number.isInteger(maxSeg) || maxSeg < MIN_SEG || maxSeg > 2 ** 32 - C_DATA - 1) {
      throw expected(`a size from ${MIN_SEG} to 4 GiB (bytes)`, 'options.maxSegmentSize', maxSeg, RangeError);
    }
    let region: Region;
    try {
      region = Region.create({ ...opts, size: headSize(inline) });
    } catch (e) {
      // It exists with a smaller head than this call would have made: its creator's layout wins.
      if (ShmError.isInstance(e) && e.code === 'ERR_SHM_SIZE_MISMATCH' && !opts.exclusive)
        return Store.open(opts);
      throw e;
    }
    if (!region.created) return Store.#adopt(region, opts);
    try {
      initHead(region, inline, maxSeg, randomInt(1, 2 ** 32 - 1));
      return new Store(region, opts);
    } catch (e) {
      region.destroy();
      throw e;
    }
  }

  /** Opens an existing store (ENOENT if missing; ERR_SHM_BAD_FORMAT if it is not one of ours). */
  static open(opts: StoreOptions): Store {
    checkStoreOptions(opts);
    return Store.#adopt(Region.open(opts), opts);
  }

  /** Opens a store from an fd this process received (an anonymous store handed to a child). */
  static fromFd(fd: number, opts: Omit<StoreOptions, 'fd'> = {}): Store {
    checkFd(fd);
    checkStoreOptions(opts);
    return Store.#adopt(Region.fromFd(fd, opts), opts);
  }

  static #adopt(region: Region, opts: StoreOptions): Store {
    try {
      validateHead(region);
      return new Store(region, opts);
    } catch (e) {
      region.close();
      throw e;
    }
  }

  /** The largest value this store can hold, in bytes. */
  get capacity(): number {
    return this.#capacity;
  }

  /** True once `close()` or `destroy()` ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The serial of the current value: it changes on every commit. */
  get serial(): number {
    this.#check();
    return Atomics.load(this.#i32, H_PUB / 4) >>> 1;
  }

  /** True if a commit happened since `serial` was read (one atomic load). */
  changedSince(serial: number): boolean {
    if (typeof serial !== 'number') throw expected('a serial (number)', 'serial', serial);
    return this.serial !== serial;
  }

  // ------------------------------------------------------------------ waiting for a change

  /**
   * Blocks this thread until the serial differs from `serial` (a commit by any process or thread), sleeping in the
   * kernel; returns at once if it differs already. Returns the new serial, or `undefined` when `timeoutMs` passed
   * first (so `store.waitForChange(s)` without a timeout always returns a number).
   *
   * A writer wakes sleepers only when the head's waiters count is above zero, so commits cost no syscall while
   * nobody waits (docs/architecture/store.md, "Waiting for a change"). The serial wraps from 2^30-1 to 1.
   * @param serial the serial already seen (e.g. `store.serial`, or `info.serial` of a fetch): an integer from 0 to
   *   2^30-1.
   * @throws ShmError ERR_SHM_CLOSED on a closed handle, or when another handle destroys the store meanwhile.
   */
  waitForChange(serial: number): number;
  /**
   * waitForChange(serial), giving up after `timeoutMs`.
   * @param serial the serial already seen, as above.
   * @param timeoutMs give up after this long (undefined or Infinity: wait forever; 0: just check).
   * @returns the new serial, or `undefined` when `timeoutMs` passed first.
   */
  waitForChange(serial: number, timeoutMs: number | undefined): number | undefined;
  waitForChange(serial: number, timeoutMs?: number): number | undefined {
    checkSerial(serial);
    checkWaitTimeout(timeoutMs);
    this.#check();
    this.#watch ??= new StoreWatch(this.region, H_PUB, this.name);
    return this.#watch.wait(serial, timeoutMs);
  }

  /**
   * waitForChange() that never blocks the event loop. Resolves with the new serial, or `undefined` after
   * `timeoutMs`.
   * @param signal aborts the wait: the promise rejects with the signal's reason.
   * @throws (rejects with) ShmError ERR_SHM_CLOSED when this handle is closed meanwhile or the store destroyed.
   */
  waitForChangeAsync(serial: number, timeoutMs?: number, signal?: AbortSignal): Promise<number | undefined> {
    try {
      checkSerial(serial);
      checkWaitTimeout(timeoutMs);
      checkSignal(signal);
      this.#check();
    } catch (e) {
      return Promise.reject(e);
    }
    this.#watch ??= new StoreWatch(this.region, H_PUB, this.name);
    return this.#watch.waitAsync(serial, timeoutMs, signal);
  }

  /**
   * An async iterator of the store's changes: `for await (const { serial, value } of store.changes()) ...`. It
   * coalesces: each step waits for a commit newer than the last one yielded and reads the value current then
   * (value and serial read together by one fetch), so a slow consumer gets the latest value, never an older one
   * after a newer one, never a torn one. Values are decoded with the store's serializer (`bytes: true`: the bytes).
   * It waits without blocking the event loop, ends when `return()` is called (`break`) or this handle is closed,
   * and throws ERR_SHM_CLOSED if the store is destroyed through another handle.
   */
  changes<T = unknown>(options?: ChangesOptions & { bytes?: false }): ChangeIterator<T | undefined>;
  changes(options: ChangesOptions & { bytes: true }): ChangeIterator<Uint8Array>;
  changes(options: ChangesOptions = {}): ChangeIterator<unknown> {
    if (typeof options !== 'object' || options === null)
      throw expected('an options object', 'options', options);
    if (options.since !== undefined) checkSerial(options.since, 'options.since');
    if (options.bytes !== undefined && typeof options.bytes !== 'boolean')
      throw expected('a boolean', 'options.bytes', options.bytes);
    this.#check();
    const bytes = options.bytes === true;
    return new ChangeIterator<unknown, Store>(
      () => this,
      (s): StoreChange<unknown> => readChange(s, bytes),
      options.since ?? this.serial,
    );
  }

  /** Size in bytes of the current value. */
  get length(): number {
    this.#check();
    return this.#io.length();
  }

  // ------------------------------------------------------------------ writing

  /**
   * Commits `bytes` as the new value (atomically: readers see the old or the new value, whole).
   * Blocks while another process writes; see storeAsync.
   * @param bytes a Uint8Array (or Buffer); any other ArrayBufferView (DataView, Uint16Array...) or an ArrayBuffer is
   *   stored as the exact bytes it covers. Anything else is a TypeError, and the current value stays.
   * @param serializer the serializer id recorded with the value (an integer from 0 to 2^32-1; 0: raw bytes).
   */
  store(bytes: Uint8Array | ArrayBufferView | ArrayBuffer, serializer = 0): number {
    const b = bytes instanceof Uint8Array ? bytes : checkBytes(bytes, 'bytes');
    // A u32 passes with two comparisons; anything else gets the full check (and its error).
    if (typeof serializer !== 'number' || serializer >>> 0 !== serializer) checkSerializerId(serializer);
    if (this.#closed) this.#check();
    if (b.length > this.#maxValue) this.#checkSize(b.byteLength);
    return this.#io.store(b, serializer);
  }

  /**
   * Commits `head` followed by `body` as one value, as store() would their concatenation, without joining them
   * first: what `Serializer.encodeView` gives (a tag and the caller's bytes, an encoder's reused buffer).
   * @param head the first part, a Uint8Array (or Buffer); TypeError for anything else, and the current value stays.
   * @param body the second part, a Uint8Array (or Buffer), likewise.
   * @param serializer the serializer id recorded with the value (as for store()).
   */
  storeParts(head: Uint8Array, body: Uint8Array, serializer = 0): number {
    if (!(head instanceof Uint8Array)) throw expected('a Uint8Array', 'head', head);
    if (!(body instanceof Uint8Array)) throw expected('a Uint8Array', 'body', body);
    if (typeof serializer !== 'number' || serializer >>> 0 !== serializer) checkSerializerId(serializer);
    if (this.#closed) this.#check();
    const len = head.length + body.length;
    if (len > this.#maxValue) this.#checkSize(len);
    return this.#io.store(body, serializer, head);
  }

  /** store() whose wait for the lock does not block the event loop. */
  async storeAsync(bytes: Uint8Array | ArrayBufferView | ArrayBuffer, serializer = 0): Promise<number> {
    const b = checkBytes(bytes, 'bytes');
    checkSerializerId(serializer);
    this.#check();
    this.#checkSize(b.byteLength);
    await this.lock.lockAsync();
    try {
      return this.#io.commit(b, serializer);
    } finally {
      this.lock.unlock();
    }
  }

  /** Encodes and commits under a lock the caller already holds (exclusive). */
  setValueLocked(value: unknown): number {
    const ser = this.#serializer;
    if (ser.encodeView === undefined) return this.storeLocked(ser.encode(value), this.#sid);
    const e = ser.encodeView(value);
    this.#check();
    if (!this.lock.holdsExclusive) {
      throw new ShmError('ERR_SHM_NOT_HELD', `${this.name}: setValueLocked needs the exclusive lock`, {
        target: this.name,
      });
    }
    this.#checkSize(e.head.byteLength + e.body.byteLength);
    return this.#io.commit(e.body, this.#sid, e.head);
  }

  /** Commits under a lock the caller already holds (exclusive): for read-modify-write sequences. */
  storeLocked(bytes: Uint8Array | ArrayBufferView | ArrayBuffer, serializer = 0): number {
    const b = checkBytes(bytes, 'bytes');
    checkSerializerId(serializer);
    this.#check();
    if (!this.lock.holdsExclusive) {
      throw new ShmError('ERR_SHM_NOT_HELD', `${this.name}: storeLocked needs the exclusive lock`, {
        target: this.name,
      });
    }
    this.#checkSize(b.byteLength);
    return this.#io.commit(b, serializer);
  }

  #checkSize(n: number) {
    if (n > this.#maxValue) {
      throw new ShmError(
        'ERR_SHM_TOO_LARGE',
        `${this.name}: a value of ${n} bytes does not fit; this store holds at most ${this.#maxValue} bytes`,
        { target: this.name },
      );
    }
  }

  // ------------------------------------------------------------------ reading

  /**
   * Copies the current value out. With `into`, copies into that buffer (no allocation) and returns the view of it
   * that holds the value; ERR_SHM_TOO_LARGE if it is too small. `info`, if given, receives the serial and
   * serializer id of the value read.
   */
  fetch(into?: Uint8Array, info?: FetchInfo): Uint8Array {
    if (into !== undefined && !(into instanceof Uint8Array)) checkInto(into);
    if (info !== undefined && (typeof info !== 'object' || info === null)) checkInfo(info);
    if (this.#closed) this.#check();
    return this.#io.fetch(into, info);
  }

  /**
   * The current value as a view of the shared memory itself, without copying it, for a handle that holds its
   * lock (shared or exclusive), so that no commit can change the bytes while it looks: a decoder can read the value
   * where it lies. Valid until that lock is released; copy what you keep (decoders do). Undefined when the value
   * lies in chained segments: fetch() it. `info`, if given, receives the serial and serializer id.
   * @throws ShmError ERR_SHM_NOT_HELD if this handle holds no lock; ERR_SHM_BAD_FORMAT if the current bank's
   *   descriptor does not hold up (checked as fetch() checks it).
   */
  viewLocked(info?: FetchInfo): Uint8Array | undefined {
    if (info !== undefined && (typeof info !== 'object' || info === null)) checkInfo(info);
    if (this.#closed) this.#check();
    return this.#io.viewLocked(info);
  }

  /** fetch() on a pool-friendly path: waits for the lock (if it has to) without blocking the event loop. */
  async fetchAsync(into?: Uint8Array, info?: FetchInfo): Promise<Uint8Array> {
    checkInto(into);
    checkInfo(info);
    this.#check();
    return this.#io.fetchAsync(into, info);
  }

  // ------------------------------------------------------------------ values

  /**
   * Encodes `value` with the store's serializer and commits it. A serializer with `encodeView` (raw, msgpack)
   * encodes into memory it reuses, or not at all for bytes, and the commit copies that once.
   */
  setValue(value: unknown): number {
    const ser = this.#serializer;
    if (ser.encodeView === undefined) return this.store(ser.encode(value), this.#sid);
    const e = ser.encodeView(value);
    // Nothing between here and the copy calls the serializer again: the views stay valid.
    return this.storeParts(e.head, e.body, this.#sid);
  }

  /** setValue() whose wait for the lock does not block the event loop. */
  async setValueAsync(value: unknown): Promise<number> {
    const bytes = this.#serializer.encode(value);
    return this.storeAsync(bytes, this.#sid);
  }

  /**
   * The current value, decoded. While no commit happens, repeated calls return the same decoded object without
   * copying or decoding (one atomic load): treat it as read-only.
   */
  getValue<T = unknown>(): T | undefined {
    this.#check();
    if (Atomics.load(this.#i32, H_PUB / 4) >>> 1 === this.#cacheSerial) {
      this.stats.cacheHits++;
      return this.#cacheValue as T;
    }
    const info: FetchInfo = { serial: 0, serializerId: 0 };
    let bytes: Uint8Array;
    for (;;) {
      // A length that does not hold up sizes nothing: fetch() then reports what is wrong.
      const len = this.#io.checkedLength();
      if (this.#scratch.byteLength < len)
        this.#scratch = new Uint8Array(Math.max(len, this.#scratch.byteLength * 2));
      try {
        bytes = this.fetch(this.#scratch, info);
        break;
      } catch (e) {
        // The value grew between the length probe and the copy: size up and read again.
        if (!(ShmError.isInstance(e) && e.code === 'ERR_SHM_TOO_LARGE')) throw e;
      }
    }
    if (info.serial === 0) return undefined; // never written
    if (info.serializerId !== this.#sid)
      throw serializerMismatchError(this.#sid, info.serializerId, { target: this.name });
    const value = this.#serializer.decode(bytes) as T;
    this.stats.decodes++;
    this.#cacheValue = value;
    this.#cacheSerial = info.serial;
    return value;
  }

  /** The id recorded with values written by setValue (pass it to storeLocked with bytes you encoded). */
  get serializerId(): number {
    return this.#sid;
  }

  /** The serializer used by setValue/getValue. */
  get serializer(): Serializer {
    return this.#serializer;
  }

  /**
   * Runs `fn` under the exclusive lock with the current value and commits what it returns (unless it returns
   * undefined, which keeps the value). An atomic read-modify-write across processes.
   */
  update<T>(fn: (current: T | undefined, info: { ownerDied: boolean }) => T | undefined): T | undefined {
    checkFunction(fn, 'fn');
    this.#check();
    const status = this.lock.lock();
    try {
      const cur = this.getValue<T>();
      const next = fn(cur, { ownerDied: status === LockStatus.OwnerDied });
      if (next !== undefined) this.#io.commit(this.#serializer.encode(next), this.#sid);
      return next;
    } finally {
      this.lock.unlock();
    }
  }

  // ------------------------------------------------------------------ lifecycle

  #check() {
    if (this.#closed) throw closedError(`Store ${this.name}`);
  }

  /** Describes the store: sizes, serial, segments, lock state. */
  debug(): {
    /** The head's id. */
    name: string;
    /** Where the memory comes from. */
    backend: Backend;
    /** The serial of the current value. */
    serial: number;
    /** Bytes of the current value. */
    length: number;
    /** The largest value the store can hold. */
    capacity: number;
    /** Bytes each inline bank in the head holds. */
    inlineCapacity: number;
    /** Chained segments of both banks: id (generation or shmid), size, and whether the current value uses it. */
    segments: { bank: number; id: number; size: number; used: boolean }[];
    /** The lock's state (see `RwLock.state()`). */
    lock: ReturnType<RwLock['state']>;
    /** This handle's read counters (see `stats`). */
    stats: Store['stats'];
    /**
     * Chained segments this handle maps now. At most the segments both bank descriptors name (2 x 28) once a read
     * or commit saw the value change, plus those of a read in progress: removed segments are unmapped then.
     */
    mappedSegments: number;
    /**
     * The head's waiters count: threads sleeping in waitForChange/changes() now, in every process (one a SIGKILL
     * ended while it waited stays counted: it only makes each commit pay a spare wake).
     */
    waiters: number;
  } {
    this.#check();
    const p = Atomics.load(this.#i32, H_PUB / 4);
    const segments = listSegments(new DataView(this.region.buffer), p);
    return {
      name: this.name,
      backend: this.#backend,
      serial: p >>> 1,
      length: this.length,
      capacity: this.capacity,
      inlineCapacity: this.#inline,
      segments,
      lock: this.lock.state(),
      stats: { ...this.stats },
      mappedSegments: this.#chain.segs.size,
      waiters: Atomics.load(this.#i32, H_WAITERS >> 2),
    };
  }

  /** Unmaps everything this handle mapped. The store stays for others (see destroy). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#watch?.close();
    this.lock.release();
    this.#chain.close();
    this.#closed = true;
    this.region.close();
  }

  /** Removes the store and all its segments from the system, then closes this handle. */
  destroy(): void {
    this.#check();
    this.lock.lock();
    try {
      if (this.#sysv) this.#chain.recoverPending();
      for (let bank = 0; bank < 2; bank++) this.#chain.trim(BANK0 + bank * BANK_BYTES, 0);
      if (this.#sysv) this.#chain.sweepOwnSegments();
      // Watchers elsewhere get ERR_SHM_CLOSED. Not on Windows: a section outlives destroy() while it is mapped, and
      // creating the name again adopts it in place.
      if (this.#backend !== 'win32') markDestroyed(this.region, H_PUB);
    } finally {
      this.lock.unlock();
    }
    this.close();
    Region.remove(this.region);
  }
}

/**
 * Removes the object of a registry entry, and its chained segments, if it is one of our stores; false if it is not
 * (then plain removal handles it). The `registry` namespace adds it on its first remove or cleanup
 * (registry-api.ts): importing this module registers nothing.
 */
export function removeStoreObjects(e: RegistryEntry): boolean {
  if (e.backend === 'memfd') return false;
  const where: StoreOptions =
    e.backend === 'sysv'
      ? { key: e.key ?? 0 }
      : e.backend === 'file'
        ? { path: e.id }
        : { backend: e.backend, name: e.id };
  let store: Store;
  try {
    store = Store.open({ ...where, register: false, pollMs: 5 });
  } catch {
    return false;
  }
  store.destroy();
  return true;
}
