// The worker thread of a RedisConnection: it owns the node-redis client (RESP3, CLIENT TRACKING ON NOLOOP), runs
// every command, receives the server's invalidations and bumps the change word of each handle they concern, and
// renews leases. The calling thread either awaits a reply (async calls) or blocks on Atomics.wait until it comes
// (sync calls). Nothing here decodes values: it moves bytes.
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type MessagePort, workerData } from 'node:worker_threads';
import { createClient, RESP_TYPES } from 'redis';
import {
  type CommitReply,
  CTL_HEARTBEAT,
  CTL_READY,
  CTL_REPLIES,
  HEARTBEAT_MS,
  type ReadReply,
  type Reply,
  type Request,
  W_CHANGE,
  W_EPOCH,
  W_LEASE_LOST,
  type WireError,
  type WireValue,
  type WorkerInit,
} from './protocol.js';
import { SCRIPTS, type ScriptName } from './scripts.js';

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.ctl);
const LABEL = init.label;
const TIMEOUT = init.timeoutMs;
const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer, [RESP_TYPES.SIMPLE_STRING]: Buffer } as const;
const SHA = Object.fromEntries(
  Object.entries(SCRIPTS).map(([k, src]) => [k, createHash('sha1').update(src).digest('hex')]),
) as Record<ScriptName, string>;

/** A store handle the calling thread opened. */
interface Handle {
  hid: number;
  name: string;
  head: string;
  lock: string;
  readers: string;
  parts: string;
  /** The store's creation id: a head with another id (or none) means the value this handle knew is gone. */
  id: string;
  words: Int32Array;
  holder: string;
  /** The exclusive lease this handle holds (its fencing token) and the timer that renews it. */
  exclusive?: { token: string; timer: NodeJS.Timeout };
  shared?: { timer: NodeJS.Timeout };
  leaseMs: number;
}

const handles = new Map<number, Handle>();
/** Every key the worker cares about -> the handles that care (head, lock and readers keys). */
const byKey = new Map<string, Set<Handle>>();
/** Wake-ups for waiters on a key (a change of the head, a release of the lock). */
const waiters = new Map<string, Set<() => void>>();
let nextHid = 1;
let connected = false;
let everConnected = false;

class WorkerError extends Error {
  code: string;
  target: string | undefined;
  errno: number | undefined;
  syscall: string | undefined;
  constructor(
    code: string,
    message: string,
    extra: { target?: string; errno?: number; syscall?: string } = {},
  ) {
    super(message);
    this.name = 'ShmError';
    this.code = code;
    this.target = extra.target ?? LABEL;
    this.errno = extra.errno;
    this.syscall = extra.syscall;
  }
}

// ------------------------------------------------------------------ the connection

const client = createClient({
  url: init.url,
  RESP: 3,
  emitInvalidate: true,
  socket: {
    connectTimeout: init.connectTimeoutMs,
    // The first connection fails at once (connection refused is an error for the caller); after that, keep trying.
    reconnectStrategy: (retries: number, cause: Error) =>
      everConnected ? Math.min(50 * retries, 500) : cause,
  },
});

client.on('invalidate', (key: Buffer | string | null) => {
  if (key === null) {
    invalidateAll();
    return;
  }
  touch(String(key));
});
client.on('error', () => {
  // node-redis reconnects by itself; every copy is suspect until it is read again from the server.
  if (connected) invalidateAll();
  connected = false;
});
client.on('ready', () => {
  connected = true;
  if (everConnected) for (const h of handles.values()) Atomics.add(h.words, W_EPOCH, 1);
  everConnected = true;
  invalidateAll();
  // The handshake turned tracking on; NOLOOP keeps a writer tracked without telling it about its own writes.
  client.sendCommand(['CLIENT', 'TRACKING', 'ON', 'NOLOOP']).catch(() => {});
});

