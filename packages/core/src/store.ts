import { randomInt } from 'node:crypto';
import {
  checkFd,
  closedError,
  expected,
  isAlive,
  listSysv,
  processId,
  ShmError,
  shmget,
  shmRemove,
  shmStat,
  sysvFlags,
} from '@shm/native';
import { isExistsError, isNotFoundError } from './error-codes.js';
import { type Backend, Region, type RegionOptions } from './region.js';
import type { RegistryEntry } from './registry.js';
import { LOCK_BYTES, LockStatus, RwLock } from './rw-lock.js';
import type { Serializer } from './serializer.js';
import { getSerializer } from './serializers/get-serializer.js';
import { serializerId } from './serializers/serializer-id.js';
import { serializerMismatchError } from './serializers/serializer-mismatch-error.js';
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
  wakeWaiters,
} from './store-watch.js';
import {
  checkBytes,
  checkFunction,
  checkInfo,
  checkInto,
  checkSerializerId,
  checkStoreOptions,
} from './validate-args.js';
import { wordWait, wordWake } from './word-wait.js';

// Head segment layout (bytes). docs/architecture/store.md draws it.
const H_MAGIC = 0; // u32 'SHMS'
const H_VERSION = 4; // u16 format version, u16 flags
const H_DATA_OFFSET = 8; // u32 where the inline banks start
const H_INLINE = 12; // u32 inline capacity of each bank
const H_BACKEND = 16; // u32 backend code
const H_MAX_SEG = 20; // u32 largest chained segment
const H_PUB = 24; // i32 (serial << 1) | current bank: the one word a commit changes
const H_SEGGEN = 28; // u32 generation counter naming new chained segments
const H_CREATED = 32; // f64 ms since the epoch
const H_CREATOR = 40; // u32 creator pid
const H_STORE_ID = 44; // u32 random id, repeated in each chained segment's header
const H_STARVED = 48; // i32 readers that gave up copying optimistically and want a turn under the lock
// +52 i32 waiters sleeping on H_PUB, +56 u32 destroyed mark, +60 i32 their sleep claim: see store-watch.ts.
const BANK0 = 64; // two bank descriptors
const BANK_BYTES = 256;
const LOCK_OFFSET = BANK0 + 2 * BANK_BYTES; // 576, 64-aligned
const DATA_OFFSET = Math.ceil((LOCK_OFFSET + LOCK_BYTES) / 64) * 64; // 1664

// Bank descriptor (bytes from its start).
const D_LEN_LO = 0;
const D_LEN_HI = 4;
const D_SERIALIZER = 8; // u32 serializer id, 0 for raw bytes
const D_NSEGS = 12; // u32 segments the value uses (0: inline)
const D_ALLOC = 16; // u32 segment entries allocated (>= nsegs); the rest are kept for reuse
const D_SEQ = 20; // i32 odd while a writer is rewriting this bank: a reader that saw it change copies again
const D_PEND_PID = 24; // u32 SysV: pid of a writer between shmget() and recording the id (0: none)
const D_PEND_TIME = 28; // u32 SysV: when it started, seconds since the epoch (low 32 bits)
const D_SEGS = 32; // MAX_SEGS x { u32 gen (shmid for SysV), u32 size }
const MAX_SEGS = 28;

// Chained segment header.
const C_MAGIC = 0; // u32 'SHMC'
const C_STORE_ID = 4;
const C_GEN = 8;
const C_SIZE = 12;
const C_DATA = 64;

const STORE_MAGIC = 0x534d4853; // 'SHMS'
const CHAIN_MAGIC = 0x434d4853; // 'SHMC'
const FORMAT_VERSION = 1;
const BACKEND_CODES: Record<Backend, number> = { memfd: 1, posix: 2, file: 3, sysv: 4, win32: 5 };
const MIN_SEG = 64 * 1024;
const SERIAL_MASK = 0x3fffffff;
/** Readers retry an optimistic copy this many times before taking the shared lock to read. */
const OPTIMISTIC_TRIES = 64;
/** Above this many bytes, a reader overtaken twice takes the shared lock rather than copy again. */
const LARGE_READ = 16 * 1024;
/** Above this many bytes, an overtaken reader takes the shared lock at once (a copy costs milliseconds). */
const HUGE_READ = 4 * 1024 * 1024;
/** After a huge read was overtaken, this many more huge reads take the shared lock at once. */
const LOCKED_LARGE_RUN = 3;
/** Up to this many bytes, an inline value is copied into a caller's buffer by a word loop rather than set(). */
const SMALL_COPY = 256;
/** How long a writer holds back for a starved reader, at most (ms). */
const YIELD_MS = 2;
// Plain loads may pass an acquire load on weakly ordered CPUs: there the copy is fenced by an RMW.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new ShmError(
    'ERR_SHM_NOT_SUPPORTED',
    '@shm/core needs a little-endian CPU (its formats are little-endian)',
  );
}
const needsFence = process.arch !== 'x64' && process.arch !== 'ia32';
/**
 * Test hook (inert unless set): SHM_TEST_KILL_AFTER_SHMGET=1 makes a SysV writer SIGKILL itself right after shmget()
 * created a chained segment and before its id is recorded, the window store.md describes. Read once at load.
 */
const killAfterShmget = process.env.SHM_TEST_KILL_AFTER_SHMGET === '1';
const fenceWord = new Int32Array(1);
const NO_HEAD = new Uint8Array(0);

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

