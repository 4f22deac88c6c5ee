import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { expected, ShmError, ShmSystemError } from '@shm/core';
import { createClient } from 'redis';
import { Engine, EngineError, wire } from './engine.js';
import {
  type CommitReply,
  CTL_DOORBELL,
  CTL_HEARTBEAT,
  CTL_READY,
  CTL_REPLIES,
  CTL_WORDS,
  type HandleInfo,
  HEARTBEAT_MS,
  OP_COMMIT,
  OP_LOCK,
  OP_PING,
  OP_READ,
  OP_UNLOCK,
  type ReadReply,
  type Reply,
  S_A,
  S_BULK,
  S_BYTES,
  S_CERTAIN,
  S_DATA_CAPACITY,
  S_DATA_OFFSET,
  S_F_OFFSET,
  S_F_SLOTS,
  S_HASVALUE,
  S_HEADER_WORDS,
  S_HID,
  S_LEN,
  S_OP,
  S_REP,
  S_REQ,
  S_SID,
  S_STATUS,
  S_TAG,
  W_CHANGE,
  W_EPOCH,
  W_TRACKED,
  W_WANT,
  type WireError,
  type WireValue,
  type WorkerInit,
} from './protocol.js';

/** Options of `new RedisConnection()` (and of `RedisStore.create/open` when they make their own connection). */
export interface RedisConnectionOptions {
  /** `redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS). Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** How long one command may take before it fails with ERR_SHM_TIMEOUT, in ms (default 5000). */
  timeoutMs?: number;
  /** How long the first connection may take, in ms (default 5000). */
  connectTimeoutMs?: number;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';
/** A worker whose heartbeat is older than this is stuck (commands themselves time out in the worker). */
const STALE_WORKER_MS = 10_000;

function serverLabel(url: string): string {
  try {
    const u = new URL(url);
    return `redis ${u.hostname}:${u.port || '6379'}`;
  } catch {
    return `redis ${url}`;
  }
}

/** The worker's script, as a URL a Worker can start: the .js beside this file, or the .ts source through tsx. */
function workerEntry(): URL {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new URL('./engine-worker.js', here);
  // Source mode (tests, the monorepo): the worker registers tsx itself, as a worker inherits no loader hooks.
  const tsx = pathToFileURL(
    createRequire(here)
      .resolve('tsx/esm/api')
      .replace(/index\.cjs$/, 'index.mjs'),
  ).href;
  const target = new URL('./engine-worker.ts', here).href;
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(target)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(boot)}`);
}

export function errorFromWire(e: WireError): Error {
  if (e.name === 'TypeError') return new TypeError(e.message);
  if (e.name === 'RangeError') return new RangeError(e.message);
  if (e.errno !== undefined && e.code) {
    const err = new ShmSystemError(
      e.message.replace(/^E[A-Z]+: /, ''),
      e.errno,
      e.syscall ?? '',
      e.target ?? '',
      e.code,
    );
    return err;
  }
  return new ShmError(
    e.code ?? 'ERR_SHM_REDIS',
    e.message,
    e.target !== undefined ? { target: e.target } : {},
  );
}

/** The reply of a synchronous call, reused by every call of one connection (read it before the next call). */
export interface SyncReply {
  /** read: the serial; commit: the serial committed (0 on a conflict); lock: the token (-1: none). */
  serial: number;
  tag: number;
  certain: boolean;
  /** read: the value, when the server sent one; commit: the current value on a conflict. */
  value: WireValue | undefined;
  /** lock: the status; unlock: 1 released, 0 the lease had ended first. */
  status: number;
}

const decoder = new TextDecoder();

/**
 * The calling thread's own connection to the server, for the async calls that read and commit: they cost what
 * the commands cost, with no hop to the worker. It tracks nothing: whether a copy read on it is current is told
 * by the worker, which tracks every open head (see protocol.ts).
 */
class OwnConnection {
  readonly engine: Engine;
  readonly #client: ReturnType<typeof createClient>;
  readonly #ready: Promise<void>;
  #connected = false;
  #everConnected = false;
  #inflight = 0;
  /** The words of the handles open on the connection: a reconnect makes their cached serials unsafe to send. */
  readonly words = new Set<Int32Array>();

  constructor(url: string, label: string, timeoutMs: number, connectTimeoutMs: number) {
    this.#client = createClient({
      url,
      socket: {
        connectTimeout: connectTimeoutMs,
        reconnectStrategy: (retries: number, cause: Error) =>
          this.#everConnected ? Math.min(50 * retries, 500) : cause,
      },
      disableClientInfo: true,
    });
    this.engine = new Engine(this.#client, label, timeoutMs, () => this.#connected);
    this.#client.on('error', () => {
      if (this.#connected) for (const w of this.words) Atomics.add(w, W_EPOCH, 1);
      this.#connected = false;
    });
    this.#client.on('ready', () => {
      if (this.#everConnected) for (const w of this.words) Atomics.add(w, W_EPOCH, 1);
      this.#connected = true;
      this.#everConnected = true;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.failed = true;
        this.#client.destroy();
        reject(
          new EngineError(
            'ERR_SHM_TIMEOUT',
            `${label} did not answer within ${connectTimeoutMs} ms (connecting this thread's connection for the async calls)`,
            { target: label },
          ),
        );
      }, connectTimeoutMs);
    });
    this.#ready = Promise.race([this.#client.connect(), late]).then(
      () => {
        clearTimeout(timer);
        this.#client.unref();
        this.ready = true;
      },
      (e: Error) => {
        clearTimeout(timer);
        this.failed = true;
        throw this.engine.translate(e, 'connect');
      },
    );
    this.#ready.catch(() => {});
  }

  /** True once connected (the first time). */
  ready = false;
  /** True when the first connection failed (a later call makes a new one). */
  failed = false;

  /** Resolves once connected (the first time); rejects with the connect error. */
  whenReady(): Promise<void> {
    return this.#ready;
  }

  /** Keeps the process alive while a call is in flight (the socket is unref'd otherwise, as the worker is). */
  hold(): void {
    if (this.#inflight++ === 0) this.#client.ref();
  }

  unhold(): void {
    if (--this.#inflight === 0) this.#client.unref();
  }

  close(): Promise<void> {
    return this.#ready.then(
      () => this.#client.close().catch(() => this.#client.destroy()),
      () => {},
    );
  }

  destroy(): void {
    this.#ready.then(
      () => this.#client.destroy(),
      () => {},
    );
  }
}