/** A key changed on the server: bump the words of the handles that cache it and wake its waiters. */
function touch(key: string, except?: Handle) {
  const hs = byKey.get(key);
  if (hs) {
    for (const h of hs) {
      if (h === except) continue;
      if (key === h.head) Atomics.add(h.words, W_CHANGE, 1);
    }
  }
  const ws = waiters.get(key);
  if (ws) {
    waiters.delete(key);
    for (const w of ws) w();
  }
}

function invalidateAll() {
  for (const h of handles.values()) Atomics.add(h.words, W_CHANGE, 1);
  for (const key of [...waiters.keys()]) touch(key);
}

/** Resolves when `key` changes (pushed by the server, or by this connection's own writes), or after `ms`. */
function changeOf(keys: string[], ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const k of keys) waiters.get(k)?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(1, Math.min(ms, 2 ** 31 - 1)));
    for (const k of keys) {
      let s = waiters.get(k);
      if (!s) waiters.set(k, (s = new Set()));
      s.add(done);
    }
  });
}

function describe(args: readonly (string | Buffer)[]): string {
  const name = String(args[0]);
  if (name === 'EVALSHA' || name === 'EVAL') {
    const script = Object.entries(SHA).find(([, sha]) => sha === String(args[1]))?.[0];
    return `${name} (${script ?? 'script'}) ${String(args[3] ?? '')}`;
  }
  return `${name} ${args.length > 1 ? String(args[1]).slice(0, 200) : ''}`.trim();
}

/** One command, with the connection's timeout; errors become ShmErrors naming the server and the command. */
async function command<T = any>(args: (string | Buffer)[], timeoutMs = TIMEOUT): Promise<T> {
  try {
    return (await client.sendCommand(args, {
      typeMapping: BUFFERS,
      timeout: timeoutMs,
      rejectInFlight: true,
    })) as T;
  } catch (e) {
    throw translate(e, describe(args), timeoutMs);
  }
}

function translate(e: unknown, what: string, timeoutMs: number): WorkerError {
  if (e instanceof WorkerError) return e;
  const err = e as Error & { code?: string; errno?: number };
  const name = err?.name ?? '';
  const msg = err?.message ?? String(e);
  if (/Timeout/i.test(name) || /timed? ?out/i.test(msg)) {
    return new WorkerError(
      'ERR_SHM_TIMEOUT',
      `${LABEL} did not answer ${what} within ${timeoutMs} ms${connected ? '' : ' (the connection is down)'} (a write may have been applied anyway)`,
    );
  }
  if (/closed|ClientClosed|disconnect/i.test(name + msg) || !connected) {
    return new WorkerError('ERR_SHM_UNREACHABLE', `${LABEL} is unreachable (${what}): ${msg}`);
  }
  return new WorkerError('ERR_SHM_REDIS', `${LABEL} refused ${what}: ${msg}`);
}

/** Runs a script by SHA, loading it when the server does not know it (after a restart, or the first time). */
async function script<T = any>(name: ScriptName, keys: string[], argv: (string | Buffer)[]): Promise<T> {
  const tail = [String(keys.length), ...keys, ...argv];
  try {
    return await command<T>(['EVALSHA', SHA[name], ...tail]);
  } catch (e) {
    if (!(e instanceof WorkerError) || !/NOSCRIPT/.test(e.message)) throw e;
    return command<T>(['EVAL', SCRIPTS[name], ...tail]);
  }
}

const str = (x: unknown) => (x === null || x === undefined ? '' : String(x));
const num = (x: unknown) => Number(str(x));

// ------------------------------------------------------------------ operations

function handleOf(hid: number): Handle {
  const h = handles.get(hid);
  if (!h) throw new WorkerError('ERR_SHM_CLOSED', `store handle ${hid} is closed`);
  return h;
}

function lostError(h: Handle, why: 'missing' | 'replaced'): WorkerError {
  return new WorkerError(
    'ERR_SHM_NOT_FOUND',
    why === 'missing'
      ? `Store '${h.name}' is gone from ${LABEL}: the server lost it (restarted without persistence, flushed or evicted it) or another process destroyed it; its last value is not served from a stale copy`
      : `Store '${h.name}' on ${LABEL} was destroyed and created again by another process since this handle opened it; open it again to use the new one`,
    { target: h.name },
  );
}

