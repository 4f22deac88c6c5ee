import { constants as bufferConstants } from 'node:buffer';
import {
  expected,
  type FetchInfo,
  getSerializer,
  type Serializer,
  ShmError,
  serializerId,
  serializerMismatchError,
} from '@shm/core';
import {
  HANDLE_WORDS,
  type HandleInfo,
  loadSerialWord,
  W_CHANGE,
  W_EPOCH,
  W_TRACKED,
  type WireValue,
} from './protocol.js';
import { RedisConnection, type RedisConnectionOptions } from './redis-connection.js';
import { RedisLock } from './redis-lock.js';
import { checkBytes, checkFunction, checkInfo, checkInt, checkTimeout } from './validate.js';

/** A Redis string holds at most 512 MiB (and the server's default proto-max-bulk-len is the same). */
export const MAX_PART_SIZE = 512 * 1024 * 1024;

/** Where a store lives and how it is created or opened. */
export interface RedisStoreOptions extends RedisConnectionOptions {
  /** The store's name: every process that opens the same name on the same server shares the value. */
  name: string;
  /**
   * The connection to use (shared by every store opened on it). Without it the store opens, or shares, a
   * connection of this thread to `url` and closes it with the last store using it.
   */
  connection?: RedisConnection;
  /** Fail with ERR_SHM_EXISTS if the store exists (create only). */
  exclusive?: boolean;
  /** Key prefix: the store's keys are `<prefix>{<name>}`, `<prefix>{<name>}:lock`... (default 'shm:'). */
  prefix?: string;
  /** Serializer for setValue/getValue: 'v8' (default), 'json', 'raw' or a Serializer object. */
  serializer?: string | Serializer;
  /** Refuse values larger than this many bytes (ERR_SHM_TOO_LARGE; default and most: 4 GiB, Node's Buffer limit). */
  maxValueSize?: number;
  /** Values larger than this are split into parts committed atomically (default and most: 512 MiB). */
  partSize?: number;
  /** How long a lock lease lasts without renewal, in ms (default 10000; renewed every third of it while held). */
  leaseMs?: number;
}

const NAME_MAX = 1024;
const KNOWN = new Set([
  'name',
  'connection',
  'url',
  'timeoutMs',
  'connectTimeoutMs',
  'exclusive',
  'prefix',
  'serializer',
  'maxValueSize',
  'partSize',
  'leaseMs',
]);

/** Connections opened by stores without a `connection` option, by URL and timeouts, with how many stores use each. */
const shared = new Map<string, { conn: RedisConnection; users: number }>();

function sharedConnection(o: RedisStoreOptions, sync: boolean): RedisConnection | Promise<RedisConnection> {
  const key = `${o.url ?? ''}|${o.timeoutMs ?? ''}|${o.connectTimeoutMs ?? ''}`;
  const s = shared.get(key);
  if (s && !s.conn.closed) {
    s.users++;
    return s.conn;
  }
  const opts: RedisConnectionOptions = {};
  if (o.url !== undefined) opts.url = o.url;
  if (o.timeoutMs !== undefined) opts.timeoutMs = o.timeoutMs;
  if (o.connectTimeoutMs !== undefined) opts.connectTimeoutMs = o.connectTimeoutMs;
  if (sync) {
    const conn = RedisConnection.connectSync(opts);
    shared.set(key, { conn, users: 1 });
    return conn;
  }
  return RedisConnection.connect(opts).then((conn) => {
    const again = shared.get(key);
    if (again && !again.conn.closed) {
      again.users++;
      void conn.close();
      return again.conn;
    }
    shared.set(key, { conn, users: 1 });
    return conn;
  });
}

function releaseShared(conn: RedisConnection, sync: boolean): void | Promise<void> {
  for (const [key, s] of shared) {
    if (s.conn !== conn) continue;
    if (--s.users > 0) return;
    shared.delete(key);
    return sync ? conn.closeSync() : conn.close();
  }
}

interface Resolved {
  name: string;
  prefix: string;
  exclusive: boolean;
  serializer: Serializer;
  maxValueSize: number;
  partSize: number;
  leaseMs: number;
}