function fromEngine(e: unknown): Error {
  return e instanceof EngineError ? errorFromWire(wire(e)) : (e as Error);
}

/**
 * One connection to a Redis (or Valkey) server, owned by a worker thread of this process, plus (for the async
 * calls) one of this thread's own. Every store opened on it shares it. Synchronous calls (`store()`, `getValue()`
 * on a changed value, `update()`...) block this thread on Atomics.wait until the worker has the server's reply;
 * asynchronous reads and commits (`storeAsync()`, `fetchAsync()`...) go to the server on this thread's own
 * connection. The worker receives the server's invalidations (RESP3 client tracking), so a read of an unchanged
 * value needs no command at all. See docs/decisions/0005-redis-sync-async-boundary.md.
 *
 * Construction connects synchronously (blocking up to `connectTimeoutMs`); `RedisConnection.connect()` does the
 * same without blocking. Close it when done: it releases this process's locks (a process that exits without
 * closing keeps them until their leases end).
 */
export class RedisConnection {
  /** 'redis host:port', as errors name the server. */
  readonly label: string;
  /** The URL connected to. */
  readonly url: string;
  /** The command timeout (ms). */
  readonly timeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #worker: Worker;
  readonly #ctl: Int32Array;
  readonly #sync: MessagePort;
  readonly #async: MessagePort;
  readonly #bulk: MessagePort;
  readonly #sh: Int32Array;
  readonly #sf: Float64Array;
  readonly #sdata: Uint8Array;
  readonly #reply: SyncReply = { serial: 0, tag: 0, certain: false, value: undefined, status: 0 };
  readonly #pending = new Map<number, { resolve(r: any): void; reject(e: Error): void }>();
  #own: OwnConnection | undefined;
  #nextId = 1;
  #closed = false;
  #ready: Promise<void>;