function remember(key: string, h: Handle) {
  let s = byKey.get(key);
  if (!s) byKey.set(key, (s = new Set()));
  s.add(h);
}

function forget(h: Handle) {
  for (const k of [h.head, h.lock, h.readers]) {
    const s = byKey.get(k);
    s?.delete(h);
    if (s?.size === 0) byKey.delete(k);
  }
  handles.delete(h.hid);
}

async function open(a: {
  name: string;
  prefix: string;
  create: boolean;
  exclusive: boolean;
  words: SharedArrayBuffer;
  leaseMs: number;
}) {
  const base = `${a.prefix}{${a.name}}`;
  const r = await script<Buffer[]>(
    'OPEN',
    [base],
    [a.create ? '1' : '0', a.exclusive ? '1' : '0', randomBytes(8).toString('hex')],
  );
  const st = num(r[0]);
  if (st === 0) {
    throw new WorkerError(
      'ERR_SHM_NOT_FOUND',
      `No store '${a.name}' on ${LABEL} (pass create: true, or RedisStore.create(), to make it)`,
      { target: a.name },
    );
  }
  if (st === 3) {
    throw new WorkerError(
      'ERR_SHM_EXISTS',
      `Store '${a.name}' already exists on ${LABEL} (exclusive create)`,
      {
        target: a.name,
      },
    );
  }
  const h: Handle = {
    hid: nextHid++,
    name: a.name,
    head: base,
    lock: `${base}:lock`,
    readers: `${base}:readers`,
    parts: `${base}:p:`,
    id: str(r[1]),
    words: new Int32Array(a.words),
    holder: `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`,
    leaseMs: a.leaseMs,
  };
  handles.set(h.hid, h);
  remember(h.head, h);
  remember(h.lock, h);
  remember(h.readers, h);
  return { hid: h.hid, created: st === 2, id: h.id };
}

/** The value described by a READ/COMMIT reply tail {s, z, n, g, len, v}, its parts fetched if it has any. */
async function wireValue(h: Handle, t: Buffer[]): Promise<WireValue | undefined> {
  const serial = num(t[0]);
  const sid = num(t[1]);
  const n = num(t[2]);
  const len = num(t[4]);
  if (!Number.isSafeInteger(serial) || !Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger(len)) {
    throw new WorkerError('ERR_SHM_BAD_FORMAT', `Store '${h.name}' on ${LABEL} has a corrupt head`, {
      target: h.name,
    });
  }
  if (n === 0) {
    const v = (t[5] as Buffer | undefined) ?? Buffer.alloc(0);
    if (v.byteLength !== len) {
      throw new WorkerError(
        'ERR_SHM_BAD_FORMAT',
        `Store '${h.name}' on ${LABEL} is corrupt: its head says ${len} bytes and holds ${v.byteLength}`,
        { target: h.name },
      );
    }
    return { serial, sid, bytes: v };
  }
  const gen = str(t[3]);
  const parts = await Promise.all(
    Array.from({ length: n }, (_, i) => command<Buffer | null>(['GET', `${h.parts}${gen}:${i}`])),
  );
  // A commit after the head was read removed this generation: the caller reads again.
  if (parts.some((p) => p === null)) return undefined;
  const out = Buffer.allocUnsafe(len);
  let off = 0;
  for (const p of parts as Buffer[]) {
    if (off + p.byteLength > len) break;
    out.set(p, off);
    off += p.byteLength;
  }
  if (off !== len || parts.reduce((s, p) => s + p!.byteLength, 0) !== len) {
    throw new WorkerError(
      'ERR_SHM_BAD_FORMAT',
      `Store '${h.name}' on ${LABEL} is corrupt: its ${n} parts do not hold the ${len} bytes its head says`,
      { target: h.name },
    );
  }
  return { serial, sid, bytes: out };
}