function resolve(o: RedisStoreOptions): Resolved {
  if (typeof o !== 'object' || o === null) throw expected('an options object', 'options', o);
  for (const k of Object.keys(o)) {
    if (!KNOWN.has(k)) throw expected(`one of ${[...KNOWN].join(', ')}`, 'an option name', k);
  }
  if (typeof o.name !== 'string') throw expected('a store name (string)', 'options.name', o.name);
  if (o.name === '' || o.name.length > NAME_MAX || /[{}]/.test(o.name)) {
    throw expected(
      `a non-empty name of at most ${NAME_MAX} characters without { or }`,
      'options.name',
      o.name,
      RangeError,
    );
  }
  if (o.connection !== undefined && !(o.connection instanceof RedisConnection)) {
    throw expected('a RedisConnection', 'options.connection', o.connection);
  }
  if (o.exclusive !== undefined && typeof o.exclusive !== 'boolean') {
    throw expected('a boolean', 'options.exclusive', o.exclusive);
  }
  const prefix = o.prefix ?? 'shm:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix) || prefix.length > 256) {
    throw expected('a key prefix without { or } (at most 256 characters)', 'options.prefix', prefix);
  }
  const maxValueSize = o.maxValueSize ?? bufferConstants.MAX_LENGTH;
  checkInt(
    maxValueSize,
    'options.maxValueSize',
    0,
    bufferConstants.MAX_LENGTH,
    `an integer number of bytes from 0 to ${bufferConstants.MAX_LENGTH}`,
  );
  const partSize = o.partSize ?? MAX_PART_SIZE;
  checkInt(
    partSize,
    'options.partSize',
    1024,
    MAX_PART_SIZE,
    `an integer number of bytes from 1024 to ${MAX_PART_SIZE} (512 MiB)`,
  );
  const leaseMs = o.leaseMs ?? 10_000;
  checkInt(
    leaseMs,
    'options.leaseMs',
    30,
    2 ** 31 - 1,
    'an integer number of milliseconds from 30 to 2^31-1',
  );
  return {
    name: o.name,
    prefix,
    exclusive: o.exclusive ?? false,
    serializer: getSerializer(o.serializer ?? 'v8'),
    maxValueSize,
    partSize,
    leaseMs,
  };
}

/** What update()'s function is told besides the current value. */
export interface UpdateInfo {
  /** The serial of the value `fn` was given (0: nothing stored yet). */
  serial: number;
  /** How many times `fn` ran already for this update (a concurrent commit made the earlier runs void). */
  attempt: number;
  /** Always false here: update() takes no lock (it is a compare-and-set). Kept for core's signature. */
  ownerDied: boolean;
}

/**
 * One versioned value on a Redis (or Valkey) server, shared by every process, on any host, that opens the same
 * name: `@shm/core`'s Store contract, restated for a network (docs/guides/outgrowing-one-machine.md).
 *
 * - Every commit is one server-side script: atomic, with a serial that changes on every commit. A value larger
 *   than `partSize` (512 MiB, a Redis string's limit) is written in parts first and published by the script.
 * - `getValue()`/`fetch()` answer from this handle's copy while the server has not invalidated it (RESP3 client
 *   tracking, received by the connection's worker thread): an unchanged value costs no command and no decode.
 * - `update(fn)` is a compare-and-set on the serial, retried on conflict: atomic across hosts without a lock.
 * - `lock` is a lease with fencing tokens (see RedisLock).
 *
 * Synchronous methods block the calling thread until the server answered (see the decision record 0005); each
 * has an `...Async` twin that does not.
 */
export class RedisStore {
  /** The store's name. */
  readonly name: string;
  /** The connection the store uses. */
  readonly connection: RedisConnection;
  /** The store's lock (leases with fencing tokens). */
  readonly lock: RedisLock;
  /** Whether this call created the store. */
  readonly created: boolean;
  /**
   * This handle's counters: `requests` (round trips to the server: reads that missed, commits, locks), `cacheHits`
   * (reads answered from the copy), `decodes`, `conflicts` (update() attempts overtaken by another commit).
   */
  readonly stats = { requests: 0, cacheHits: 0, decodes: 0, conflicts: 0 };
  readonly #o: Resolved;
  readonly #sid: number;
  readonly #words: Int32Array;
  readonly #ownConnection: boolean;
  readonly #info: HandleInfo;
  #hid: number;
  #closed = false;
  /** The copy: serial (-1: none), serializer id, bytes. */
  #serial = -1;
  #valueSid = 0;
  #bytes: Uint8Array = new Uint8Array(0);
  /** The change word the copy is good for (undefined: unverified), and the epoch it was read in. */
  #tag: number | undefined;
  #epoch = 0;
  /** A serial this handle was told exists (in #epoch): a copy older than it is never current. */
  #floor = 0;
  #decoded: unknown;
  #decodedSerial = -1;

