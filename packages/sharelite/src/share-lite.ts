import { constants as osConstants } from 'node:os';
import { expected, getSerializer, ShmError, ShmSystemError, sysv } from '@shm/core';

const { ShareLiteLock, ShareLiteStatus } = sysv;

type NativeMapping = sysv.NativeMapping;

import { type ParsedOptions, parseArgs, type ShareLiteKey, type ShareLiteOptions } from './args.js';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN } from './constants.js';
import {
  DEFAULT_SEGMENT_SIZE,
  EX_LOCK,
  HEADER_SIZE,
  LENGTH,
  NEXT_SHMID,
  RAW,
  SEM_INIT,
  SH_LOCK,
  SHM_STATE,
  VERSION,
} from './protocol.js';
import { decodeValue, encodeValue, type ValueSerializer } from './value-methods.js';

/** One attached segment. The views stay valid until `map.close()`. */
interface Segment {
  shmid: number;
  map: NativeMapping;
  /** Header words: next_shmid, length (int32). */
  i32: Int32Array;
  /** Header words: shm_state, version (uint32). */
  u32: Uint32Array;
  /** The data area (segment size - 16 bytes), for copies. */
  data: Uint8Array;
  /** The same area as a Buffer, for writing strings without an intermediate copy. */
  buf: Buffer;
}

/** The lock a handle holds: 0 (none), LOCK_SH or LOCK_EX. */
export type LockState = 0 | typeof LOCK_SH | typeof LOCK_EX;

const MAX_LENGTH = 0x7fffffff; // the header's length is a C int
const MAX_OPEN_RETRIES = 1000;
const MAX_KEY_PROBES = 1 << 20;

let deferOpen = false;
/** Handles with destroy: true, destroyed when the process exits normally (Perl's DESTROY at global destruction). */
const destroyAtExit = new Set<ShareLite>();
let exitHookInstalled = false;

function hex(k: number): string {
  return `0x${(k >>> 0).toString(16).padStart(8, '0')}`;
}

function errCode(e: unknown): string | undefined {
  return ShmError.isInstance(e) ? e.code : undefined;
}

/** Any value store() accepts, as bytes (strings are handled separately). */
function asBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw expected('a string, a Uint8Array, an ArrayBufferView or an ArrayBuffer', 'data', data);
}

function checkInto(into: unknown): void {
  if (into !== undefined && !(into instanceof Uint8Array))
    throw expected('a Uint8Array or undefined', 'into', into);
}

/** The result buffer: a view of `into` when it is large enough, else fresh (uninitialised: every byte is copied). */
function alloc(len: number, into: Uint8Array | undefined): Buffer {
  if (into && into.byteLength >= len) return Buffer.from(into.buffer, into.byteOffset, len);
  return Buffer.allocUnsafe(len);
}

/**
 * A handle on an IPC::ShareLite share: one value of any length, in a chain of SysV shared memory segments,
 * guarded by a 3-semaphore reader/writer lock, byte-for-byte and lock-for-lock compatible with the Perl module.
 *
 * Sync methods block the calling thread while another process holds a conflicting lock, exactly like the Perl
 * module. On the main thread that freezes the event loop: use `ShareLite.open()`, `lockAsync()`, `storeAsync()`,
 * `fetchAsync()` and `destroyAsync()`, which wait on a libuv pool thread instead.
 *
 * Locks belong to the process (SEM_UNDO), so the kernel releases them if the process dies. Two handles in one
 * process (or in two worker threads of it) still exclude each other through the semaphore values.
 */