async function read(a: { hid: number; known: number }): Promise<ReadReply> {
  const h = handleOf(a.hid);
  for (;;) {
    const tag = Atomics.load(h.words, W_CHANGE);
    const r = await script<Buffer[]>('READ', [h.head], [h.id, String(a.known)]);
    const st = num(r[0]);
    if (st === 0) throw lostError(h, 'missing');
    if (st === 1) throw lostError(h, 'replaced');
    const certain = Atomics.load(h.words, W_CHANGE) === tag;
    if (st === 2) return { serial: num(r[1]), tag, certain };
    const value = await wireValue(h, r.slice(1));
    if (value) return { serial: value.serial, value, tag, certain };
  }
}

/** Commits bytes, split into parts of at most `partSize` bytes when larger. Waits while another holds the lock. */
async function commit(a: {
  hid: number;
  bytes: Uint8Array;
  sid: number;
  expect: number;
  token: string;
  partSize: number;
}): Promise<CommitReply> {
  const h = handleOf(a.hid);
  const bytes = Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
  let n = 0;
  let gen = '';
  if (bytes.byteLength > a.partSize) {
    gen = randomBytes(8).toString('hex');
    n = Math.ceil(bytes.byteLength / a.partSize);
    // Written first, expiring in an hour: a writer that dies before the commit leaves nothing behind for good.
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        command([
          'SET',
          `${h.parts}${gen}:${i}`,
          bytes.subarray(i * a.partSize, Math.min(bytes.byteLength, (i + 1) * a.partSize)),
          'PX',
          '3600000',
        ]),
      ),
    );
  }
  for (;;) {
    const tag = Atomics.load(h.words, W_CHANGE);
    const r = await script<Buffer[]>(
      'COMMIT',
      [h.head, h.lock, h.readers],
      [
        h.id,
        a.expect >= 0 ? String(a.expect) : '',
        a.token,
        h.holder,
        String(a.sid),
        String(n),
        gen,
        String(bytes.byteLength),
        n === 0 ? bytes : '',
        h.parts,
      ],
    );
    const st = num(r[0]);
    if (st === 0) throw lostError(h, 'missing');
    if (st === 1) throw lostError(h, 'replaced');
    if (st === 4) {
      throw new WorkerError(
        'ERR_SHM_LEASE_EXPIRED',
        `Commit to '${h.name}' refused by ${LABEL}: fencing token ${a.token} is stale (its lease ended${
          str(r[1]) && str(r[1]) !== a.token ? `; the lock's current token is ${str(r[1])}` : ''
        }); nothing was written`,
        { target: h.name },
      );
    }
    if (st === 5) {
      // Another holder has the lock: wait for its release (pushed by tracking) or the end of its lease.
      await changeOf([h.lock, h.readers], num(r[1]) + 5);
      continue;
    }
    const certain = Atomics.load(h.words, W_CHANGE) === tag;
    if (st === 6) {
      const current = await wireValue(h, r.slice(1));
      if (!current) continue; // overtaken while reading the parts: try again (the serial decides)
      return { serial: 0, current, tag, certain };
    }
    // Our own commit: NOLOOP keeps it from invalidating us, so the other handles on this connection are told here.
    touch(h.head, h);
    return { serial: num(r[1]), tag, certain };
  }
}

function renewEvery(h: Handle, mode: 'exclusive' | 'shared'): NodeJS.Timeout {
  const timer = setInterval(
    () => {
      const lease = mode === 'exclusive' ? h.exclusive : h.shared;
      if (!lease) return;
      const p =
        mode === 'exclusive'
          ? script('RENEW_EXCLUSIVE', [h.lock], [h.holder, h.exclusive!.token, String(h.leaseMs)])
          : script('RENEW_SHARED', [h.readers], [h.holder, String(h.leaseMs)]);
      p.then(
        (ok) => {
          if (num(ok) === 0) leaseLost(h, mode);
        },
        () => {
          /* a failed renewal is retried by the next tick; the server ends the lease if none succeeds */
        },
      );
    },
    Math.max(10, Math.floor(h.leaseMs / 3)),
  );
  timer.unref();
  return timer;
}

function leaseLost(h: Handle, mode: 'exclusive' | 'shared') {
  const lease = mode === 'exclusive' ? h.exclusive : h.shared;
  if (lease) clearInterval(lease.timer);
  Atomics.store(h.words, W_LEASE_LOST, 1);
}

async function lock(a: { hid: number; mode: 'exclusive' | 'shared'; timeoutMs: number }) {
  const h = handleOf(a.hid);
  const deadline = a.timeoutMs < 0 ? Number.POSITIVE_INFINITY : performance.now() + a.timeoutMs;
  for (;;) {
    const r =
      a.mode === 'exclusive'
        ? await script<Buffer[]>('LOCK_EXCLUSIVE', [h.lock, h.readers], [h.holder, String(h.leaseMs)])
        : await script<Buffer[]>('LOCK_SHARED', [h.lock, h.readers], [h.holder, String(h.leaseMs)]);
    const st = num(r[0]);
    if (st !== 0) {
      Atomics.store(h.words, W_LEASE_LOST, 0);
      if (a.mode === 'exclusive') h.exclusive = { token: str(r[1]), timer: renewEvery(h, 'exclusive') };
      else h.shared = { timer: renewEvery(h, 'shared') };
      return { status: st, token: a.mode === 'exclusive' ? str(r[1]) : '' };
    }
    const left = deadline - performance.now();
    if (left <= 0) return { status: 0, token: '' };
    await changeOf([h.lock, h.readers], Math.min(left, num(r[1]) + 5));
  }
}

async function unlock(a: { hid: number; mode: 'exclusive' | 'shared' }) {
  const h = handleOf(a.hid);
  let ok: number;
  if (a.mode === 'exclusive') {
    const lease = h.exclusive;
    if (!lease) return { ok: false };
    clearInterval(lease.timer);
    h.exclusive = undefined;
    ok = num(await script('UNLOCK_EXCLUSIVE', [h.lock], [h.holder, lease.token]));
  } else {
    const lease = h.shared;
    if (!lease) return { ok: false };
    clearInterval(lease.timer);
    h.shared = undefined;
    ok = num(await script('UNLOCK_SHARED', [h.lock, h.readers], [h.holder]));
  }
  // NOLOOP: our release does not come back to us as an invalidation; wake this connection's waiters here.
  touch(h.lock, h);
  return { ok: ok === 1 };
}

/** Waits until the head's serial differs from `serial` (pushed by tracking), or the timeout. */
async function waitChange(a: { hid: number; serial: number; timeoutMs: number }) {
  const h = handleOf(a.hid);
  const deadline = a.timeoutMs < 0 ? Number.POSITIVE_INFINITY : performance.now() + a.timeoutMs;
  for (;;) {
    // Registered before the read: a change between the read and the wait still wakes us.
    const changed = changeOf([h.head], Math.max(1, Math.min(deadline - performance.now(), 2 ** 31 - 1)));
    const r = await script<Buffer[]>('READ', [h.head], [h.id, String(a.serial)]);
    const st = num(r[0]);
    if (st === 0) throw lostError(h, 'missing');
    if (st === 1) throw lostError(h, 'replaced');
    if (st === 3) return { serial: num(r[1]) };
    if (performance.now() >= deadline) return { serial: a.serial };
    await changed;
  }
}

async function destroy(a: { hid: number }) {
  const h = handleOf(a.hid);
  await releaseAll(h);
  await script('DESTROY', [h.head, h.lock, h.readers], [h.id, h.parts]);
  touch(h.head, h);
  forget(h);
  return {};
}

async function releaseAll(h: Handle) {
  if (h.exclusive) await unlock({ hid: h.hid, mode: 'exclusive' }).catch(() => {});
  if (h.shared) await unlock({ hid: h.hid, mode: 'shared' }).catch(() => {});
}

async function closeHandle(a: { hid: number }) {
  const h = handles.get(a.hid);
  if (!h) return {};
  await releaseAll(h);
  forget(h);
  return {};
}

async function info() {
  const text = String(await command(['INFO', 'server']));
  return {
    runId: /run_id:(\w+)/.exec(text)?.[1] ?? '',
    version: /redis_version:([\w.]+)/.exec(text)?.[1] ?? '',
  };
}

const OPS: Record<string, (a: any) => Promise<unknown>> = {
  open,
  read,
  commit,
  lock,
  unlock,
  waitChange,
  destroy,
  close: closeHandle,
  closeAll: async () => {
    for (const h of [...handles.values()]) await closeHandle({ hid: h.hid }).catch(() => {});
    return {};
  },
  info,
};

// ------------------------------------------------------------------ the message loop

function wire(e: unknown): WireError {
  if (e instanceof WorkerError) {
    return {
      name: e.name,
      message: e.message,
      code: e.code,
      ...(e.target !== undefined ? { target: e.target } : {}),
      ...(e.errno !== undefined ? { errno: e.errno, syscall: e.syscall ?? '' } : {}),
    };
  }
  const err = e as Error;
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), code: 'ERR_SHM_REDIS' };
}

async function serve(port: MessagePort, req: Request) {
  let reply: Reply;
  try {
    const op = OPS[req.op];
    if (!op) throw new WorkerError('ERR_SHM_NOT_SUPPORTED', `unknown operation ${req.op}`);
    reply = { id: req.id, ok: true, r: await op(req.a) };
  } catch (e) {
    reply = { id: req.id, ok: false, e: wire(e) };
  }
  port.postMessage(reply);
  if (req.sync) {
    Atomics.add(ctl, CTL_REPLIES, 1);
    Atomics.notify(ctl, CTL_REPLIES);
  }
}

setInterval(() => Atomics.store(ctl, CTL_HEARTBEAT, Date.now() & 0x7fffffff), HEARTBEAT_MS).unref();
Atomics.store(ctl, CTL_HEARTBEAT, Date.now() & 0x7fffffff);

init.syncPort.on('message', (req: Request) => void serve(init.syncPort, req));
init.asyncPort.on('message', (req: Request) => {
  if (req.op === 'shutdown') {
    void shutdown(req);
    return;
  }
  void serve(init.asyncPort, req);
});

async function shutdown(req: Request) {
  for (const h of [...handles.values()]) await closeHandle({ hid: h.hid }).catch(() => {});
  await client.close().catch(() => client.destroy());
  init.asyncPort.postMessage({ id: req.id, ok: true, r: {} } satisfies Reply);
  init.syncPort.close();
  init.asyncPort.close();
}

try {
  await client.connect();
  await client.sendCommand(['CLIENT', 'TRACKING', 'ON', 'NOLOOP']);
  Atomics.store(ctl, CTL_READY, 1);
  init.asyncPort.postMessage({ id: 0, ok: true, r: {} } satisfies Reply);
} catch (e) {
  const err = e as Error & { code?: string; errno?: number };
  const code = err.code ?? /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.exec(err.message)?.[0];
  const we =
    code && /^E[A-Z]+$/.test(code)
      ? new WorkerError(code, `Cannot connect to ${LABEL}: ${err.message}`, {
          errno: typeof err.errno === 'number' ? Math.abs(err.errno) : 0,
          syscall: 'connect',
        })
      : new WorkerError('ERR_SHM_UNREACHABLE', `Cannot connect to ${LABEL}: ${err.message}`);
  Atomics.store(ctl, CTL_READY, -1);
  init.asyncPort.postMessage({ id: 0, ok: false, e: wire(we) } satisfies Reply);
  client.destroy();
} finally {
  Atomics.notify(ctl, CTL_READY);
}