  constructor(options: RedisConnectionOptions = {}) {
    const o = checkOptions(options);
    this.url = o.url;
    this.label = serverLabel(o.url);
    this.timeoutMs = o.timeoutMs;
    this.#connectTimeoutMs = o.connectTimeoutMs;
    const ctl = new SharedArrayBuffer(CTL_WORDS * 4);
    this.#ctl = new Int32Array(ctl);
    Atomics.store(this.#ctl, CTL_HEARTBEAT, Date.now() & 0x7fffffff); // the worker takes over once it runs
    const sync = new SharedArrayBuffer(S_BYTES);
    this.#sh = new Int32Array(sync, 0, S_HEADER_WORDS);
    this.#sf = new Float64Array(sync, S_F_OFFSET, S_F_SLOTS);
    this.#sdata = new Uint8Array(sync, S_DATA_OFFSET, S_DATA_CAPACITY);
    const s = new MessageChannel();
    const a = new MessageChannel();
    const b = new MessageChannel();
    this.#sync = s.port1;
    this.#async = a.port1;
    this.#bulk = b.port1;
    const init: WorkerInit = {
      url: o.url,
      label: this.label,
      timeoutMs: o.timeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      ctl,
      sync,
      syncPort: s.port2,
      asyncPort: a.port2,
      bulkPort: b.port2,
    };
    this.#worker = new Worker(workerEntry(), {
      workerData: init,
      transferList: [s.port2, a.port2, b.port2],
      execArgv: [],
      name: `@shm/redis ${this.label}`,
    });
    this.#worker.unref();
    this.#worker.on('error', (e) => this.#fail(e));
    this.#worker.on('exit', () => this.#fail(new Error('the worker thread exited')));
    let first: { resolve(): void; reject(e: Error): void };
    this.#ready = new Promise<void>((resolve, reject) => {
      first = { resolve, reject };
    });
    this.#ready.catch(() => {});
    this.#pending.set(0, { resolve: () => first.resolve(), reject: (e) => first.reject(e) });
    this.#async.on('message', (m: Reply) => this.#onReply(m));
    this.#async.unref();
  }

  /** A connection, connected without blocking this thread. */
  static async connect(options: RedisConnectionOptions = {}): Promise<RedisConnection> {
    const c = new RedisConnection(options);
    c.#async.ref();
    try {
      await c.#ready;
      // This thread's own connection for the async calls, made now so that the first one does not wait for it.
      await c.#ownConnection().whenReady();
    } catch (e) {
      c.#terminate();
      throw fromEngine(e);
    } finally {
      c.#async.unref();
    }
    return c;
  }

  /** A connection, connected before it returns (blocks this thread up to the connect timeout). */
  static connectSync(options: RedisConnectionOptions = {}): RedisConnection {
    const c = new RedisConnection(options);
    const deadline = performance.now() + (options.connectTimeoutMs ?? 5000) + 5000;
    while (Atomics.load(c.#ctl, CTL_READY) === 0) {
      const left = deadline - performance.now();
      if (left <= 0) {
        c.#terminate();
        throw new ShmError('ERR_SHM_TIMEOUT', `Timed out connecting to ${c.label}`, { target: c.label });
      }
      Atomics.wait(c.#ctl, CTL_READY, 0, Math.min(left, 100));
    }
    if (Atomics.load(c.#ctl, CTL_READY) < 0) {
      const m = receiveMessageOnPort(c.#async)?.message as Reply | undefined;
      c.#terminate();
      throw m?.e ? errorFromWire(m.e) : new ShmError('ERR_SHM_UNREACHABLE', `Cannot connect to ${c.label}`);
    }
    // The ready message is still queued on the async port: drop it.
    c.#pending.delete(0);
    return c;
  }

  /** True once close() ran or the worker ended. */
  get closed(): boolean {
    return this.#closed;
  }

  #check(): void {
    if (this.#closed) throw new ShmError('ERR_SHM_CLOSED', `The connection to ${this.label} is closed`);
  }

  #onReply(m: Reply) {
    const p = this.#pending.get(m.id);
    if (!p) return;
    this.#pending.delete(m.id);
    if (this.#pending.size === 0) this.#async.unref();
    if (m.ok) p.resolve(m.r);
    else p.reject(errorFromWire(m.e!));
  }

  #fail(e: Error) {
    for (const p of this.#pending.values())
      p.reject(new ShmError('ERR_SHM_UNREACHABLE', `${this.label}: ${e.message}`));
    this.#pending.clear();
    this.#closed = true;
  }

  /** @internal Runs `op` in the worker and awaits its reply (the event loop stays alive meanwhile). */
  call<T>(op: string, a: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    try {
      this.#check();
    } catch (e) {
      return Promise.reject(e);
    }
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) this.#async.ref();
      this.#async.postMessage({ id, op, sync: false, a }, transfer);
    });
  }

  /**
   * @internal Runs `op` in the worker and blocks this thread until its reply, through a message port (the calls
   * that are not on the hot path: open, close, destroy). Gives up with ERR_SHM_TIMEOUT only if the worker itself
   * stops answering (its heartbeat stops); commands time out in the worker.
   */
  callSync<T>(op: string, a: unknown): T {
    this.#check();
    const id = this.#nextId++;
    const ctl = this.#ctl;
    this.#sync.postMessage({ id, op, sync: true, a });
    for (;;) {
      const seen = Atomics.load(ctl, CTL_REPLIES);
      for (let m = receiveMessageOnPort(this.#sync); m; m = receiveMessageOnPort(this.#sync)) {
        const r = m.message as Reply;
        if (r.id !== id) continue; // a reply to a call that gave up earlier
        if (r.ok) return r.r as T;
        throw errorFromWire(r.e!);
      }
      if (Atomics.wait(ctl, CTL_REPLIES, seen, HEARTBEAT_MS * 10) === 'timed-out') this.#checkHeartbeat(op);
    }
  }

  #checkHeartbeat(op: string) {
    const beat = Atomics.load(this.#ctl, CTL_HEARTBEAT);
    const age = ((Date.now() & 0x7fffffff) - beat + 0x80000000) % 0x80000000;
    if (age > STALE_WORKER_MS) {
      throw new ShmError(
        'ERR_SHM_TIMEOUT',
        `The worker thread of the connection to ${this.label} stopped answering (${op})`,
        { target: this.label },
      );
    }
  }

  // ------------------------------------------------------------------ the hot synchronous calls

  /**
   * Sends the request set up in the channel and blocks on Atomics.wait until the worker answered: no message, no
   * allocation. Throws the worker's error.
   */
  #hop(op: number, what: string): void {
    this.#check();
    const sh = this.#sh;
    const prev = Atomics.load(sh, S_REQ);
    if (Atomics.load(sh, S_REP) !== prev) {
      throw new ShmError(
        'ERR_SHM_TIMEOUT',
        `The worker thread of the connection to ${this.label} is still busy with a synchronous call that gave up (${what})`,
        { target: this.label },
      );
    }
    Atomics.store(sh, S_OP, op);
    const id = (prev + 1) | 0;
    Atomics.store(sh, S_REQ, id);
    Atomics.notify(sh, S_REQ);
    while (Atomics.load(sh, S_REP) !== id) {
      if (Atomics.wait(sh, S_REP, prev, HEARTBEAT_MS * 10) === 'timed-out') this.#checkHeartbeat(what);
    }
    if (Atomics.load(sh, S_STATUS) !== 0) {
      throw errorFromWire(JSON.parse(decoder.decode(this.#replyBytes())) as WireError);
    }
  }

  /** The reply's bytes, as a copy the caller keeps. */
  #replyBytes(): Uint8Array {
    const len = Atomics.load(this.#sh, S_LEN);
    if (Atomics.load(this.#sh, S_BULK) === 1) {
      const m = receiveMessageOnPort(this.#bulk)?.message as Uint8Array | undefined;
      if (!m || m.byteLength !== len) {
        throw new ShmError('ERR_SHM_REDIS', `The bytes of a reply from ${this.label} did not arrive`, {
          target: this.label,
        });
      }
      return m;
    }
    return this.#sdata.slice(0, len);
  }

  #requestBytes(bytes: Uint8Array) {
    Atomics.store(this.#sh, S_LEN, bytes.byteLength);
    if (bytes.byteLength <= S_DATA_CAPACITY) {
      this.#sdata.set(bytes);
      Atomics.store(this.#sh, S_BULK, 0);
    } else {
      this.#bulk.postMessage(bytes);
      Atomics.store(this.#sh, S_BULK, 1);
    }
  }

  #takeValue(r: SyncReply) {
    if (Atomics.load(this.#sh, S_HASVALUE) === 1) {
      r.value = { serial: this.#sf[1]!, sid: Atomics.load(this.#sh, S_SID) >>> 0, bytes: this.#replyBytes() };
    } else {
      r.value = undefined;
    }
  }

  /** @internal A round trip to the worker that sends nothing to the server (what a hop costs). */
  pingSync(): void {
    this.#hop(OP_PING, 'ping');
  }

  /** @internal A read through the worker; `known` is the serial the caller has (-1: none). */
  readSync(hid: number, known: number): SyncReply {
    Atomics.store(this.#sh, S_HID, hid);
    this.#sf[0] = known;
    this.#hop(OP_READ, 'read');
    const r = this.#reply;
    r.serial = this.#sf[0]!;
    r.tag = Atomics.load(this.#sh, S_TAG);
    r.certain = Atomics.load(this.#sh, S_CERTAIN) === 1;
    this.#takeValue(r);
    return r;
  }

  /** @internal A commit through the worker (it waits while another holder has the lock). */
  commitSync(hid: number, bytes: Uint8Array, sid: number, expect: number, token: number): SyncReply {
    Atomics.store(this.#sh, S_HID, hid);
    Atomics.store(this.#sh, S_SID, sid | 0);
    this.#sf[0] = expect;
    this.#sf[1] = token;
    this.#requestBytes(bytes);
    this.#hop(OP_COMMIT, 'commit');
    const r = this.#reply;
    r.serial = this.#sf[0]!;
    r.tag = Atomics.load(this.#sh, S_TAG);
    r.certain = Atomics.load(this.#sh, S_CERTAIN) === 1;
    this.#takeValue(r);
    return r;
  }

  /** @internal Takes a lock through the worker: `status` (LockStatus) and the token in `serial` (-1: none). */
  lockSync(hid: number, mode: 'exclusive' | 'shared', timeoutMs: number): SyncReply {
    Atomics.store(this.#sh, S_HID, hid);
    Atomics.store(this.#sh, S_A, mode === 'exclusive' ? 0 : 1);
    this.#sf[0] = timeoutMs;
    this.#hop(OP_LOCK, 'lock');
    const r = this.#reply;
    r.status = Atomics.load(this.#sh, S_A);
    r.serial = this.#sf[0]!;
    return r;
  }

  /** @internal Releases a lock through the worker: `status` 1 released, 0 the lease had ended first. */
  unlockSync(hid: number, mode: 'exclusive' | 'shared'): SyncReply {
    Atomics.store(this.#sh, S_HID, hid);
    Atomics.store(this.#sh, S_A, mode === 'exclusive' ? 0 : 1);
    this.#hop(OP_UNLOCK, 'unlock');
    const r = this.#reply;
    r.status = Atomics.load(this.#sh, S_A);
    return r;
  }

  // ------------------------------------------------------------------ the async calls on this thread's connection

  #ownConnection(): OwnConnection {
    this.#check();
    if (!this.#own || this.#own.failed) {
      this.#own = new OwnConnection(this.url, this.label, this.timeoutMs, this.#connectTimeoutMs);
    }
    return this.#own;
  }

  /** @internal Tells this thread's connection about a handle's words (a reconnect of it moves their epoch). */
  adopt(words: Int32Array): void {
    this.#own?.words.add(words);
    this.#adopted.add(words);
  }

  /** @internal */
  release(words: Int32Array): void {
    this.#own?.words.delete(words);
    this.#adopted.delete(words);
  }

  readonly #adopted = new Set<Int32Array>();

  /** This thread's own connection, connected, holding the process alive until unhold(). */
  async #held(): Promise<OwnConnection> {
    const own = this.#ownConnection();
    if (own.words.size !== this.#adopted.size) for (const w of this.#adopted) own.words.add(w);
    if (!own.ready) {
      try {
        await own.whenReady();
      } catch (e) {
        throw fromEngine(e);
      }
    }
    own.hold();
    return own;
  }

  /** @internal Asks the worker to track the head of the handle of `w` again (it will confirm the copy's serial). */
  wantTracking(w: Int32Array): void {
    if (Atomics.exchange(w, W_WANT, 1) === 0) {
      Atomics.add(this.#ctl, CTL_DOORBELL, 1);
      Atomics.notify(this.#ctl, CTL_DOORBELL);
    }
  }

  /**
   * @internal A read on this thread's own connection. When the worker is not tracking the head, the copy read is
   * not certain: the worker is asked to track it again, and its serial, if the same, makes the copy current.
   */
  async readAsync(h: HandleInfo, w: Int32Array, known: number): Promise<ReadReply> {
    const ready = this.#own?.ready && !this.#closed;
    const own = ready ? this.#own! : await this.#held();
    if (ready) own.hold();
    try {
      for (;;) {
        const tag = Atomics.load(w, W_CHANGE);
        const tracked = Atomics.load(w, W_TRACKED) === tag;
        if (!tracked) this.wantTracking(w);
        const r = await own.engine.read(h, known);
        if (!r) continue; // overtaken while reading the parts
        return {
          serial: r.serial,
          value: r.value,
          tag,
          certain: tracked && Atomics.load(w, W_CHANGE) === tag,
        };
      }
    } catch (e) {
      throw fromEngine(e);
    } finally {
      own.unhold();
    }
  }

  /**
   * @internal A commit on this thread's own connection; when another holder has the lock, the worker takes the
   * commit over and waits for the lock's release (pushed to it) or lease end.
   */
  async commitAsync(
    h: HandleInfo,
    w: Int32Array,
    bytes: Buffer,
    sid: number,
    expect: number,
    token: string,
  ): Promise<CommitReply> {
    const ready = this.#own?.ready && !this.#closed;
    const own = ready ? this.#own! : await this.#held();
    if (ready) own.hold();
    try {
      const e = own.engine;
      const pp = e.writeParts(h, bytes);
      const parts = pp instanceof Promise ? await pp : pp;
      for (;;) {
        const tag = Atomics.load(w, W_CHANGE);
        const tracked = Atomics.load(w, W_TRACKED) === tag;
        const r = await e.script<Buffer[]>(
          'COMMIT',
          [h.head, h.lock, h.readers],
          e.commitArgs(h, bytes, sid, expect, token, parts),
        );
        const o = e.commitOutcome(h, r, token);
        const out = o instanceof Promise ? await o : o;
        if (out.kind === 'busy') {
          return await this.call<CommitReply>('commit', { hid: h.hid, bytes, sid, expect, token, parts });
        }
        const certain = tracked && Atomics.load(w, W_CHANGE) === tag;
        if (out.kind === 'conflict') {
          if (!out.current) continue;
          return { serial: 0, current: out.current, tag, certain };
        }
        return { serial: out.serial, tag, certain };
      }
    } catch (e) {
      throw fromEngine(e);
    } finally {
      own.unhold();
    }
  }

  /** Closes the connection: releases the locks its stores hold and ends the worker. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.call('shutdown', {});
    } catch {
      /* the worker is gone already */
    }
    const own = this.#own;
    this.#own = undefined;
    this.#terminate();
    await own?.close();
  }

  /** close() that blocks this thread until done. */
  closeSync(): void {
    if (this.#closed) return;
    try {
      // Locks first (close of every handle), then the worker.
      this.callSync('closeAll', {});
    } catch {
      /* the worker is gone already */
    }
    this.#terminate();
  }

  #terminate() {
    this.#closed = true;
    for (const p of this.#pending.values())
      p.reject(new ShmError('ERR_SHM_CLOSED', `The connection to ${this.label} is closed`));
    this.#pending.clear();
    this.#sync.close();
    this.#async.close();
    this.#bulk.close();
    this.#own?.destroy();
    void this.#worker.terminate();
  }
}

function checkOptions(o: RedisConnectionOptions): Required<RedisConnectionOptions> {
  if (typeof o !== 'object' || o === null) throw expected('an options object', 'options', o);
  const url = o.url ?? DEFAULT_URL;
  if (typeof url !== 'string' || !/^(redis|rediss|valkey|valkeys):\/\//.test(url)) {
    throw expected('a redis:// or rediss:// URL', 'options.url', url);
  }
  for (const k of ['timeoutMs', 'connectTimeoutMs'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number') throw expected('a number of milliseconds', `options.${k}`, v);
    if (!Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1) {
      throw expected('an integer number of milliseconds from 1 to 2^31-1', `options.${k}`, v, RangeError);
    }
  }
  return {
    url: url.replace(/^valkey(s?):/, 'redis$1:'),
    timeoutMs: o.timeoutMs ?? 5000,
    connectTimeoutMs: o.connectTimeoutMs ?? 5000,
  };
}