const headSize = (inline: number) => DATA_OFFSET + 2 * inline;

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
  readonly #opts: StoreOptions;
  readonly #dv: DataView;
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array; // header fields: the formats are little-endian, and so is every supported CPU
  readonly #bytes: Uint8Array;
  readonly #inline: number;
  readonly #maxSeg: number;
  readonly #maxValue: number;
  readonly #capacity: number;
  readonly #storeId: number;
  readonly #backend: Backend;
  readonly #sysv: boolean;
  readonly #serializer: Serializer;
  readonly #sid: number;
  readonly #segs = new Map<number, Region>();
  /** The pub word when #segs was last pruned to the segments the two descriptors name (see #pruneMappings). */
  #prunedAt = -1;
  #scratch: Uint8Array = new Uint8Array(0);
  #cacheSerial = -1;
  #cacheValue: unknown;
  #closed = false;
  /** The waiting side (store-watch.ts), made on the first wait. */
  #watch: StoreWatch | undefined;
  #lastLength = 0;
  /** Large reads still to do under the shared lock since writers overtook one (see fetch()). */
  #lockedLarge = 0;
  /** The view of the caller's buffer that the last fetch(into) returned: reused while `into` and length repeat. */
  #intoBuf: Uint8Array | undefined;
  #intoView: Uint8Array | undefined;
  /** `#intoBuf` as 32-bit words, when it is 4-byte aligned: small values are copied a word at a time. */
  #intoWords: Int32Array | undefined;
  /** The view viewLocked() returned last: reused while the bank and the length repeat. */
  #lockedView: Uint8Array | undefined;
  /** The inline banks start on 4-byte boundaries (a foreign head could say otherwise). */
  readonly #inlineAligned: boolean;
  /**
   * This handle's read counters (for tests and debug()): `decodes` (getValue decoded afresh), `cacheHits` (getValue
   * served the decoded copy), `retries` (optimistic copies overtaken by a writer), `lockedReads` (reads that fell
   * back to the shared lock).
   */
  readonly stats = { decodes: 0, cacheHits: 0, retries: 0, lockedReads: 0 };

  private constructor(region: Region, opts: StoreOptions) {
    this.region = region;
    this.#opts = opts;
    this.name = region.id;
    this.#bytes = region.bytes;
    this.#i32 = region.i32;
    this.#u32 = new Uint32Array(region.buffer, 0, DATA_OFFSET / 4);
    this.#dv = new DataView(region.buffer);
    const dv = this.#dv;
    this.#inline = dv.getUint32(H_INLINE, true);
    this.#maxSeg = dv.getUint32(H_MAX_SEG, true);
    this.#storeId = dv.getUint32(H_STORE_ID, true);
    const code = dv.getUint32(H_BACKEND, true);
    this.#backend =
      (Object.keys(BACKEND_CODES) as Backend[]).find((k) => BACKEND_CODES[k] === code) ?? region.backend;
    this.#sysv = this.#backend === 'sysv';
    this.#inlineAligned = (this.#inline & 3) === 0;
    this.#capacity =
      this.#backend === 'memfd' ? this.#inline : Math.max(this.#inline, MAX_SEGS * this.#maxSeg);
    this.#maxValue = Math.min(opts.maxValueSize ?? Number.MAX_SAFE_INTEGER, this.#capacity);
    this.lock = new RwLock(region, LOCK_OFFSET, {
      name: `store ${region.id}`,
      ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
    });
    this.#serializer = getSerializer(opts.serializer ?? 'v8');
    this.#sid = serializerId(this.#serializer);
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
      const dv = new DataView(region.buffer);
      dv.setUint32(H_DATA_OFFSET, DATA_OFFSET, true);
      dv.setUint32(H_INLINE, inline, true);
      dv.setUint32(H_BACKEND, BACKEND_CODES[region.backend], true);
      dv.setUint32(H_MAX_SEG, maxSeg, true);
      dv.setFloat64(H_CREATED, Date.now(), true);
      dv.setUint32(H_CREATOR, processId(), true);
      dv.setUint32(H_STORE_ID, randomInt(1, 2 ** 32 - 1), true);
      dv.setUint16(H_VERSION, FORMAT_VERSION, true);
      RwLock.init(region, LOCK_OFFSET);
      // Published last: an opener that sees the magic sees a complete header.
      Atomics.store(region.i32, H_MAGIC / 4, STORE_MAGIC | 0);
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
    for (;;) {
      const p = Atomics.load(this.#i32, H_PUB / 4);
      const len = this.#descLength(p & 1);
      if (Atomics.load(this.#i32, H_PUB / 4) === p) return len;
    }
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
    if (serializer !== 0) checkSerializerId(serializer);
    if (this.#closed) this.#check();
    if (b.byteLength > this.#maxValue) this.#checkSize(b.byteLength);
    // A plain load: a hint, read once per store (a starved reader raised it and waits for the lock anyway).
    if (this.#i32[H_STARVED >> 2] !== 0) this.#yieldToReaders();
    this.lock.lock();
    try {
      return this.#commit(b, serializer);
    } finally {
      this.lock.unlock();
    }
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
    if (serializer !== 0) checkSerializerId(serializer);
    if (this.#closed) this.#check();
    const len = head.byteLength + body.byteLength;
    if (len > this.#maxValue) this.#checkSize(len);
    if (this.#i32[H_STARVED >> 2] !== 0) this.#yieldToReaders();
    this.lock.lock();
    try {
      return this.#commit(body, serializer, head);
    } finally {
      this.lock.unlock();
    }
  }

  /** store() whose wait for the lock does not block the event loop. */
  async storeAsync(bytes: Uint8Array | ArrayBufferView | ArrayBuffer, serializer = 0): Promise<number> {
    const b = checkBytes(bytes, 'bytes');
    checkSerializerId(serializer);
    this.#check();
    this.#checkSize(b.byteLength);
    await this.lock.lockAsync();
    try {
      return this.#commit(b, serializer);
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
    return this.#commit(e.body, this.#sid, e.head);
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
    return this.#commit(b, serializer);
  }

  /** A starved reader asked for a turn: wait until it had it, at most YIELD_MS (a dead reader cannot stall us). */
  #yieldToReaders() {
    const deadline = performance.now() + YIELD_MS;
    for (;;) {
      const v = Atomics.load(this.#i32, H_STARVED >> 2);
      const left = deadline - performance.now();
      if (v === 0 || left <= 0) return;
      wordWait(this.region, H_STARVED, v, left);
    }
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

  /** Writes `head` then `bytes` into the bank that is not current and publishes it (the caller holds the lock). */
  #commit(bytes: Uint8Array, serializer: number, head: Uint8Array = NO_HEAD): number {
    const i32 = this.#i32;
    const u32 = this.#u32;
    // Plain loads of pub and of the bank's sequence: only a holder of the exclusive lock writes them, so under it
    // they hold what the last holder wrote, which the lock's acquiring exchange made visible (an Atomics.load costs
    // ~8 ns here, a plain one nothing).
    const p = i32[H_PUB >> 2]!;
    const next = (p & 1) ^ 1;
    const d = BANK0 + next * BANK_BYTES;
    const w = d >> 2;
    const hl = head.byteLength;
    const len = hl + bytes.byteLength;
    if (this.#sysv && (u32[(BANK0 + D_PEND_PID) >> 2]! | u32[(BANK0 + BANK_BYTES + D_PEND_PID) >> 2]!) !== 0)
      this.#recoverPending();
    if (this.#segs.size !== 0 && p !== this.#prunedAt) this.#pruneMappings(p);
    const seq = i32[w + (D_SEQ >> 2)]!;
    // odd: readers of this bank (from two commits ago) retry. On x86 a plain store is enough: stores become
    // visible in program order (TSO), so a reader that sees any byte below sees this first; the exchange that
    // Atomics.store compiles to costs ~16 ns, a third of a small store's time. Weaker CPUs keep the fence.
    if (needsFence) Atomics.store(i32, w + (D_SEQ >> 2), (seq | 1) + 2);
    else i32[w + (D_SEQ >> 2)] = (seq | 1) + 2;
    let nsegs = 0;
    if (len <= this.#inline) {
      const at = DATA_OFFSET + next * this.#inline;
      if (hl === 1) this.#bytes[at] = head[0]!;
      else if (hl !== 0) this.#bytes.set(head, at);
      this.#bytes.set(bytes, at + hl);
      if (u32[w + (D_ALLOC >> 2)] !== 0) this.#trimSegments(d, 0);
    } else {
      nsegs = this.#writeChain(d, head, bytes);
    }
    u32[w + (D_LEN_LO >> 2)] = len >>> 0;
    u32[w + (D_LEN_HI >> 2)] = len > 0xffffffff ? Math.floor(len / 2 ** 32) : 0;
    u32[w + (D_SERIALIZER >> 2)] = serializer >>> 0;
    u32[w + (D_NSEGS >> 2)] = nsegs;
    const serial = ((p >>> 1) + 1) & SERIAL_MASK || 1; // 0 means "never written"
    if (needsFence)
      Atomics.store(i32, w + (D_SEQ >> 2), (seq | 1) + 3); // even again: the bank is whole
    // x86 (see above): visible after everything before it; the pub store below is the fence that publishes both.
    else i32[w + (D_SEQ >> 2)] = (seq | 1) + 3;
    // Atomic on every CPU: a full fence between publishing and reading the waiters word. With a plain store the
    // waiters load could pass it (x86 store buffer), and a watcher that counted itself in meanwhile would sleep
    // through this change: the two sides are a Dekker pair (the watcher's increment is a locked add).
    Atomics.store(i32, H_PUB >> 2, (serial << 1) | next);
    if (Atomics.load(i32, H_WAITERS >> 2) !== 0) wakeWaiters(this.region, H_PUB); // none: no syscall
    // This handle's mappings are exact now: pruned above, and this commit closed what it dropped.
    this.#prunedAt = (serial << 1) | next;
    return serial;
  }

  /** Writes `head` then `bytes` across chained segments of descriptor `d`, reusing, adding or dropping segments. */
  #writeChain(d: number, head: Uint8Array, bytes: Uint8Array): number {
    const dv = this.#dv;
    let alloc = Math.min(dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
    let off = 0;
    let j = 0;
    const hl = head.byteLength;
    const len = hl + bytes.byteLength;
    while (off < len) {
      if (j >= MAX_SEGS)
        throw new ShmError('ERR_SHM_TOO_LARGE', `${this.name}: value needs more than ${MAX_SEGS} segments`);
      const left = len - off;
      let seg: Region | undefined;
      if (j < alloc) {
        const gen = dv.getUint32(d + D_SEGS + 8 * j, true);
        const size = dv.getUint32(d + D_SEGS + 8 * j + 4, true);
        // Keep an existing segment unless it is far too big for what is left (then it is replaced).
        const tooBig = size > MIN_SEG && size - C_DATA >= 4 * left && j === alloc - 1;
        if (!tooBig) seg = this.#segment(gen, size, true);
        if (!seg) {
          this.#dropSegments(d, j, alloc);
          alloc = j;
        }
      }
      if (!seg) {
        const size = Math.min(this.#maxSeg, Math.max(MIN_SEG, nextPow2(left + C_DATA)));
        seg = this.#newSegment(d, j, size);
        alloc = j + 1;
      }
      const room = seg.size - C_DATA;
      const n = Math.min(room, left);
      let at = C_DATA;
      let from = off;
      if (from < hl) {
        // The head (a tag, a few bytes) goes first: into the first segment, which holds at least 64 KiB.
        const h = Math.min(hl - from, n);
        seg.bytes.set(h === hl ? head : head.subarray(from, from + h), at);
        at += h;
        from += h;
      }
      const m = off + n - from;
      const b = from - hl;
      if (m > 0) seg.bytes.set(b === 0 && m === bytes.byteLength ? bytes : bytes.subarray(b, b + m), at);
      off += n;
      j++;
    }
    // Segments past what this value needs are released at once.
    if (alloc > j) this.#trimSegments(d, j);
    return j;
  }

  #newSegment(d: number, j: number, size: number): Region {
    const dv = this.#dv;
    let gen: number;
    let region: Region;
    if (this.#sysv) {
      // A private segment has no name to record beforehand, so the intent is recorded instead: this pid and the
      // time. A writer killed between shmget() returning and the id being recorded leaves them, and the next
      // writer removes the blank segment that pid created (#recoverPending; docs/architecture/store.md).
      const pend = (d + D_PEND_PID) >> 2;
      this.#u32[(d + D_PEND_TIME) >> 2] = Math.floor(Date.now() / 1000) >>> 0;
      Atomics.store(this.#i32, pend, processId());
      try {
        gen = shmget(0, size, sysvFlags({ create: true, exclusive: true, mode: this.#opts.mode ?? 0o600 }));
      } catch (e) {
        Atomics.store(this.#i32, pend, 0);
        throw e;
      }
      if (killAfterShmget) process.kill(process.pid, 'SIGKILL');
      dv.setUint32(d + D_SEGS + 8 * j, gen, true);
      dv.setUint32(d + D_SEGS + 8 * j + 4, size, true);
      dv.setUint32(d + D_ALLOC, j + 1, true);
      Atomics.store(this.#i32, pend, 0);
      region = Region.open({ backend: 'sysv', shmid: gen, register: false });
    } else {
      gen = (dv.getUint32(H_SEGGEN, true) + 1) >>> 0;
      dv.setUint32(H_SEGGEN, gen, true);
      // Recorded before creation: a writer that dies between the two leaves a name the next writer cleans up.
      dv.setUint32(d + D_SEGS + 8 * j, gen, true);
      dv.setUint32(d + D_SEGS + 8 * j + 4, size, true);
      dv.setUint32(d + D_ALLOC, j + 1, true);
      const o = this.#segOptions(gen);
      try {
        region = Region.create({ ...o, size, exclusive: true, register: false, populate: true });
      } catch (e) {
        if (!isExistsError(e)) throw e;
        // Left by a writer that died: it was never part of a committed value. (A Windows section cannot be
        // removed, but one left by a dead writer is gone already unless a reader still maps it.)
        Region.remove(o);
        region = Region.create({ ...o, size, exclusive: true, register: false, populate: true });
      }
    }
    const sdv = new DataView(region.buffer);
    sdv.setUint32(C_STORE_ID, this.#storeId, true);
    sdv.setUint32(C_GEN, gen, true);
    sdv.setUint32(C_SIZE, size, true);
    sdv.setUint32(C_MAGIC, CHAIN_MAGIC, true);
    dv.setUint32(d + D_SEGS + 8 * j, gen, true);
    dv.setUint32(d + D_SEGS + 8 * j + 4, size, true);
    dv.setUint32(d + D_ALLOC, j + 1, true);
    this.#segs.set(gen, region);
    return region;
  }

  /**
   * Holding the exclusive lock: a SysV writer died between shmget() and recording the id (its intent is still in a
   * descriptor). Removes the segment it created: private, created by that (dead) pid no earlier than the intent,
   * unattached, its header still blank, and named by no descriptor. Then clears the intent.
   */
  #recoverPending(): void {
    const u32 = this.#u32;
    for (let bank = 0; bank < 2; bank++) {
      const d = BANK0 + bank * BANK_BYTES;
      const pid = u32[(d + D_PEND_PID) >> 2]!;
      if (pid === 0) continue;
      const since = u32[(d + D_PEND_TIME) >> 2]!;
      // A live pid (ours: a thread of this process; or another, reused) proves nothing: leave its segments alone.
      if (pid <= 0x3fffffff && pid !== processId() && !isAlive(pid)) {
        for (const e of listSysv()) {
          if (e.kind !== 'shm' || e.key !== 0 || e.cpid !== pid || e.nattch !== 0 || this.#named(e.id))
            continue;
          if (this.#blankOrphan(e.id, pid, since)) {
            try {
              shmRemove(e.id);
            } catch {
              /* gone meanwhile */
            }
          }
        }
      }
      Atomics.store(this.#i32, (d + D_PEND_PID) >> 2, 0);
    }
  }

  /** Whether SysV segment `id` is the blank one a writer (pid `pid`, intent at `since` s) left before recording it. */
  #blankOrphan(id: number, pid: number, since: number): boolean {
    let st: ReturnType<typeof shmStat>;
    try {
      st = shmStat(id);
      if (st.key !== 0 || st.cpid !== pid || st.nattch !== 0 || st.ctime + 1 < since) return false;
      if (st.size < MIN_SEG || st.size > this.#maxSeg) return false;
    } catch {
      return false;
    }
    const h = sysvChainHeader(id);
    return h !== undefined && h.magic === 0 && h.storeId === 0;
  }

  /**
   * destroy(), holding the exclusive lock, after the descriptors' segments are gone: removes every other private
   * segment whose header carries this store's id (the first word a writer writes). No descriptor names one any
   * more, but a writer killed at the wrong instant can leave one that no descriptor ever named or that a later
   * commit forgot; the store is going away, so each of them is garbage. A blank header (no id yet) is left to the
   * intent protocol (#recoverPending): it cannot be told apart from someone else's segment.
   */
  #sweepOwnSegments(): void {
    for (const seg of this.#segs.values()) seg.close();
    this.#segs.clear();
    for (const e of listSysv()) {
      if (e.kind !== 'shm' || e.key !== 0 || e.nattch !== 0) continue;
      if (e.size < MIN_SEG || e.size > this.#maxSeg) continue;
      const h = sysvChainHeader(e.id); // undefined: gone meanwhile, or not ours to read
      if (h === undefined || (h.magic !== CHAIN_MAGIC && h.magic !== 0) || h.storeId !== this.#storeId)
        continue;
      try {
        shmRemove(e.id);
      } catch {
        /* gone meanwhile */
      }
    }
  }

  /** Whether either bank descriptor names segment `gen` (a generation, or a SysV shmid) among its allocated entries. */
  #named(gen: number): boolean {
    const u32 = this.#u32;
    for (let bank = 0; bank < 2; bank++) {
      const d = BANK0 + bank * BANK_BYTES;
      const alloc = Math.min(u32[(d + D_ALLOC) >> 2]!, MAX_SEGS);
      for (let j = 0; j < alloc; j++) if (u32[(d + D_SEGS + 8 * j) >> 2] === gen) return true;
    }
    return false;
  }

  /**
   * Unmaps the chained segments neither bank descriptor names any more (removed by another process's commits), so
   * that a handle maps at most the 2 x 28 segments the descriptors can name. Called when a read or a commit finds
   * the pub word changed since the last prune: one scan of both descriptors, only when the value changed.
   */
  #pruneMappings(p: number): void {
    this.#prunedAt = p;
    for (const [gen, seg] of this.#segs) {
      if (this.#named(gen)) continue;
      seg.close();
      this.#segs.delete(gen);
    }
  }

  #segOptions(gen: number): RegionOptions {
    const base = this.region.name!;
    if (this.#backend === 'posix') return { backend: 'posix', name: `${base}.${gen}` };
    if (this.#backend === 'file') return { backend: 'file', path: `${base}.${gen}` };
    // Windows: a segment another process must open needs a name (there is no private id as with SysV).
    if (this.#backend === 'win32') return { backend: 'win32', name: `${base}.seg${gen}` };
    return { backend: 'sysv', shmid: gen };
  }

  /** Drops segment entries [from, alloc) of descriptor d, keeping up to one spare of modest size. */
  #trimSegments(d: number, keep: number) {
    const alloc = Math.min(this.#dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
    if (alloc > keep) this.#dropSegments(d, keep, alloc);
  }

  #dropSegments(d: number, from: number, alloc: number) {
    const dv = this.#dv;
    // Remove first, then shorten the list: a writer killed in between leaves entries naming removed segments,
    // which the next writer skips (ENOENT), never segments that no entry names (a leak).
    for (let j = from; j < alloc; j++) {
      const gen = dv.getUint32(d + D_SEGS + 8 * j, true);
      const cached = this.#segs.get(gen);
      if (cached) {
        cached.close();
        this.#segs.delete(gen);
      }
      if (!this.#removable(gen, dv.getUint32(d + D_SEGS + 8 * j + 4, true))) continue;
      try {
        Region.remove(this.#segOptions(gen));
      } catch {
        /* already gone */
      }
    }
    dv.setUint32(d + D_ALLOC, from, true);
  }

  /**
   * Whether the segment a descriptor entry names may be removed. The entry comes from shared memory: a named
   * segment is derived from this store's own name, but a SysV id could be any segment of the user's, and an
   * anonymous store has no chained segments at all (an entry there is corruption, and names nothing of ours).
   */
  #removable(gen: number, size: number): boolean {
    if (this.#backend === 'memfd') return false;
    if (this.#backend !== 'sysv') return true;
    let st: ReturnType<typeof shmStat>;
    try {
      st = shmStat(gen);
      if (st.key !== 0) return false; // ours are private
    } catch {
      return false;
    }
    const h = sysvChainHeader(gen);
    if (h === undefined) return false;
    if (h.magic === CHAIN_MAGIC) return h.storeId === this.#storeId && h.gen === gen;
    // A writer killed between shmget() and the end of the header (the magic is written last) left it blank or
    // part-written: each field still zero or already this store's. Unattached, its creator dead.
    return (
      h.magic === 0 &&
      (h.storeId === 0 || h.storeId === this.#storeId) &&
      (h.gen === 0 || h.gen === gen) &&
      (h.size === 0 || h.size === size) &&
      st.size === size &&
      st.nattch === 0 &&
      !isAlive(st.cpid)
    );
  }

  /** Maps (or returns the cached mapping of) chained segment `gen`, checking it belongs to this store. */
  #segment(gen: number, size: number, forWrite: boolean): Region | undefined {
    const cached = this.#segs.get(gen);
    if (cached && cached.size === size) return cached;
    if (cached) {
      cached.close();
      this.#segs.delete(gen);
    }
    if (size < MIN_SEG || size > this.#maxSeg) return undefined;
    let region: Region;
    try {
      region = Region.open({ ...this.#segOptions(gen), populate: !forWrite });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (isNotFoundError(e) || code === 'EINVAL' || code === 'EIDRM' || code === 'ERR_SHM_BAD_FORMAT')
        return undefined;
      throw e;
    }
    const dv = new DataView(region.buffer);
    if (
      region.size !== size ||
      dv.getUint32(C_MAGIC, true) !== CHAIN_MAGIC ||
      dv.getUint32(C_STORE_ID, true) !== this.#storeId ||
      dv.getUint32(C_GEN, true) !== gen ||
      dv.getUint32(C_SIZE, true) !== size
    ) {
      region.close();
      return undefined;
    }
    this.#segs.set(gen, region);
    return region;
  }

  // ------------------------------------------------------------------ reading

  #descLength(bank: number): number {
    const d = BANK0 + bank * BANK_BYTES;
    return this.#dv.getUint32(d + D_LEN_LO, true) + this.#dv.getUint32(d + D_LEN_HI, true) * 2 ** 32;
  }

  /**
   * Copies the current value out. With `into`, copies into that buffer (no allocation) and returns the view of it
   * that holds the value; ERR_SHM_TOO_LARGE if it is too small. `info`, if given, receives the serial and
   * serializer id of the value read.
   */
  fetch(into?: Uint8Array, info?: FetchInfo): Uint8Array {
    if (into !== undefined && !(into instanceof Uint8Array)) checkInto(into);
    if (info !== undefined && (typeof info !== 'object' || info === null)) checkInfo(info);
    if (this.#closed) this.#check();
    if (this.#lockedLarge > 0 && this.#lastLength > HUGE_READ) {
      // Writers overtook a recent large read: the next few go straight to the lock rather than copy in vain.
      this.#lockedLarge--;
    } else {
      for (let attempt = 0; attempt < OPTIMISTIC_TRIES; attempt++) {
        const r = this.#tryRead(into, info);
        if (r !== undefined) return r;
        this.stats.retries++;
        // A large copy that a writer overtook will likely be overtaken again: wait for the lock instead (a huge
        // one at once, and the next few too, since each wasted copy costs milliseconds).
        if (this.#lastLength > HUGE_READ) {
          this.#lockedLarge = LOCKED_LARGE_RUN;
          break;
        }
        if (this.#lastLength > LARGE_READ && attempt >= 1) break;
      }
    }
    // Writers keep overtaking: read under the shared lock, where no commit can happen. Raising H_STARVED makes
    // the next writers hold back (briefly) so that this reader gets its turn.
    this.stats.lockedReads++;
    const i32 = this.#i32;
    Atomics.add(i32, H_STARVED >> 2, 1);
    try {
      this.lock.lockShared();
      try {
        const r = this.#tryRead(into, info);
        if (r === undefined) throw this.#formatError('the current value is inconsistent even under the lock');
        return r;
      } finally {
        this.lock.unlockShared();
      }
    } finally {
      Atomics.sub(i32, H_STARVED >> 2, 1);
      wordWake(this.region, H_STARVED);
    }
  }

  /**
   * One optimistic read of the current bank; undefined if a writer rewrote that bank meanwhile. A commit
   * writes the other bank, so a reader only retries when two commits land during its copy.
   */
  #tryRead(into: Uint8Array | undefined, info: FetchInfo | undefined): Uint8Array | undefined {
    const i32 = this.#i32;
    const u32 = this.#u32;
    const p = Atomics.load(i32, H_PUB >> 2);
    const bank = p & 1;
    const d = BANK0 + bank * BANK_BYTES;
    const w = d >> 2;
    const seqIndex = w + (D_SEQ >> 2);
    const seq = Atomics.load(i32, seqIndex);
    if ((seq & 1) !== 0) return undefined;
    // Still published after the sequence was read: else two commits may have passed since `p` was read, and this
    // bank may hold a newer value than `p` says, or one written but never published (store.md, "Fetch").
    if (Atomics.load(i32, H_PUB >> 2) !== p) return undefined;
    const dv = this.#dv;
    const len = u32[w + (D_LEN_LO >> 2)]! + u32[w + (D_LEN_HI >> 2)]! * 2 ** 32;
    this.#lastLength = len;
    const nsegs = u32[w + (D_NSEGS >> 2)]!;
    const sid = u32[w + (D_SERIALIZER >> 2)]!;
    // Checked before anything is allocated: a corrupt length must not size a buffer.
    const bad = this.#descError(d, bank, len, nsegs);
    if (bad !== undefined) {
      if (Atomics.load(i32, seqIndex) !== seq) return undefined;
      throw bad;
    }
    let out: Uint8Array;
    let outWords: Int32Array | undefined;
    if (into) {
      if (into.byteLength < len) {
        if (Atomics.load(i32, seqIndex) !== seq) return undefined;
        throw new ShmError(
          'ERR_SHM_TOO_LARGE',
          `${this.name}: the value has ${len} bytes but the buffer given to fetch() holds ${into.byteLength}`,
          { target: this.name },
        );
      }
      if (this.#intoBuf !== into) this.#adoptInto(into);
      outWords = this.#intoWords;
      if (len === into.byteLength) out = into;
      else {
        const v = this.#intoView;
        if (v !== undefined && v.byteLength === len) out = v;
        else out = this.#intoView = into.subarray(0, len);
      }
    } else {
      out = Buffer.allocUnsafe(len);
    }
    if (nsegs === 0) {
      const start = DATA_OFFSET + bank * this.#inline;
      const src = this.#bytes;
      if (outWords !== undefined && len <= SMALL_COPY && this.#inlineAligned && outWords.length >= len >> 2) {
        // Small values into a caller's (aligned) buffer: a word loop, with no view to create, is the fastest copy.
        const n = len >> 2;
        const s = start >> 2;
        for (let i = 0; i < n; i++) outWords[i] = i32[s + i]!;
        for (let i = n << 2; i < len; i++) out[i] = src[start + i]!;
      } else if (len <= 16) {
        for (let i = 0; i < len; i++) out[i] = src[start + i]!;
      } else {
        out.set(src.subarray(start, start + len));
      }
    } else {
      let off = 0;
      for (let j = 0; j < nsegs && off < len; j++) {
        const gen = dv.getUint32(d + D_SEGS + 8 * j, true);
        const size = dv.getUint32(d + D_SEGS + 8 * j + 4, true);
        const seg = this.#segment(gen, size, false);
        if (!seg) {
          if (Atomics.load(i32, seqIndex) !== seq) return undefined;
          throw this.#missingSegment(j, gen);
        }
        const n = Math.min(size - C_DATA, len - off);
        out.set(seg.bytes.subarray(C_DATA, C_DATA + n), off);
        off += n;
      }
      if (off < len) {
        if (Atomics.load(i32, seqIndex) !== seq) return undefined;
        throw this.#formatError(`the chain holds ${off} of the ${len} bytes it should`);
      }
    }
    if (needsFence) Atomics.exchange(fenceWord, 0, 0);
    if (Atomics.load(i32, seqIndex) !== seq) return undefined;
    if (this.#segs.size !== 0 && p !== this.#prunedAt) this.#pruneMappings(p);
    if (info) {
      info.serial = p >>> 1;
      info.serializerId = sid;
    }
    return out;
  }

  /**
   * Why bank `bank` (descriptor at `d`) cannot describe a value of `len` bytes in `nsegs` chained segments, or
   * undefined if it can: limits first, then the chain itself (mapped and checked, so its room is known).
   */
  #descError(d: number, bank: number, len: number, nsegs: number): ShmError | undefined {
    if (
      len > this.#capacity ||
      nsegs > MAX_SEGS ||
      (nsegs === 0 && len > this.#inline) ||
      (nsegs > 0 && len <= this.#inline)
    ) {
      return this.#formatError(`bank ${bank} describes ${len} bytes in ${nsegs} segments`);
    }
    if (nsegs === 0) return undefined;
    const dv = this.#dv;
    let room = 0;
    for (let j = 0; j < nsegs && room < len; j++) {
      const gen = dv.getUint32(d + D_SEGS + 8 * j, true);
      const seg = this.#segment(gen, dv.getUint32(d + D_SEGS + 8 * j + 4, true), false);
      if (!seg) return this.#missingSegment(j, gen);
      room += seg.size - C_DATA;
    }
    return room < len
      ? this.#formatError(`the chain holds ${room} of the ${len} bytes it should`)
      : undefined;
  }

  /** The current value's length if its bank holds up (see #descError), else 0: getValue() sizes its buffer by it. */
  #checkedLength(): number {
    const p = Atomics.load(this.#i32, H_PUB >> 2);
    const bank = p & 1;
    const d = BANK0 + bank * BANK_BYTES;
    const len = this.#descLength(bank);
    return this.#descError(d, bank, len, this.#u32[(d + D_NSEGS) >> 2]!) === undefined ? len : 0;
  }

  #adoptInto(into: Uint8Array) {
    this.#intoBuf = into;
    this.#intoView = undefined;
    this.#intoWords =
      (into.byteOffset & 3) === 0 && into.byteLength >= 4
        ? new Int32Array(into.buffer, into.byteOffset, into.byteLength >> 2)
        : undefined;
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
    const lock = this.lock;
    if (!lock.holdsShared && !lock.holdsExclusive) {
      throw new ShmError(
        'ERR_SHM_NOT_HELD',
        `${this.name}: viewLocked needs this handle's lock (shared or exclusive)`,
        {
          target: this.name,
        },
      );
    }
    const u32 = this.#u32;
    const p = Atomics.load(this.#i32, H_PUB >> 2);
    const bank = p & 1;
    const d = BANK0 + bank * BANK_BYTES;
    const w = d >> 2;
    const len = u32[w + (D_LEN_LO >> 2)]! + u32[w + (D_LEN_HI >> 2)]! * 2 ** 32;
    const nsegs = u32[w + (D_NSEGS >> 2)]!;
    const bad = this.#descError(d, bank, len, nsegs);
    if (bad !== undefined) throw bad;
    if (this.#segs.size !== 0 && p !== this.#prunedAt) this.#pruneMappings(p);
    if (info) {
      info.serial = p >>> 1;
      info.serializerId = u32[w + (D_SERIALIZER >> 2)]!;
    }
    if (nsegs !== 0) return undefined;
    const start = DATA_OFFSET + bank * this.#inline;
    const v = this.#lockedView;
    if (v !== undefined && v.byteOffset === start && v.byteLength === len) return v;
    return (this.#lockedView = this.#bytes.subarray(start, start + len));
  }

  /** fetch() on a pool-friendly path: waits for the lock (if it has to) without blocking the event loop. */
  async fetchAsync(into?: Uint8Array, info?: FetchInfo): Promise<Uint8Array> {
    checkInto(into);
    checkInfo(info);
    this.#check();
    for (let attempt = 0; attempt < OPTIMISTIC_TRIES; attempt++) {
      const r = this.#tryRead(into, info);
      if (r !== undefined) return r;
    }
    await this.lock.lockSharedAsync();
    try {
      const r = this.#tryRead(into, info);
      if (r === undefined) throw this.#formatError('the current value is inconsistent even under the lock');
      return r;
    } finally {
      this.lock.unlockShared();
    }
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
      const len = this.#checkedLength();
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
      if (next !== undefined) this.#commit(this.#serializer.encode(next), this.#sid);
      return next;
    } finally {
      this.lock.unlock();
    }
  }

  // ------------------------------------------------------------------ lifecycle

  #check() {
    if (this.#closed) throw closedError(`Store ${this.name}`);
  }

  #missingSegment(j: number, gen: number): ShmError {
    if (this.#backend === 'win32') {
      // Not corruption: a pagefile-backed section vanishes when the last process mapping it closes it.
      return new ShmError(
        'ERR_SHM_NOT_FOUND',
        `${this.name}: chained segment ${j} (${this.region.name}.seg${gen}) of the current value is gone: on Windows a segment lives only while a process maps it, and every process that did closed it before this one read the value (use a file-backed store, or a larger inlineCapacity, for values that must outlive their writer)`,
        { target: this.name },
      );
    }
    return this.#formatError(`chained segment ${j} (id ${gen}) is missing or is not part of this store`);
  }

  #formatError(what: string): ShmError {
    return new ShmError('ERR_SHM_BAD_FORMAT', `${this.name}: corrupt store: ${what}`, { target: this.name });
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
    const dv = this.#dv;
    const p = Atomics.load(this.#i32, H_PUB / 4);
    const segments = [];
    for (let bank = 0; bank < 2; bank++) {
      const d = BANK0 + bank * BANK_BYTES;
      const alloc = Math.min(dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
      const used = bank === (p & 1) ? dv.getUint32(d + D_NSEGS, true) : 0;
      for (let j = 0; j < alloc; j++) {
        segments.push({
          bank,
          id: dv.getUint32(d + D_SEGS + 8 * j, true),
          size: dv.getUint32(d + D_SEGS + 8 * j + 4, true),
          used: j < used,
        });
      }
    }
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
      mappedSegments: this.#segs.size,
      waiters: Atomics.load(this.#i32, H_WAITERS >> 2),
    };
  }

  /** Unmaps everything this handle mapped. The store stays for others (see destroy). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#watch?.close();
    this.lock.release();
    for (const s of this.#segs.values()) s.close();
    this.#segs.clear();
    this.#closed = true;
    this.region.close();
  }

  /** Removes the store and all its segments from the system, then closes this handle. */
  destroy(): void {
    this.#check();
    this.lock.lock();
    try {
      if (this.#sysv) this.#recoverPending();
      for (let bank = 0; bank < 2; bank++) this.#trimSegments(BANK0 + bank * BANK_BYTES, 0);
      if (this.#sysv) this.#sweepOwnSegments();
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
 * The chained-segment header of SysV segment `shmid`, read through a read-only attach that is detached at once;
 * undefined if it cannot be attached (gone, not ours to read) or is smaller than a header. Its words come from
 * shared memory: callers check them.
 */
function sysvChainHeader(
  shmid: number,
): { magic: number; storeId: number; gen: number; size: number } | undefined {
  let seg: Region;
  try {
    seg = Region.open({ backend: 'sysv', shmid, readonly: true, register: false });
  } catch {
    return undefined;
  }
  try {
    if (seg.size < C_DATA) return undefined;
    const dv = new DataView(seg.buffer);
    return {
      magic: dv.getUint32(C_MAGIC, true),
      storeId: dv.getUint32(C_STORE_ID, true),
      gen: dv.getUint32(C_GEN, true),
      size: dv.getUint32(C_SIZE, true),
    };
  } finally {
    seg.close();
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

/** Checks that a mapped head is one of our stores, bounds included, waiting briefly for a creator to finish. */
function validateHead(region: Region): void {
  const bad = (what: string) =>
    new ShmError('ERR_SHM_BAD_FORMAT', `${region.id} is not an @shm store: ${what}`, { target: region.id });
  if (region.size < DATA_OFFSET) throw bad(`it has ${region.size} bytes, less than a store header`);
  let magic = Atomics.load(region.i32, H_MAGIC / 4);
  for (let i = 0; magic === 0 && i < 200; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    magic = Atomics.load(region.i32, H_MAGIC / 4);
  }
  if (magic !== (STORE_MAGIC | 0)) throw bad(`bad magic 0x${(magic >>> 0).toString(16)}`);
  const dv = new DataView(region.buffer);
  const version = dv.getUint16(H_VERSION, true);
  if (version !== FORMAT_VERSION)
    throw bad(`format version ${version}, this library reads ${FORMAT_VERSION}`);
  if (dv.getUint32(H_DATA_OFFSET, true) !== DATA_OFFSET) throw bad('unexpected data offset');
  const inline = dv.getUint32(H_INLINE, true);
  if (headSize(inline) > region.size)
    throw bad(`inline capacity ${inline} does not fit in ${region.size} bytes`);
  const maxSeg = dv.getUint32(H_MAX_SEG, true);
  if (maxSeg < MIN_SEG) throw bad(`segment size ${maxSeg}`);
}

function inlineFor(opts: StoreOptions): number {
  const backend =
    opts.backend ?? (opts.key !== undefined ? 'sysv' : opts.path ? 'file' : opts.name ? 'posix' : 'memfd');
  const v = opts.inlineCapacity ?? (backend === 'memfd' ? 64 * 1024 : 32 * 1024 - DATA_OFFSET / 2);
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 31) {
    throw expected('a size from 0 to 2 GiB (bytes)', 'options.inlineCapacity', v, RangeError);
  }
  return Math.ceil(v / 8) * 8;
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

/** What `shm inspect` shows: the head of a store parsed read-only (nothing is written, no lock is taken). */
export function inspectStore(region: Region): {
  format: string;
  version: number;
  inlineCapacity: number;
  maxSegmentSize: number;
  serial: number;
  currentBank: number;
  createdAt: string;
  creatorPid: number;
  banks: {
    length: number;
    serializerId: number;
    segmentsUsed: number;
    segments: { id: number; size: number }[];
  }[];
  lock: { exclusiveOwner: number; sharedHolders: number };
} {
  validateHead(region);
  const dv = new DataView(region.buffer);
  const pub = dv.getInt32(H_PUB, true);
  const banks = [0, 1].map((bank) => {
    const d = BANK0 + bank * BANK_BYTES;
    const alloc = Math.min(dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
    return {
      length: dv.getUint32(d + D_LEN_LO, true) + dv.getUint32(d + D_LEN_HI, true) * 2 ** 32,
      serializerId: dv.getUint32(d + D_SERIALIZER, true),
      segmentsUsed: dv.getUint32(d + D_NSEGS, true),
      segments: Array.from({ length: alloc }, (_, j) => ({
        id: dv.getUint32(d + D_SEGS + 8 * j, true),
        size: dv.getUint32(d + D_SEGS + 8 * j + 4, true),
      })),
    };
  });
  let readers = 0;
  for (let w = 0; w < 4; w++) {
    let bits = dv.getUint32(LOCK_OFFSET + 32 + 4 * w, true);
    while (bits) {
      bits &= bits - 1;
      readers++;
    }
  }
  return {
    format: '@shm store',
    version: dv.getUint16(H_VERSION, true),
    inlineCapacity: dv.getUint32(H_INLINE, true),
    maxSegmentSize: dv.getUint32(H_MAX_SEG, true),
    serial: pub >>> 1,
    currentBank: pub & 1,
    createdAt: new Date(dv.getFloat64(H_CREATED, true)).toISOString(),
    creatorPid: dv.getUint32(H_CREATOR, true),
    banks,
    lock: { exclusiveOwner: dv.getInt32(LOCK_OFFSET, true), sharedHolders: readers },
  };
}

/** Bytes of header before the inline banks (for sizing a memfd area). */
export const STORE_HEADER_BYTES = DATA_OFFSET;