export class ShareLite {
  readonly #o: ParsedOptions;
  readonly #keyName: string;
  #semid = -1;
  /** segs[0] is the head; segs[i] holds bytes [i*dataSize, (i+1)*dataSize). */
  #segs: Segment[] = [];
  /** The native store/fetch fast path; its copy of the segment list is refreshed after #segs changes. */
  #chain: sysv.NativeShareLiteChain | undefined;
  /** Its id for the hot calls (the object keeps it valid). */
  #chainId = -1;
  /** #segs changed since the chain last saw it (#chainChanged), or there is no chain yet. */
  #chainStale = true;
  /** The length the last fetch() returned: the next allocating fetch hands the addon a buffer of that size. */
  #lastLength = 0;
  #segSize = 0;
  #dataSize = 0;
  /** The head's shm_state when the attachments in #segs were made. */
  #state = 0;
  /** Next key to try for a new chained segment (per handle, as in Perl; only grows). */
  #nextKey: number;
  #lock: LockState = 0;
  #closed = false;
  #opened = false;
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
    this.#o = parseArgs(args);
    const k = this.#o.key;
    this.#keyName = k === IPC_PRIVATE ? 'key IPC_PRIVATE' : `key ${k} (${hex(k)})`;
    this.#nextKey = (k + 1) | 0;
    // Nobody else can reach a private share by key, so keeping it after close would only leak it.
    this.#destroyOnClose = this.#o.destroy || k === IPC_PRIVATE;
    if (!deferOpen) this.#openSync();
  }

  /**
   * Opens the share like the constructor, but waits for the lock on a pool thread, so the event loop keeps
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
    deferOpen = true;
    let s: ShareLite;
    try {
      s = new (ShareLite as any)(...args);
    } finally {
      deferOpen = false;
    }
    await s.#serial(() => s.#openAsync());
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
    return this.#segSize;
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
    return this.#lock;
  }
  /** True once close() or destroy() ran. */
  get closed(): boolean {
    return this.#closed;
  }
  /** The semaphore set's id and the head segment's shmid (for diagnostics and `ipcs`). */
  get ids(): { semid: number; shmid: number } {
    return { semid: this.#semid, shmid: this.#segs[0]?.shmid ?? -1 };
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
    const src = typeof data === 'string' ? data : asBytes(data);
    const len = typeof src === 'string' ? Buffer.byteLength(src, 'utf8') : src.byteLength;
    this.#checkLength(len);
    const held = this.#lock;
    const bytes = typeof src === 'string' ? Buffer.from(src, 'utf8') : src;
    if (held === LOCK_SH) this.#unlockNow();
    if (this.#storeNative(held === LOCK_EX ? ShareLiteLock.Held : ShareLiteLock.Take, bytes) !== 0) {
      // Slow: the exclusive lock is held (ours, or taken by the call); the JS path grows or shrinks the chain.
      try {
        this.#write(bytes, len);
      } finally {
        if (held !== LOCK_EX) this.#rawUnlock(RAW.EX_UNLOCK);
        if (held === LOCK_SH) this.#relockShared();
      }
      return;
    }
    if (held === LOCK_SH) this.#relockShared();
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
    const held = this.#lock;
    const r = this.#fetchNative(held === 0 ? ShareLiteLock.Take : ShareLiteLock.Held, into);
    if (r !== ShareLiteStatus.Slow) return r as Buffer;
    // Slow: the lock is held (ours or taken by the call); the JS path attaches, validates and copies.
    try {
      return this.#read(into);
    } finally {
      if (held === 0) this.#rawUnlock(RAW.SH_UNLOCK);
    }
  }

  /** store() that waits for the lock without blocking the event loop. Calls on one handle run in order. */
  storeAsync(data: string | Uint8Array | ArrayBufferView | ArrayBuffer): Promise<void> {
    this.#checkOpen();
    const src = typeof data === 'string' ? data : asBytes(data);
    const len = typeof src === 'string' ? Buffer.byteLength(src, 'utf8') : src.byteLength;
    this.#checkLength(len);
    return this.#serial(async () => {
      this.#checkOpen();
      const held = this.#lock;
      if (held !== LOCK_SH) {
        // Uncontended: one native call with the non-blocking lock; else wait on a pool thread as below.
        const bytes = typeof src === 'string' ? Buffer.from(src, 'utf8') : src;
        const r = this.#storeNative(held === 0 ? ShareLiteLock.TryTake : ShareLiteLock.Held, bytes);
        if (r === 0) return;
        if (r === ShareLiteStatus.Slow) {
          try {
            this.#write(bytes, len);
          } finally {
            if (held === 0) this.#rawUnlock(RAW.EX_UNLOCK);
          }
          return;
        }
      }
      if (held !== LOCK_EX) {
        if (held === LOCK_SH) this.#unlockNow();
        await this.#acquire(RAW.EX_LOCK_NB, EX_LOCK, -1);
      }
      try {
        this.#write(src, len);
      } finally {
        if (held !== LOCK_EX) this.#rawUnlock(RAW.EX_UNLOCK);
      }
      if (held === LOCK_SH) {
        await this.#acquire(RAW.SH_LOCK_NB, SH_LOCK, -1);
        this.#lock = LOCK_SH;
      }
    });
  }

  /** fetch() that waits for the lock without blocking the event loop. Calls on one handle run in order. */
  fetchAsync(into?: Uint8Array): Promise<Buffer> {
    this.#checkOpen();
    checkInto(into);
    return this.#serial(async () => {
      this.#checkOpen();
      const held = this.#lock;
      // Uncontended: one native call with the non-blocking lock; else wait on a pool thread as below.
      const r = this.#fetchNative(held === 0 ? ShareLiteLock.TryTake : ShareLiteLock.Held, into);
      if (r !== ShareLiteStatus.WouldBlock && r !== ShareLiteStatus.Slow) return r as Buffer;
      if (r === ShareLiteStatus.WouldBlock) await this.#acquire(RAW.SH_LOCK_NB, SH_LOCK, -1);
      try {
        return this.#read(into);
      } finally {
        if (held === 0) this.#rawUnlock(RAW.SH_UNLOCK);
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
    const want = this.#parseLock(flags);
    const t = this.#timeout(timeoutMs); // checked even when nothing waits (held already, LOCK_NB, LOCK_UN)
    if (want === LOCK_UN) {
      this.#unlockNow();
      return true;
    }
    if (want === 0 || want === this.#lock) return true;
    const nb = (flags & LOCK_NB) !== 0;
    if (this.#lock !== 0) this.#unlockNow();
    const ok =
      want === LOCK_EX
        ? this.#raw(nb ? RAW.EX_LOCK_NB : RAW.EX_LOCK, nb ? -1 : t)
        : this.#raw(nb ? RAW.SH_LOCK_NB : RAW.SH_LOCK, nb ? -1 : t);
    if (ok) this.#lock = want as LockState;
    return ok;
  }

  /** lock() that waits on a pool thread, so the event loop keeps running. Resolves true, or false as lock(). */
  lockAsync(flags: number = LOCK_EX, timeoutMs?: number): Promise<boolean> {
    this.#checkOpen();
    const want = this.#parseLock(flags);
    const t = this.#timeout(timeoutMs);
    return this.#serial(async () => {
      this.#checkOpen();
      if (want === LOCK_UN) {
        this.#unlockNow();
        return true;
      }
      if (want === 0 || want === this.#lock) return true;
      const nb = (flags & LOCK_NB) !== 0;
      if (this.#lock !== 0) this.#unlockNow();
      let ok: boolean;
      if (want === LOCK_EX)
        ok = nb ? this.#raw(RAW.EX_LOCK_NB, -1) : await this.#acquire(RAW.EX_LOCK_NB, EX_LOCK, t);
      else ok = nb ? this.#raw(RAW.SH_LOCK_NB, -1) : await this.#acquire(RAW.SH_LOCK_NB, SH_LOCK, t);
      if (ok) this.#lock = want as LockState;
      return ok;
    });
  }

  /** Releases the lock this handle holds (none: no-op). Returns true. Same as lock(LOCK_UN). */
  unlock(): boolean {
    this.#checkSync();
    this.#unlockNow();
    return true;
  }

  // ---------------------------------------------------------------- information

  /** The share's write counter: 1 when created, +1 on every store (wraps at 2^32). Read without a lock, as Perl. */
  version(): number {
    this.#checkOpen();
    return this.#segs[0]!.u32[VERSION]!;
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
        return this.#countSegments();
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
   * the exclusive lock first, so it never blocks. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#checkSync();
    if (this.#destroyOnClose) {
      this.destroy();
      return;
    }
    try {
      this.#unlockNow();
    } catch {
      /* the set was removed meanwhile: nothing to release */
    } finally {
      this.#detachAll();
      this.#closed = true;
      destroyAtExit.delete(this);
    }
  }

  /**
   * Removes the share from the system: takes the exclusive lock (waiting for other holders), removes every
   * segment of the chain and the semaphore set, and closes this handle. Other handles then get EINVAL/EIDRM.
   * A link that points at a missing or foreign segment stops the walk (the rest is left, with a warning).
   */
  destroy(): void {
    if (this.#closed) return;
    this.#checkSync();
    try {
      if (this.#lock !== LOCK_EX) {
        if (this.#lock === LOCK_SH) this.#unlockNow();
        this.#raw(RAW.EX_LOCK, -1);
        this.#lock = LOCK_EX;
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
      try {
        if (this.#lock !== LOCK_EX) {
          if (this.#lock === LOCK_SH) this.#unlockNow();
          await this.#acquire(RAW.EX_LOCK_NB, EX_LOCK, -1);
          this.#lock = LOCK_EX;
        }
      } catch (e) {
        if (this.#alreadyRemoved(e)) return;
        throw e;
      }
      this.#removeAll();
    });
  }

  // ---------------------------------------------------------------- internals: open

  #openSync(): void {
    for (let attempt = 0; ; attempt++) {
      this.#semid = this.#semget();
      try {
        this.#raw(RAW.EX_LOCK, -1);
        break;
      } catch (e) {
        // The set was removed between semget and semop: start again (as new_share does).
        if (attempt < MAX_OPEN_RETRIES && (errCode(e) === 'EINVAL' || errCode(e) === 'EIDRM')) continue;
        throw e;
      }
    }
    this.#finishOpen();
  }

  async #openAsync(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.#semid = this.#semget();
      try {
        await this.#acquire(RAW.EX_LOCK_NB, EX_LOCK, -1);
        break;
      } catch (e) {
        if (attempt < MAX_OPEN_RETRIES && (errCode(e) === 'EINVAL' || errCode(e) === 'EIDRM')) continue;
        throw e;
      }
    }
    this.#finishOpen();
  }

  #semget(): number {
    try {
      return sysv.semget(this.#o.key, 3, this.#o.flags);
    } catch (e) {
      throw this.#sysError(e, 'cannot open the semaphore set of');
    }
  }

  /** Steps 3-6 of new_share, under the exclusive lock; releases it whatever happens (Perl leaks it on failure). */
  #finishOpen(): void {
    this.#lock = LOCK_EX;
    try {
      const { key, flags } = this.#o;
      const asked = this.#o.size > HEADER_SIZE;
      const want = asked ? this.#o.size : DEFAULT_SEGMENT_SIZE;
      let shmid: number | undefined;
      // Without a size, adopt an existing share's segment size. Perl asks for 65536 and so cannot open a share
      // made with smaller segments (EINVAL). Size 1 fits any segment; the permission bits are still checked.
      if (!asked && key !== IPC_PRIVATE && !(flags & IPC_EXCL)) {
        try {
          shmid = sysv.shmget(key, 1, flags & ~(IPC_CREAT | IPC_EXCL));
        } catch (e) {
          if (errCode(e) !== 'ENOENT' || !(flags & IPC_CREAT))
            throw this.#sysError(e, 'cannot open the head segment of');
        }
      }
      try {
        shmid ??= sysv.shmget(key, want, flags);
      } catch (e) {
        throw this.#sysError(e, 'cannot open the head segment of', this.#sizeHint(e, want));
      }
      const head = this.#attach(shmid, 'the head segment');
      this.#segs = [head];
      this.#chainChanged();
      if (head.map.size <= HEADER_SIZE) {
        throw this.#badFormat(`its head segment (shmid ${shmid}) is only ${head.map.size} bytes`);
      }
      if (sysv.semGetVal(this.#semid, SEM_INIT) === 0) {
        sysv.semSetVal(this.#semid, SEM_INIT, 1);
        head.i32[LENGTH] = 0;
        head.i32[NEXT_SHMID] = -1;
        head.u32[SHM_STATE] = 1;
        head.u32[VERSION] = 1;
      }
      this.#state = head.u32[SHM_STATE]!;
      this.#segSize = head.map.size;
      this.#dataSize = this.#segSize - HEADER_SIZE;
    } catch (e) {
      this.#detachAll();
      try {
        // A set nobody ever initialised was made by this call: remove it rather than leak it. A process waiting
        // on it gets EIDRM and starts over, as the protocol expects.
        if (this.#o.create && sysv.semGetVal(this.#semid, SEM_INIT) === 0) sysv.semRemove(this.#semid);
        else this.#rawUnlock(RAW.EX_UNLOCK);
      } catch {
        /* already gone */
      }
      this.#lock = 0;
      this.#closed = true;
      throw e;
    }
    this.#rawUnlock(RAW.EX_UNLOCK);
    this.#opened = true;
    if (this.#destroyOnClose) this.#registerExit();
  }

  #sizeHint(e: unknown, want: number): string {
    if (errCode(e) !== 'EINVAL') return '';
    try {
      const real = sysv.shmStat(sysv.shmget(this.#o.key, 1, 0)).size;
      return ` (it exists with segments of ${real} bytes; the requested size ${want} is larger)`;
    } catch {
      return '';
    }
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
      if (this.#lock !== LOCK_EX) {
        if (this.#lock === LOCK_SH) this.#unlockNow();
        if (!this.#raw(RAW.EX_LOCK, 1000)) return;
        this.#lock = LOCK_EX;
      }
      this.#removeAll();
    } catch {
      /* exiting anyway */
    }
  }

  // ---------------------------------------------------------------- internals: data

  #checkLength(len: number): void {
    if (len > MAX_LENGTH) {
      throw new ShmError(
        'ERR_SHM_TOO_LARGE',
        `Cannot store ${len} bytes in the IPC::ShareLite share with ${this.#keyName}: the format's limit is ${MAX_LENGTH}`,
        { target: this.#keyName },
      );
    }
  }

  /** Called after every change to #segs: the native fast paths get a fresh list of mappings. */
  #chainChanged(): void {
    this.#chainStale = true;
  }

  /** The native chain's id, after handing it the current segment list if that changed. */
  #fastChain(): number {
    if (this.#chainStale) {
      if (!this.#chain) {
        this.#chain = sysv.shareliteChain(this.#semid, RAW);
        this.#chainId = this.#chain.id;
      }
      this.#chain.setSegments(this.#segs.map((s) => s.map));
      this.#chainStale = false;
    }
    return this.#chainId;
  }

  /**
   * store in one native call: the exclusive lock per `lock` (Take, TryTake, or Held: this handle holds it),
   * write_share steps 2-7 over the attached chain, the exclusive unlock unless Held. Returns 0 when done; Slow when
   * the chain must grow, shrink or be re-attached (the exclusive lock is then held and nothing was written);
   * WouldBlock when TryTake would block (nothing held).
   */
  #storeNative(lock: sysv.ShareLiteLock, bytes: Uint8Array): number {
    let r: number;
    try {
      r = sysv.shareliteStore(this.#fastChain(), lock, this.#state, bytes);
    } catch (e) {
      throw this.#sysError(e, 'cannot lock');
    }
    if (r === ShareLiteStatus.UnlockLost) throw this.#unlockLost();
    return r;
  }

  /**
   * fetch in one native call: the shared lock per `lock` (Take, TryTake, or Held: this handle holds a lock),
   * read_share over the attached chain, the shared unlock unless Held. Returns the value; Slow when the chain must
   * be re-attached or the header needs the JS checks (the lock is then held); WouldBlock when TryTake would block.
   * Without `into`, the addon gets a buffer of the last fetched length (from Node's pool for small values: far
   * cheaper than a Buffer made by the addon) and fills it when the length is unchanged; else it allocates one of
   * the exact length itself.
   */
  #fetchNative(lock: sysv.ShareLiteLock, into: Uint8Array | undefined): Buffer | number {
    const guess = into ? undefined : this.#lastLength > 0 ? Buffer.allocUnsafe(this.#lastLength) : undefined;
    let r: Buffer | number;
    try {
      r = sysv.shareliteFetch(this.#fastChain(), lock, this.#state, (into ?? guess) || null);
    } catch (e) {
      throw this.#sysError(e, 'cannot lock');
    }
    if (typeof r !== 'number') {
      this.#lastLength = r.length;
      return r;
    }
    if (r < 0) {
      if (r === ShareLiteStatus.UnlockLost) throw this.#unlockLost();
      return r;
    }
    if (into) return Buffer.from(into.buffer, into.byteOffset, r);
    this.#lastLength = r;
    if (r === guess!.length) return guess!;
    // The value shrank: an exact copy, so a small value never pins the larger buffer.
    return r === 0 ? Buffer.alloc(0) : Buffer.from(guess!.subarray(0, r));
  }

  /** write_share steps 2-7; the caller holds the exclusive lock. */
  #write(src: string | Uint8Array, len: number): void {
    this.#revalidate();
    const head = this.#segs[0]!;
    const ds = this.#dataSize;
    // Crash safety as in Perl: a writer that dies while copying leaves an empty value, never a torn one.
    head.i32[LENGTH] = 0;
    try {
      if (len <= ds) {
        if (typeof src === 'string') head.buf.write(src, 0, len, 'utf8');
        else head.data.set(src, 0);
      } else {
        const bytes = typeof src === 'string' ? Buffer.from(src, 'utf8') : src;
        for (let i = 0, off = 0; off < len; i++, off += ds) {
          const seg = this.#segment(i, true);
          const n = Math.min(ds, len - off);
          seg.data.set(bytes.subarray(off, off + n), 0);
        }
      }
      head.i32[LENGTH] = len;
      const last = this.#segs[len > ds ? Math.ceil(len / ds) - 1 : 0]!;
      if (last.i32[NEXT_SHMID]! >= 0) this.#collect(last);
    } finally {
      // Also after a failure: the value changed (to empty), and readers that cache by version must see it.
      head.u32[VERSION] = head.u32[VERSION]! + 1;
    }
  }

  /** read_share steps 2-3; the caller holds a lock. */
  #read(into: Uint8Array | undefined): Buffer {
    this.#revalidate();
    const head = this.#segs[0]!;
    const len = head.i32[LENGTH]!;
    if (len < 0) throw this.#badFormat(`its header says the value is ${len} bytes long`);
    if (len === 0) return Buffer.alloc(0);
    const ds = this.#dataSize;
    if (len <= ds) {
      const out = alloc(len, into);
      out.set(len === ds ? head.data : head.data.subarray(0, len), 0);
      return out;
    }
    const nseg = Math.ceil(len / ds);
    // Walk (and validate) the whole chain before allocating, so a corrupt length cannot make us allocate
    // more than the chain actually holds.
    for (let i = 1; i < nseg; i++) this.#segment(i, false, len);
    const out = alloc(len, into);
    for (let i = 0, off = 0; i < nseg; i++, off += ds) {
      const seg = this.#segs[i]!;
      const n = len - off;
      out.set(n >= ds ? seg.data : seg.data.subarray(0, n), off);
    }
    return out;
  }

  /** If another process removed segments (shm_state changed), drop every attachment but the head's. */
  #revalidate(): void {
    const head = this.#segs[0]!;
    const st = head.u32[SHM_STATE]!;
    if (st === this.#state) return;
    for (let i = 1; i < this.#segs.length; i++) this.#segs[i]!.map.close();
    this.#segs.length = 1;
    this.#chainChanged();
    this.#state = st;
  }

  /** Segment i of the chain, attaching the linked one or (for a writer) creating it. */
  #segment(i: number, create: boolean, len = 0): Segment {
    const have = this.#segs[i];
    if (have) return have;
    const prev = this.#segs[i - 1]!;
    const next = prev.i32[NEXT_SHMID]!;
    let seg: Segment;
    if (next >= 0) {
      seg = this.#attachChained(next, i);
    } else if (create) {
      seg = this.#createSegment();
      prev.i32[NEXT_SHMID] = seg.shmid;
    } else {
      throw this.#badFormat(
        `its header says the value is ${len} bytes long but the chain ends after ${i} segment(s) of ${this.#dataSize} data bytes`,
      );
    }
    this.#segs.push(seg);
    this.#chainChanged();
    return seg;
  }

  #attachChained(shmid: number, index: number): Segment {
    if (this.#segs.some((s) => s.shmid === shmid)) {
      throw this.#badFormat(`its chain loops: segment ${index} links back to shmid ${shmid}`);
    }
    let seg: Segment;
    try {
      seg = this.#attach(shmid, `segment ${index}`);
    } catch (e) {
      const c = errCode(e);
      if (c === 'EINVAL' || c === 'EIDRM') {
        throw this.#badFormat(`segment ${index - 1} links to shmid ${shmid}, which does not exist`, e);
      }
      throw e;
    }
    if (seg.map.size !== this.#segSize) {
      seg.map.close();
      throw this.#badFormat(
        `segment ${index} (shmid ${shmid}) is ${seg.map.size} bytes, not ${this.#segSize} like the head: not part of this share`,
      );
    }
    return seg;
  }

  #createSegment(): Segment {
    const flags = this.#o.flags | IPC_CREAT | IPC_EXCL;
    const priv = this.#o.key === IPC_PRIVATE;
    for (let probes = 0; ; probes++) {
      // Perl gives a private share's segments the public keys 1, 2, 3...; private segments cannot collide.
      const key = priv ? IPC_PRIVATE : this.#nextKey;
      if (!priv) this.#nextKey = (this.#nextKey + 1) | 0;
      let shmid: number;
      try {
        shmid = sysv.shmget(key, this.#segSize, flags);
      } catch (e) {
        const c = errCode(e);
        if ((c === 'EEXIST' || c === 'EIDRM') && probes < MAX_KEY_PROBES) continue;
        throw this.#sysError(e, `cannot create a chained segment (key ${hex(key)}) for`);
      }
      let seg: Segment;
      try {
        seg = this.#attach(shmid, 'a new segment');
      } catch (e) {
        sysv.shmRemove(shmid);
        throw e;
      }
      seg.i32[NEXT_SHMID] = -1;
      seg.i32[LENGTH] = 0;
      return seg;
    }
  }

  #attach(shmid: number, what: string): Segment {
    let map: NativeMapping;
    try {
      map = sysv.shmat(shmid);
    } catch (e) {
      throw this.#sysError(e, `cannot attach ${what} (shmid ${shmid}) of`);
    }
    const ab = map.buffer!;
    const size = map.size;
    const ds = size > HEADER_SIZE ? size - HEADER_SIZE : 0;
    return {
      shmid,
      map,
      i32: new Int32Array(ab, 0, size >= HEADER_SIZE ? 4 : 0),
      u32: new Uint32Array(ab, 0, size >= HEADER_SIZE ? 4 : 0),
      data: new Uint8Array(ab, size >= HEADER_SIZE ? HEADER_SIZE : 0, ds),
      buf: Buffer.from(ab, size >= HEADER_SIZE ? HEADER_SIZE : 0, ds),
    };
  }

  /** GC after a shrink: remove every segment after `last`, unlink it and bump shm_state. */
  #collect(last: Segment): void {
    const head = this.#segs[0]!;
    const keep = this.#segs.indexOf(last) + 1;
    const cached = new Map<number, Segment>();
    for (let i = keep; i < this.#segs.length; i++) cached.set(this.#segs[i]!.shmid, this.#segs[i]!);
    this.#segs.length = keep;
    this.#chainChanged();
    this.#removeChain(last.i32[NEXT_SHMID]!, cached);
    last.i32[NEXT_SHMID] = -1;
    head.u32[SHM_STATE] = head.u32[SHM_STATE]! + 1;
    this.#state = head.u32[SHM_STATE]!;
  }

  /**
   * Detaches and removes the chain that starts at `shmid`. Only segments of the head's size that are not seen
   * twice are removed, so a corrupt link never makes us remove somebody else's segment. Segments in `cached`
   * (attached when this handle last followed the chain, under the lock) that the walk did not reach are removed
   * too: a broken link (a share opened at one of our chained keys took a segment over and destroyed it, or the
   * memory was overwritten) would otherwise leak the rest of the chain, as it does in Perl. Holding them attached
   * means their shmids still name those segments.
   */
  #removeChain(shmid: number, cached: Map<number, Segment>): void {
    const seen = new Set<number>(this.#segs.map((s) => s.shmid));
    const gone: number[] = [];
    let id = shmid;
    while (id >= 0) {
      if (seen.has(id)) {
        this.#warn(`the chain loops back to shmid ${id}; stopped removing there`);
        break;
      }
      seen.add(id);
      let seg = cached.get(id);
      cached.delete(id);
      if (!seg) {
        try {
          seg = this.#attach(id, 'a chained segment');
        } catch (e) {
          this.#warn(
            `could not attach shmid ${id} to follow the chain (${(e as Error).message}); stopped there`,
          );
          break;
        }
      }
      if (seg.map.size !== this.#segSize) {
        seg.map.close();
        this.#warn(`shmid ${id} is ${seg.map.size} bytes, not ${this.#segSize}: not ours, left alone`);
        break;
      }
      const next = seg.i32[NEXT_SHMID]!;
      seg.map.close();
      this.#removeSegment(id, gone);
      id = next;
    }
    for (const [cid, seg] of cached) {
      seg.map.close();
      this.#removeSegment(cid, gone);
    }
    if (gone.length > 0) {
      this.#warn(
        `chained segment${gone.length > 1 ? 's' : ''} (shmid ${gone.join(', ')}) had been removed by another ` +
          'process: a share opened at one of keys key+1, key+2... takes over this share’s chained segments',
      );
    }
  }

  /** IPC_RMID one segment; an id already removed (EINVAL, EIDRM) goes to `gone`, other failures are warned of. */
  #removeSegment(id: number, gone: number[]): void {
    try {
      sysv.shmRemove(id);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EINVAL' || code === 'EIDRM') gone.push(id);
      else this.#warn(`could not remove shmid ${id}: ${(e as Error).message}`);
    }
  }

  #countSegments(): number {
    const head = this.#segs[0]!;
    const fresh = head.u32[SHM_STATE] === this.#state;
    const seen = new Set<number>([head.shmid]);
    let n = 1;
    let id = head.i32[NEXT_SHMID]!;
    while (id >= 0) {
      if (seen.has(id)) throw this.#badFormat(`its chain loops back to shmid ${id}`);
      seen.add(id);
      n++;
      const c = fresh ? this.#segs[n - 1] : undefined;
      if (c && c.shmid === id) {
        id = c.i32[NEXT_SHMID]!;
        continue;
      }
      const m = sysv.shmat(id, { readonly: true });
      try {
        if (m.size !== this.#segSize) {
          throw this.#badFormat(`shmid ${id} in its chain is ${m.size} bytes, not ${this.#segSize}`);
        }
        id = new Int32Array(m.buffer!, 0, 1)[0]!;
      } finally {
        m.close();
      }
    }
    return n;
  }

  /** destroy_share with destroy=1; the caller holds the exclusive lock. */
  #removeAll(): void {
    const head = this.#segs[0]!;
    const cached = new Map<number, Segment>();
    for (let i = 1; i < this.#segs.length; i++) cached.set(this.#segs[i]!.shmid, this.#segs[i]!);
    this.#segs.length = 1;
    this.#chainChanged();
    // #removeChain only warns, so the head and the set below are always removed.
    this.#removeChain(head.i32[NEXT_SHMID]!, cached);
    head.map.close();
    this.#segs = [];
    this.#chainChanged();
    this.#closed = true;
    this.#lock = 0;
    destroyAtExit.delete(this);
    let err: unknown;
    try {
      sysv.shmRemove(head.shmid);
    } catch (e) {
      err = e;
    }
    try {
      sysv.semRemove(this.#semid);
    } catch (e) {
      err ??= e;
    }
    if (err) throw this.#sysError(err, 'cannot remove');
  }

  /** Another handle destroyed the share (its set is gone): just let go of our attachments. */
  #alreadyRemoved(e: unknown): boolean {
    const c = errCode(e);
    if (c !== 'EINVAL' && c !== 'EIDRM') return false;
    this.#detachAll();
    this.#lock = 0;
    this.#closed = true;
    destroyAtExit.delete(this);
    return true;
  }

  #detachAll(): void {
    for (const s of this.#segs) s.map.close();
    this.#segs = [];
    this.#chainChanged();
  }

  // ---------------------------------------------------------------- internals: locks

  /** One atomic semop of a pre-flattened table. False = would block (IPC_NOWAIT) or timed out. */
  #raw(ops: Int32Array, timeoutMs: number): boolean {
    let r: number;
    try {
      r = sysv.semopRaw(this.#semid, ops, timeoutMs);
    } catch (e) {
      throw this.#sysError(e, 'cannot lock');
    }
    return r === 0;
  }

  /** An unlock table: it never waits, so EAGAIN means the semaphore was already 0. */
  #rawUnlock(ops: Int32Array): void {
    this.#lock = 0;
    if (!this.#raw(ops, -1)) throw this.#unlockLost();
  }

  #unlockLost(): ShmSystemError {
    return new ShmSystemError(
      `cannot unlock the IPC::ShareLite share with ${this.#keyName}: the lock was already released (semaphore is 0; was the set reset?)`,
      osConstants.errno.EAGAIN,
      'semop',
      this.#keyName,
    );
  }

  /** After a store made under a shared lock: take it again (blocking), as Perl does. */
  #relockShared(): void {
    this.#raw(RAW.SH_LOCK, -1);
    this.#lock = LOCK_SH;
  }

  #unlockNow(): void {
    if (this.#lock === LOCK_EX) this.#rawUnlock(RAW.EX_UNLOCK);
    else if (this.#lock === LOCK_SH) this.#rawUnlock(RAW.SH_UNLOCK);
  }

  /** Non-blocking attempt first (no thread hop when uncontended), then a blocking semop on a pool thread. */
  async #acquire(nb: Int32Array, blocking: readonly sysv.SemOp[], timeoutMs: number): Promise<boolean> {
    if (this.#raw(nb, -1)) return true;
    if (timeoutMs === 0) return false;
    try {
      return await sysv.semopAsync(this.#semid, blocking, timeoutMs < 0 ? undefined : timeoutMs);
    } catch (e) {
      throw this.#sysError(e, 'cannot lock');
    }
  }

  #parseLock(flags: unknown): number {
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

  #timeout(t: unknown): number {
    if (t === undefined) return -1;
    if (typeof t !== 'number' || Number.isNaN(t) || t < 0)
      throw expected('a number of milliseconds >= 0', 'timeoutMs', t);
    return t === Number.POSITIVE_INFINITY ? -1 : t;
  }

  // ---------------------------------------------------------------- internals: misc

  #checkOpen(): void {
    if (this.#closed || !this.#opened) {
      throw new ShmError('ERR_SHM_CLOSED', `The IPC::ShareLite handle for ${this.#keyName} is closed`, {
        target: this.#keyName,
      });
    }
  }

  #checkSync(): void {
    this.#checkOpen();
    if (this.#busy) {
      throw new ShmError(
        'ERR_SHM_BUSY',
        `An async call on the IPC::ShareLite handle for ${this.#keyName} is still running; await it before calling sync methods`,
        { target: this.#keyName },
      );
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

  #sysError(e: unknown, what: string, hint = ''): unknown {
    if (!ShmSystemError.isInstance(e)) return e;
    let h = hint;
    if (!h) {
      if (e.code === 'ENOENT') h = ' (no such share; pass create: true to create it)';
      else if (e.code === 'EEXIST') h = ' (it already exists and exclusive was requested)';
      else if (e.code === 'EACCES' || e.code === 'EPERM') h = " (permission denied by the share's mode)";
      else if ((e.code === 'EINVAL' || e.code === 'EIDRM') && e.syscall.startsWith('sem')) {
        h = ' (the share was removed)';
      } else if (e.code === 'ENOSPC' || e.code === 'ENOMEM') {
        h = ' (a system limit was reached: see /proc/sys/kernel/shmmni, shmall, sem)';
      }
    }
    const err = new ShmSystemError(
      `${what} the IPC::ShareLite share with ${this.#keyName}${h}`,
      e.errno,
      e.syscall,
      this.#keyName,
    );
    (err as { cause?: unknown }).cause = e;
    return err;
  }

  #badFormat(what: string, cause?: unknown): ShmError {
    return new ShmError(
      'ERR_SHM_BAD_FORMAT',
      `The IPC::ShareLite share with ${this.#keyName} is corrupt: ${what}`,
      {
        target: this.#keyName,
        ...(cause !== undefined ? { cause } : {}),
      },
    );
  }

  #warn(msg: string): void {
    process.emitWarning(`IPC::ShareLite share with ${this.#keyName}: ${msg}`, {
      code: 'SHM_SHARELITE_CHAIN',
    });
  }
}