  private constructor(conn: RedisConnection, own: boolean, o: Resolved, words: Int32Array, info: HandleInfo) {
    this.connection = conn;
    this.#ownConnection = own;
    this.#o = o;
    this.name = o.name;
    this.#sid = serializerId(o.serializer);
    this.#words = words;
    this.#info = info;
    this.#hid = info.hid;
    this.created = info.created;
    this.lock = new RedisLock(conn, o.name, () => this.#checkedHid(), words);
    conn.adopt(words);
  }

  // ------------------------------------------------------------------ opening

  /** Creates the store on the server, or opens it if it exists (unless `exclusive`). Blocks until done. */
  static create(options: RedisStoreOptions): RedisStore {
    return RedisStore.#openSync(options, true);
  }

  /** Opens an existing store (ERR_SHM_NOT_FOUND if the server has none of that name). Blocks until done. */
  static open(options: RedisStoreOptions): RedisStore {
    return RedisStore.#openSync(options, false);
  }

  /** create() without blocking the thread. */
  static createAsync(options: RedisStoreOptions): Promise<RedisStore> {
    return RedisStore.#openAsync(options, true);
  }

  /** open() without blocking the thread. */
  static openAsync(options: RedisStoreOptions): Promise<RedisStore> {
    return RedisStore.#openAsync(options, false);
  }

  static #openSync(options: RedisStoreOptions, create: boolean): RedisStore {
    const o = resolve(options);
    const own = options.connection === undefined;
    const conn = options.connection ?? (sharedConnection(options, true) as RedisConnection);
    const words = new Int32Array(new SharedArrayBuffer(HANDLE_WORDS * 4));
    try {
      const r = conn.callSync<HandleInfo>('open', RedisStore.#openArgs(o, create, words));
      return new RedisStore(conn, own, o, words, r);
    } catch (e) {
      if (own) releaseShared(conn, true);
      throw e;
    }
  }

  static async #openAsync(options: RedisStoreOptions, create: boolean): Promise<RedisStore> {
    const o = resolve(options);
    const own = options.connection === undefined;
    const conn = options.connection ?? (await sharedConnection(options, false));
    const words = new Int32Array(new SharedArrayBuffer(HANDLE_WORDS * 4));
    try {
      const r = await conn.call<HandleInfo>('open', RedisStore.#openArgs(o, create, words));
      return new RedisStore(conn, own, o, words, r);
    } catch (e) {
      if (own) await releaseShared(conn, false);
      throw e;
    }
  }

  static #openArgs(o: Resolved, create: boolean, words: Int32Array) {
    return {
      name: o.name,
      prefix: o.prefix,
      create,
      exclusive: create && o.exclusive,
      words: words.buffer,
      leaseMs: o.leaseMs,
      partSize: o.partSize,
    };
  }

  // ------------------------------------------------------------------ the copy

  #checkedHid(): number {
    if (this.#closed)
      throw new ShmError('ERR_SHM_CLOSED', `Store '${this.name}' is closed`, { target: this.name });
    return this.#hid;
  }

