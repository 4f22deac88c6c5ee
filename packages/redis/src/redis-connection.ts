import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { expected, ShmError, ShmSystemError } from '@shm/core';
import {
  CTL_HEARTBEAT,
  CTL_READY,
  CTL_REPLIES,
  CTL_WORDS,
  HEARTBEAT_MS,
  type Reply,
  type WireError,
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

/**
 * One connection to a Redis (or Valkey) server, owned by a worker thread of this process. Every store opened on it
 * shares it. Synchronous calls (`store()`, `getValue()` on a changed value, `update()`...) block this thread on
 * Atomics.wait until the worker has the server's reply; asynchronous ones (`storeAsync()`...) await it. The worker
 * also receives the server's invalidations (RESP3 client tracking), so a read of an unchanged value needs no
 * command at all. See docs/decisions/0005-redis-sync-async-boundary.md.
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
  readonly #worker: Worker;
  readonly #ctl: Int32Array;
  readonly #sync: MessagePort;
  readonly #async: MessagePort;
  readonly #pending = new Map<number, { resolve(r: any): void; reject(e: Error): void }>();
  #nextId = 1;
  #closed = false;
  #ready: Promise<void>;

  constructor(options: RedisConnectionOptions = {}) {
    const o = checkOptions(options);
    this.url = o.url;
    this.label = serverLabel(o.url);
    this.timeoutMs = o.timeoutMs;
    const ctl = new SharedArrayBuffer(CTL_WORDS * 4);
    this.#ctl = new Int32Array(ctl);
    Atomics.store(this.#ctl, CTL_HEARTBEAT, Date.now() & 0x7fffffff); // the worker takes over once it runs
    const s = new MessageChannel();
    const a = new MessageChannel();
    this.#sync = s.port1;
    this.#async = a.port1;
    const init: WorkerInit = {
      url: o.url,
      label: this.label,
      timeoutMs: o.timeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      ctl,
      syncPort: s.port2,
      asyncPort: a.port2,
    };
    this.#worker = new Worker(workerEntry(), {
      workerData: init,
      transferList: [s.port2, a.port2],
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
    } catch (e) {
      c.#terminate();
      throw e;
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
   * @internal Runs `op` in the worker and blocks this thread until its reply. Gives up with ERR_SHM_TIMEOUT only if
   * the worker itself stops answering (its heartbeat stops); commands time out in the worker.
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
      if (Atomics.wait(ctl, CTL_REPLIES, seen, HEARTBEAT_MS * 10) === 'timed-out') {
        const beat = Atomics.load(ctl, CTL_HEARTBEAT);
        const age = ((Date.now() & 0x7fffffff) - beat + 0x80000000) % 0x80000000;
        if (age > STALE_WORKER_MS) {
          throw new ShmError(
            'ERR_SHM_TIMEOUT',
            `The worker thread of the connection to ${this.label} stopped answering (${op})`,
            { target: this.label },
          );
        }
      }
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
    this.#terminate();
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