  /**
   * The copy is current: read (in this epoch) with the worker tracking the head and no change since, or confirmed
   * since by the worker, which read the head's serial again when it tracked it again and found the copy's.
   */
  #current(): boolean {
    const w = this.#words;
    if (this.#serial < 0 || Atomics.load(w, W_EPOCH) !== this.#epoch) return false;
    const c = Atomics.load(w, W_CHANGE);
    if (c === this.#tag) return true;
    if (Atomics.load(w, W_TRACKED) !== c || this.#serial < this.#floor) return false;
    if (loadSerialWord(w) !== this.#serial || Atomics.load(w, W_CHANGE) !== c) return false;
    this.#tag = c;
    return true;
  }

  /** The serial the server may know as this handle's (-1: none usable, as after a reconnect). */
  #known(): number {
    return Atomics.load(this.#words, W_EPOCH) === this.#epoch ? this.#serial : -1;
  }

  #took(v: WireValue | undefined, serial: number, tag: number, certain: boolean, epoch: number) {
    if (epoch === this.#epoch) {
      // An answer older than the copy (a slower reply on the other connection): the copy stays.
      if (serial < this.#serial) return;
    } else {
      this.#floor = 0;
    }
    if (v) {
      this.#bytes = v.bytes;
      this.#valueSid = v.sid;
      if (v.serial !== this.#serial) this.#decodedSerial = -1;
    }
    this.#serial = serial;
    this.#tag = certain && serial >= this.#floor ? tag : undefined;
    this.#epoch = epoch;
  }

  /** This handle was told that `serial` exists (read in `epoch`): a copy older than it is not current. */
  #learned(serial: number, epoch: number) {
    if (epoch !== this.#epoch || serial <= this.#floor) return;
    this.#floor = serial;
    if (this.#serial < serial) this.#tag = undefined;
  }

  /** Makes the copy current: nothing when the server has not invalidated it, else one request. */
  #refresh(): void {
    const hid = this.#checkedHid();
    if (this.#current()) {
      this.stats.cacheHits++;
      return;
    }
    const epoch = Atomics.load(this.#words, W_EPOCH);
    this.stats.requests++;
    const r = this.connection.readSync(hid, this.#known());
    this.#took(r.value, r.serial, r.tag, r.certain, epoch);
  }

  async #refreshAsync(): Promise<void> {
    this.#checkedHid();
    if (this.#current()) {
      this.stats.cacheHits++;
      return;
    }
    const epoch = Atomics.load(this.#words, W_EPOCH);
    this.stats.requests++;
    const r = await this.connection.readAsync(this.#info, this.#words, this.#known());
    this.#took(r.value, r.serial, r.tag, r.certain, epoch);
  }

  /** The serial of the current value (0: nothing stored yet). No command while the copy is current. */
  get serial(): number {
    this.#refresh();
    return Math.max(0, this.#serial);
  }

  /** serial without blocking the thread. */
  async serialAsync(): Promise<number> {
    await this.#refreshAsync();
    return Math.max(0, this.#serial);
  }

  /** True if a commit happened since `serial` was read. */
  changedSince(serial: number): boolean {
    checkInt(serial, 'serial', 0, Number.MAX_SAFE_INTEGER, 'a serial (integer >= 0)');
    return this.serial !== serial;
  }

  /** Bytes of the current value. */
  get length(): number {
    this.#refresh();
    return this.#bytes.byteLength;
  }

  /** The largest value this handle stores, in bytes (maxValueSize). */
  get capacity(): number {
    return this.#o.maxValueSize;
  }

  /** The serializer used by setValue/getValue. */
  get serializer(): Serializer {
    return this.#o.serializer;
  }

  /** The id recorded with values written by setValue (pass it to store()/storeLocked() with bytes you encoded). */
  get serializerId(): number {
    return this.#sid;
  }

  /** True once close() or destroy() ran. */
  get closed(): boolean {
    return this.#closed;
  }

  // ------------------------------------------------------------------ reading

  #out(into: Uint8Array | undefined, info: FetchInfo | undefined): Uint8Array {
    const src = this.#bytes;
    if (info) {
      info.serial = Math.max(0, this.#serial);
      info.serializerId = this.#valueSid;
    }
    if (into === undefined) return Buffer.from(src);
    if (into.byteLength < src.byteLength) {
      throw new ShmError(
        'ERR_SHM_TOO_LARGE',
        `Store '${this.name}': the value has ${src.byteLength} bytes, the buffer given holds ${into.byteLength}`,
        { target: this.name },
      );
    }
    into.set(src);
    return into.subarray(0, src.byteLength);
  }

  /**
   * The current value's bytes (a copy, or a view of `into`), with its serial and serializer id in `info`. No
   * command while the copy is current.
   */
  fetch(into?: Uint8Array, info?: FetchInfo): Uint8Array {
    if (into !== undefined) checkBytes(into, 'into');
    checkInfo(info, 'info');
    this.#refresh();
    return this.#out(into, info);
  }

  /** fetch() without blocking the thread. */
  fetchAsync(into?: Uint8Array, info?: FetchInfo): Promise<Uint8Array> {
    try {
      if (into !== undefined) checkBytes(into, 'into');
      checkInfo(info, 'info');
      // A current copy answers at once: no async step beyond the promise itself.
      if (this.#hit()) return Promise.resolve(this.#out(into, info));
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#refreshAsync().then(() => this.#out(into, info));
  }

  /** The copy is current (counted as a hit); throws when the handle is closed. */
  #hit(): boolean {
    this.#checkedHid();
    if (!this.#current()) return false;
    this.stats.cacheHits++;
    return true;
  }

  #decode<T>(): T | undefined {
    if (this.#serial <= 0) return undefined;
    if (this.#decodedSerial === this.#serial) return this.#decoded as T;
    if (this.#valueSid !== this.#sid) {
      throw serializerMismatchError(this.#sid, this.#valueSid, { target: this.name });
    }
    const v = this.#o.serializer.decode(this.#bytes) as T;
    this.stats.decodes++;
    this.#decoded = v;
    this.#decodedSerial = this.#serial;
    return v;
  }

  /**
   * The current value, decoded (undefined if nothing was stored). While the server has not invalidated this
   * handle's copy, it returns the same decoded object with no command and no decode: treat it as read-only.
   */
  getValue<T = unknown>(): T | undefined {
    this.#refresh();
    return this.#decode<T>();
  }

  /** getValue() without blocking the thread. */
  getValueAsync<T = unknown>(): Promise<T | undefined> {
    try {
      if (this.#hit()) return Promise.resolve(this.#decode<T>());
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#refreshAsync().then(() => this.#decode<T>());
  }

  // ------------------------------------------------------------------ writing

  /** The fencing token of this handle's exclusive lease, for the commit script ('' / -1: none). */
  #token(): number {
    const t = this.lock.token;
    return t === undefined ? -1 : t;
  }

  #checkWrite(bytes: Uint8Array) {
    this.#checkedHid();
    if (bytes.byteLength > this.#o.maxValueSize) {
      throw new ShmError(
        'ERR_SHM_TOO_LARGE',
        `Store '${this.name}': a value of ${bytes.byteLength} bytes does not fit; this store takes at most ${this.#o.maxValueSize} bytes (maxValueSize)`,
        { target: this.name },
      );
    }
    if (this.lock.holdsShared && !this.lock.holdsExclusive) {
      throw new ShmError(
        'ERR_SHM_DEADLOCK',
        `Store '${this.name}': cannot write while this handle holds the shared lock (unlock it, or take the exclusive one)`,
        { target: this.name },
      );
    }
  }

  /** Our own bytes are the value now (`own` is a copy the caller cannot change). */
  #committed(serial: number, own: Uint8Array, sid: number, tag: number, certain: boolean, epoch: number) {
    this.#took({ serial, sid, bytes: own }, serial, tag, certain, epoch);
  }

  /**
   * Commits `bytes` as the new value, recorded with serializer id `serializer` (0: raw bytes). Returns the new serial
   * once the server acknowledged it. Waits while another holder has the lock; under this handle's exclusive lock it
   * sends the fencing token (ERR_SHM_LEASE_EXPIRED if the lease ended). Blocks this thread (the worker commits).
   */
  store(bytes: Uint8Array, serializer = 0): number {
    checkBytes(bytes, 'bytes');
    checkInt(serializer, 'serializer', 0, 0xffffffff, 'a serializer id (integer from 0 to 0xffffffff)');
    this.#checkWrite(bytes);
    const epoch = Atomics.load(this.#words, W_EPOCH);
    this.stats.requests++;
    const r = this.connection.commitSync(this.#hid, bytes, serializer, -1, this.#token());
    this.#committed(r.serial, Uint8Array.prototype.slice.call(bytes), serializer, r.tag, r.certain, epoch);
    return r.serial;
  }

  /** store() without blocking the thread: one commit script on this thread's own connection. */
  storeAsync(bytes: Uint8Array, serializer = 0): Promise<number> {
    let own: Buffer;
    let epoch: number;
    try {
      checkBytes(bytes, 'bytes');
      checkInt(serializer, 'serializer', 0, 0xffffffff, 'a serializer id (integer from 0 to 0xffffffff)');
      this.#checkWrite(bytes);
      epoch = Atomics.load(this.#words, W_EPOCH);
      this.stats.requests++;
      // A copy: the caller may change its buffer while the command waits to be written.
      own = Buffer.from(bytes);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.connection
      .commitAsync(this.#info, this.#words, own, serializer, -1, this.#tokenString())
      .then((r) => {
        this.#committed(r.serial, own, serializer, r.tag, r.certain, epoch);
        return r.serial;
      });
  }

  #tokenString(): string {
    const t = this.lock.token;
    return t === undefined ? '' : String(t);
  }

  /** store() under the exclusive lock this handle holds (ERR_SHM_NOT_HELD if it holds none). */
  storeLocked(bytes: Uint8Array, serializer = 0): number {
    checkBytes(bytes, 'bytes');
    checkInt(serializer, 'serializer', 0, 0xffffffff, 'a serializer id (integer from 0 to 0xffffffff)');
    this.#checkedHid();
    this.#needExclusive();
    return this.store(bytes, serializer);
  }

  /** Throws unless this handle holds the exclusive lock (the *Locked calls need it). */
  #needExclusive(): void {
    if (!this.lock.holdsExclusive) {
      throw new ShmError('ERR_SHM_NOT_HELD', `Store '${this.name}': storeLocked needs the exclusive lock`, {
        target: this.name,
      });
    }
  }

  /** Encodes `value` with the store's serializer and commits it. */
  setValue(value: unknown): number {
    return this.store(this.#o.serializer.encode(value), this.#sid);
  }

  /** setValue() without blocking the thread. */
  setValueAsync(value: unknown): Promise<number> {
    let bytes: Uint8Array;
    try {
      bytes = this.#o.serializer.encode(value);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.storeAsync(bytes, this.#sid);
  }

  /** setValue() under the exclusive lock this handle holds. */
  setValueLocked(value: unknown): number {
    this.#checkedHid();
    this.#needExclusive();
    return this.storeLocked(this.#o.serializer.encode(value), this.#sid);
  }

  /**
   * An atomic read-modify-write across every process and host: runs `fn` with the current value and commits what
   * it returns if no other commit happened meanwhile (a compare-and-set on the serial, in one server-side script);
   * otherwise runs `fn` again with the newer value. Returning undefined keeps the value. `fn` must be free of side
   * effects: it may run more than once. Returns what was committed.
   */
  update<T>(fn: (current: T | undefined, info: UpdateInfo) => T | undefined): T | undefined {
    checkFunction(fn, 'fn');
    // The copy, current or not, is the first guess: a wrong one costs no more than a read (the server answers a
    // conflict with the value that won).
    if (this.#known() < 0) this.#refresh();
    else this.#checkedHid();
    for (let attempt = 0; ; attempt++) {
      const cur = this.#decode<T>();
      const next = fn(cur, { serial: Math.max(0, this.#serial), attempt, ownerDied: false });
      if (next === undefined) return undefined;
      const bytes = this.#o.serializer.encode(next);
      this.#checkWrite(bytes);
      const epoch = Atomics.load(this.#words, W_EPOCH);
      this.stats.requests++;
      const r = this.connection.commitSync(
        this.#hid,
        bytes,
        this.#sid,
        Math.max(0, this.#serial),
        this.#token(),
      );
      if (r.serial > 0) {
        this.#committed(r.serial, Uint8Array.prototype.slice.call(bytes), this.#sid, r.tag, r.certain, epoch);
        return next;
      }
      this.#conflict(r.value!, r.tag, r.certain, epoch);
    }
  }

  /** update() without blocking the thread; `fn` may be async. One commit script per attempt, on this thread. */
  async updateAsync<T>(
    fn: (current: T | undefined, info: UpdateInfo) => T | undefined | Promise<T | undefined>,
  ): Promise<T | undefined> {
    checkFunction(fn, 'fn');
    if (this.#known() < 0) await this.#refreshAsync();
    else this.#checkedHid();
    for (let attempt = 0; ; attempt++) {
      const cur = this.#decode<T>();
      const next = await fn(cur, { serial: Math.max(0, this.#serial), attempt, ownerDied: false });
      if (next === undefined) return undefined;
      const bytes = this.#o.serializer.encode(next);
      this.#checkWrite(bytes);
      const epoch = Atomics.load(this.#words, W_EPOCH);
      this.stats.requests++;
      const own = Buffer.from(bytes); // a serializer may reuse its buffer while the command waits
      const r = await this.connection.commitAsync(
        this.#info,
        this.#words,
        own,
        this.#sid,
        Math.max(0, this.#serial),
        this.#tokenString(),
      );
      if (r.serial > 0) {
        this.#committed(r.serial, own, this.#sid, r.tag, r.certain, epoch);
        return next;
      }
      this.#conflict(r.current!, r.tag, r.certain, epoch);
    }
  }

  /** A compare-and-set lost: the copy becomes the value that won, for the next attempt. */
  #conflict(v: WireValue, tag: number, certain: boolean, epoch: number) {
    this.stats.conflicts++;
    this.#took(v, v.serial, tag, certain, epoch);
    this.#learned(v.serial, epoch);
  }

  // ------------------------------------------------------------------ changes

  /**
   * Resolves with the serial of the value once it differs from `serial` (default: the current one), as pushed by
   * the server, or with `serial` itself when `timeoutMs` ran out first. Never polls.
   */
  async waitForChange(serial?: number, timeoutMs?: number): Promise<number> {
    if (serial !== undefined)
      checkInt(serial, 'serial', 0, Number.MAX_SAFE_INTEGER, 'a serial (integer >= 0)');
    checkTimeout(timeoutMs, 'timeoutMs');
    const s = serial ?? (await this.serialAsync());
    const epoch = Atomics.load(this.#words, W_EPOCH);
    const r = await this.connection.call<{ serial: number }>('waitChange', {
      hid: this.#checkedHid(),
      serial: s,
      timeoutMs: timeoutMs ?? -1,
    });
    // The server has that serial; its invalidation may still be on its way to the worker: the copy is not current.
    if (r.serial !== s) this.#learned(r.serial, epoch);
    return r.serial;
  }

  /**
   * The value after each change, as the server pushes them (starting with the next change, not the current value).
   * Changes that come faster than the loop reads them are coalesced: each value yielded is the latest at the time.
   * Ends when the store is closed (break out of the loop to stop earlier).
   */
  async *changes<T = unknown>(): AsyncGenerator<T | undefined, void, undefined> {
    let s = await this.serialAsync();
    while (!this.#closed) {
      try {
        s = await this.waitForChange(s);
      } catch (e) {
        if (this.#closed) return;
        throw e;
      }
      const v = await this.getValueAsync<T>();
      s = Math.max(0, this.#serial);
      yield v;
    }
  }

  // ------------------------------------------------------------------ lifecycle

  /**
   * Describes the handle: name, server, serial of the copy, whether it is current, lock holds, counters, and the
   * worker's tracking of the head: `tracked` (the server will tell it of the next change), `changes` (how many
   * changes, drops and own writes it counted for this handle).
   */
  debug(): {
    name: string;
    server: string;
    serial: number;
    length: number;
    current: boolean;
    /** The worker is tracking the head now: the server will tell it of the next change. */
    tracked: boolean;
    /** How many changes, drops and own writes the worker counted for this handle. */
    changes: number;
    serializer: string;
    lock: ReturnType<RedisLock['state']>;
    stats: RedisStore['stats'];
  } {
    this.#checkedHid();
    return {
      name: this.name,
      server: this.connection.label,
      serial: Math.max(0, this.#serial),
      length: this.#bytes.byteLength,
      current: this.#current(),
      tracked: Atomics.load(this.#words, W_TRACKED) === Atomics.load(this.#words, W_CHANGE),
      changes: Atomics.load(this.#words, W_CHANGE),
      serializer: this.#o.serializer.name,
      lock: this.lock.state(),
      stats: { ...this.stats },
    };
  }

  /** Releases this handle's locks and forgets the copy; the store stays on the server. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (!this.connection.closed) this.connection.callSync('close', { hid: this.#hid });
    } finally {
      this.connection.release(this.#words);
      this.lock.reset();
      if (this.#ownConnection) releaseShared(this.connection, true);
    }
  }

  /** close() without blocking the thread. */
  async closeAsync(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (!this.connection.closed) await this.connection.call('close', { hid: this.#hid });
    } finally {
      this.connection.release(this.#words);
      this.lock.reset();
      if (this.#ownConnection) await releaseShared(this.connection, false);
    }
  }

  /** Removes the store (value, parts, lock) from the server, then closes this handle. */
  destroy(): void {
    this.connection.callSync('destroy', { hid: this.#checkedHid() });
    this.close();
  }

  /** destroy() without blocking the thread. */
  async destroyAsync(): Promise<void> {
    await this.connection.call('destroy', { hid: this.#checkedHid() });
    await this.closeAsync();
  }
}
