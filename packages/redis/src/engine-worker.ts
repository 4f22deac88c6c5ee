// The worker thread of a RedisConnection. It owns the connection that receives the server's invalidations (RESP3,
// CLIENT TRACKING ON NOLOOP, the default mode) and tracks the heads of the stores open in this thread. An
// invalidation drops the key from the server's tracking table, and so does each write, the writer's own included
// even under NOLOOP: after its own commits (in the same round trip), before a read when it is not tracking the head,
// and when the calling thread asks (a copy it read on its own connection), the worker reads the head with a plain
// HMGET, which tracks it again, and publishes the serial it read in the handle's words. So a copy read on any
// connection of this process can be checked against it without a command. It also runs the synchronous calls (the
// caller waits on Atomics.wait over the channel's SharedArrayBuffer), the waits, the locks and their renewals.
// Nothing here decodes values: it moves bytes.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type MessagePort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { createClient } from 'redis';
import { type CommitOutcome, Engine, EngineError, num, str, wire } from './engine.js';
import {
  type CommitReply,
  CTL_DOORBELL,
  CTL_HEARTBEAT,
  CTL_READY,
  CTL_REPLIES,
  type HandleInfo,
  HEARTBEAT_MS,
  OP_COMMIT,
  OP_LOCK,
  OP_PING,
  OP_READ,
  OP_UNLOCK,
  type ReadReply,
  type Reply,
  type Request,
  S_A,
  S_BULK,
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
  storeSerialWord,
  W_CHANGE,
  W_EPOCH,
  W_LEASE_LOST,
  W_TRACKED,
  W_WANT,
  type WireValue,
  type WorkerInit,
} from './protocol.js';

const init = workerData as WorkerInit;
const ctl = new Int32Array(init.ctl);
const LABEL = init.label;

/** A store handle the calling thread opened. */
interface Handle extends HandleInfo {
  words: Int32Array;
  head$: Head;
  /** The exclusive lease this handle holds (its fencing token) and the timer that renews it. */
  exclusive?: { token: string; timer: NodeJS.Timeout } | undefined;
  shared?: { timer: NodeJS.Timeout } | undefined;
  leaseMs: number;
}

/** A head key some handles of this thread have open, and the state of this connection's tracking of it. */
interface Head {
  key: string;
  handles: Set<Handle>;
  /** Bumped on everything that ends the tracking or changes the value: a re-read sent before is void. */
  gen: number;
  /** A re-read asked for by the calling thread is in flight. */
  busy: boolean;
}

const handles = new Map<number, Handle>();
const heads = new Map<string, Head>();
/** Wake-ups for waiters on a key (a change of the head, a release of the lock). */
const waiters = new Map<string, Set<() => void>>();
let nextHid = 1;
let connected = false;
let everConnected = false;

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
const engine = new Engine(client, LABEL, init.timeoutMs, () => connected);

client.on('invalidate', (key: Buffer | string | null) => {
  if (key === null) {
    changedAll();
    return;
  }
  const k = String(key);
  const head = heads.get(k);
  // Not tracked again until a read needs it: a writer's own async commits then cost no HMGET each.
  if (head) changed(head);
  wake(k);
});
client.on('error', () => {
  // node-redis reconnects by itself; every copy is suspect until its head is tracked and read again.
  if (connected) changedAll();
  connected = false;
});
client.on('ready', () => {
  const again = everConnected;
  connected = true;
  everConnected = true;
  if (!again) return; // the first connection: set up below
  for (const h of handles.values()) Atomics.add(h.words, W_EPOCH, 1);
  // The handshake turned tracking on; NOLOOP keeps this connection from being told about its own writes. Then
  // every head is read again, which tracks it on this connection once more.
  engine.command(['CLIENT', 'TRACKING', 'ON', 'NOLOOP']).catch(() => {});
  changedAll();
});

/** The head changed or this connection stopped tracking it: copies of it are no longer current. */
function changed(head: Head, except?: Handle) {
  head.gen++;
  for (const h of head.handles) {
    Atomics.store(h.words, W_TRACKED, -1);
    if (h !== except) Atomics.add(h.words, W_CHANGE, 1);
  }
}

function changedAll() {
  for (const head of heads.values()) changed(head);
  for (const key of [...waiters.keys()]) wake(key);
}

/**
 * Marks the head tracked as of `gen` with the serial read then (when nothing changed it since), so every copy of
 * that serial is current again.
 */
function confirm(head: Head, gen: number, r: Buffer[] | null) {
  if (head.gen !== gen || !Array.isArray(r)) return false;
  const id = str(r[0]);
  const serial = num(r[1]);
  for (const h of head.handles) {
    storeSerialWord(h.words, id === h.id && Number.isSafeInteger(serial) && serial >= 0 ? serial : -1);
    Atomics.store(h.words, W_TRACKED, Atomics.load(h.words, W_CHANGE));
  }
  return true;
}

/**
 * Reads the head with a plain HMGET, sent now (a command sent after it runs after it on the server): the server
 * tracks the head for this connection from then on. Resolves true when that confirmed the handles' tracking (no
 * change came meanwhile).
 */
function track(head: Head): Promise<boolean> {
  const gen = head.gen;
  return engine.command<Buffer[]>(['HMGET', head.key, 'id', 's']).then(
    (r) => confirm(head, gen, r),
    () => false, // the connection is in trouble: the next read tracks it again
  );
}

/** track(), asked for by the calling thread (one at a time per head). */
function trackWanted(head: Head) {
  if (head.busy || !heads.has(head.key)) return;
  head.busy = true;
  void track(head).finally(() => {
    head.busy = false;
  });
}

/** Wakes the waiters on `key`. */
function wake(key: string) {
  const ws = waiters.get(key);
  if (ws) {
    waiters.delete(key);
    for (const w of ws) w();
  }
}

/** Resolves when one of `keys` changes (pushed by the server, or by this connection's own writes), or after `ms`. */
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

// ------------------------------------------------------------------ operations

function handleOf(hid: number): Handle {
  const h = handles.get(hid);
  if (!h) throw new EngineError('ERR_SHM_CLOSED', `store handle ${hid} is closed`, { target: LABEL });
  return h;
}

function forget(h: Handle) {
  h.head$.handles.delete(h);
  if (h.head$.handles.size === 0) heads.delete(h.head$.key);
  handles.delete(h.hid);
}

async function open(a: {
  name: string;
  prefix: string;
  create: boolean;
  exclusive: boolean;
  words: SharedArrayBuffer;
  leaseMs: number;
  partSize: number;
}): Promise<HandleInfo> {
  const base = `${a.prefix}{${a.name}}`;
  const r = await engine.script<Buffer[]>(
    'OPEN',
    [base],
    [a.create ? '1' : '0', a.exclusive ? '1' : '0', randomBytes(8).toString('hex')],
  );
  const st = num(r[0]);
  if (st === 0) {
    throw new EngineError(
      'ERR_SHM_NOT_FOUND',
      `No store '${a.name}' on ${LABEL} (pass create: true, or RedisStore.create(), to make it)`,
      { target: a.name },
    );
  }
  if (st === 3) {
    throw new EngineError(
      'ERR_SHM_EXISTS',
      `Store '${a.name}' already exists on ${LABEL} (exclusive create)`,
      {
        target: a.name,
      },
    );
  }
  let head = heads.get(base);
  if (!head) {
    head = { key: base, handles: new Set(), gen: 0, busy: false };
    heads.set(base, head);
  }
  const words = new Int32Array(a.words);
  Atomics.store(words, W_TRACKED, -1);
  storeSerialWord(words, -1);
  const h: Handle = {
    hid: nextHid++,
    name: a.name,
    head: base,
    lock: `${base}:lock`,
    readers: `${base}:readers`,
    parts: `${base}:p:`,
    id: str(r[1]),
    holder: `${hostname()}:${process.pid}:${randomBytes(6).toString('hex')}`,
    partSize: a.partSize,
    created: st === 2,
    words,
    head$: head,
    leaseMs: a.leaseMs,
  };
  handles.set(h.hid, h);
  head.handles.add(h);
  // Tracked from here on (and its serial known), so the first read can be kept as a current copy.
  head.gen++;
  await track(head);
  const { words: _w, head$: _h, exclusive: _e, shared: _s, leaseMs: _l, ...info } = h;
  return info;
}

/**
 * The tag of a read about to be sent, and (when this connection is not tracking the head now) an HMGET sent first,
 * which tracks it again before the read runs: the read's copy is certain if that confirmed.
 */
function beginRead(h: Handle): { tag: number; tracked: Promise<boolean> | boolean } {
  const tag = Atomics.load(h.words, W_CHANGE);
  if (Atomics.load(h.words, W_TRACKED) === tag) return { tag, tracked: true };
  return { tag, tracked: track(h.head$) };
}

async function read(a: { hid: number; known: number }): Promise<ReadReply> {
  const h = handleOf(a.hid);
  for (;;) {
    const b = beginRead(h);
    const r = await engine.read(h, a.known);
    const tracked = await b.tracked;
    if (!r) continue;
    const certain = tracked && Atomics.load(h.words, W_CHANGE) === b.tag;
    return { serial: r.serial, value: r.value, tag: b.tag, certain };
  }
}

/**
 * Commits bytes, split into parts of at most the handle's part size when larger. Waits while another holds the
 * lock. Each attempt is sent with a plain HMGET of the head right after it: the commit drops the head from this
 * connection's tracking (a write does, for the writer too), the HMGET tracks it again, and its serial says whether
 * anyone wrote between the two (then the copy is not current).
 */
async function commit(a: {
  hid: number;
  bytes: Uint8Array;
  sid: number;
  expect: number;
  token: string;
  parts?: { n: number; gen: string };
}): Promise<CommitReply> {
  const h = handleOf(a.hid);
  const bytes = Buffer.from(a.bytes.buffer, a.bytes.byteOffset, a.bytes.byteLength);
  const parts = a.parts ?? (await engine.writeParts(h, bytes));
  const head = h.head$;
  for (;;) {
    const tag = Atomics.load(h.words, W_CHANGE);
    // Until the HMGET's answer, this connection may not be tracking the head: no copy is certain meanwhile.
    head.gen++;
    for (const x of head.handles) Atomics.store(x.words, W_TRACKED, -1);
    const gen = head.gen;
    let r: Buffer[];
    let t: Buffer[];
    try {
      [r, t] = await engine.scriptThen<Buffer[], Buffer[]>(
        'COMMIT',
        [h.head, h.lock, h.readers],
        engine.commitArgs(h, bytes, a.sid, a.expect, a.token, parts),
        ['HMGET', h.head, 'id', 's'],
      );
    } catch (e) {
      // What the server did is unknown (a timeout may have applied the write): nothing is current.
      changed(head);
      throw e;
    }
    let out: CommitOutcome | undefined;
    let err: unknown;
    try {
      out = await engine.commitOutcome(h, r, a.token);
    } catch (e) {
      err = e;
    }
    if (out?.kind === 'committed') {
      // Our own write: NOLOOP keeps it from invalidating us, so the other handles of this thread are told here;
      // and if someone wrote between our commit and the HMGET (unseen: we were not tracking), ours is not current.
      for (const x of head.handles) if (x !== h) Atomics.add(x.words, W_CHANGE, 1);
      if (!serialIs(t, out.serial)) Atomics.add(h.words, W_CHANGE, 1);
      wake(h.head);
    }
    confirm(head, gen, t);
    if (err !== undefined || !out) throw err;
    if (out.kind === 'busy') {
      // Another holder has the lock: wait for its release (pushed by tracking) or the end of its lease.
      await changeOf([h.lock, h.readers], out.ms + 5);
      continue;
    }
    const unchanged = Atomics.load(h.words, W_CHANGE) === tag;
    if (out.kind === 'conflict') {
      if (!out.current) continue; // overtaken while reading the parts: try again (the serial decides)
      return { serial: 0, current: out.current, tag, certain: unchanged && serialIs(t, out.current.serial) };
    }
    // Certain when the HMGET right after saw our serial (no one wrote between) and nothing changed since.
    return { serial: out.serial, tag, certain: unchanged && serialIs(t, out.serial) };
  }
}

function serialIs(t: Buffer[] | null, serial: number): boolean {
  return Array.isArray(t) && num(t[1]) === serial;
}

function renewEvery(h: Handle, mode: 'exclusive' | 'shared'): NodeJS.Timeout {
  const timer = setInterval(
    () => {
      const lease = mode === 'exclusive' ? h.exclusive : h.shared;
      if (!lease) return;
      const p =
        mode === 'exclusive'
          ? engine.script('RENEW_EXCLUSIVE', [h.lock], [h.holder, h.exclusive!.token, String(h.leaseMs)])
          : engine.script('RENEW_SHARED', [h.readers], [h.holder, String(h.leaseMs)]);
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
        ? await engine.script<Buffer[]>('LOCK_EXCLUSIVE', [h.lock, h.readers], [h.holder, String(h.leaseMs)])
        : await engine.script<Buffer[]>('LOCK_SHARED', [h.lock, h.readers], [h.holder, String(h.leaseMs)]);
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
    ok = num(await engine.script('UNLOCK_EXCLUSIVE', [h.lock], [h.holder, lease.token]));
  } else {
    const lease = h.shared;
    if (!lease) return { ok: false };
    clearInterval(lease.timer);
    h.shared = undefined;
    ok = num(await engine.script('UNLOCK_SHARED', [h.lock, h.readers], [h.holder]));
  }
  // NOLOOP: our release does not come back to us as an invalidation; wake this connection's waiters here.
  wake(h.lock);
  return { ok: ok === 1 };
}

/** Waits until the head's serial differs from `serial` (pushed by tracking), or the timeout. */
async function waitChange(a: { hid: number; serial: number; timeoutMs: number }) {
  const h = handleOf(a.hid);
  const deadline = a.timeoutMs < 0 ? Number.POSITIVE_INFINITY : performance.now() + a.timeoutMs;
  for (;;) {
    // Registered before the read, and the head tracked before it runs: a change after the read wakes us.
    const changedNow = changeOf([h.head], Math.max(1, Math.min(deadline - performance.now(), 2 ** 31 - 1)));
    const b = beginRead(h);
    const r = await engine.script<Buffer[]>('READ', [h.head], [h.id, String(a.serial)]);
    await b.tracked;
    const st = num(r[0]);
    if (st === 0) throw engine.lostError(h, 'missing');
    if (st === 1) throw engine.lostError(h, 'replaced');
    if (st === 3) return { serial: num(r[1]) };
    if (performance.now() >= deadline) return { serial: a.serial };
    await changedNow;
  }
}

async function destroy(a: { hid: number }) {
  const h = handleOf(a.hid);
  await releaseAll(h);
  await engine.script('DESTROY', [h.head, h.lock, h.readers], [h.id, h.parts]);
  changed(h.head$, h);
  wake(h.head);
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
  const text = String(await engine.command(['INFO', 'server']));
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

// ------------------------------------------------------------------ the channel of synchronous calls

const sh = new Int32Array(init.sync, 0, S_HEADER_WORDS);
const sf = new Float64Array(init.sync, S_F_OFFSET, S_F_SLOTS);
const sdata = new Uint8Array(init.sync, S_DATA_OFFSET, S_DATA_CAPACITY);
const bulk = init.bulkPort;

/** Bytes of the request: in the data area, or (too large for it) in the bulk message posted before it. */
function requestBytes(): Uint8Array {
  const len = Atomics.load(sh, S_LEN);
  if (Atomics.load(sh, S_BULK) === 1) {
    const m = receiveMessageOnPort(bulk)?.message as Uint8Array | undefined;
    if (!m || m.byteLength !== len) {
      throw new EngineError('ERR_SHM_REDIS', 'the bytes of a synchronous call did not arrive', {
        target: LABEL,
      });
    }
    return m;
  }
  return Buffer.from(init.sync, S_DATA_OFFSET, len);
}

/** Puts reply bytes in the data area, or in a bulk message when they do not fit. */
function replyBytes(b: Uint8Array) {
  Atomics.store(sh, S_LEN, b.byteLength);
  if (b.byteLength <= S_DATA_CAPACITY) {
    sdata.set(b);
    Atomics.store(sh, S_BULK, 0);
  } else {
    bulk.postMessage(b);
    Atomics.store(sh, S_BULK, 1);
  }
}

function replyValue(v: WireValue | undefined) {
  if (!v) {
    Atomics.store(sh, S_HASVALUE, 0);
    Atomics.store(sh, S_LEN, 0);
    return;
  }
  Atomics.store(sh, S_HASVALUE, 1);
  Atomics.store(sh, S_SID, v.sid);
  sf[1] = v.serial;
  replyBytes(v.bytes);
}

const encoder = new TextEncoder();

async function serveSync(): Promise<void> {
  const op = Atomics.load(sh, S_OP);
  try {
    switch (op) {
      case OP_PING:
        break;
      case OP_READ: {
        const r = await read({ hid: Atomics.load(sh, S_HID), known: sf[0]! });
        sf[0] = r.serial;
        Atomics.store(sh, S_TAG, r.tag);
        Atomics.store(sh, S_CERTAIN, r.certain ? 1 : 0);
        replyValue(r.value);
        break;
      }
      case OP_COMMIT: {
        const token = sf[1]!;
        const r = await commit({
          hid: Atomics.load(sh, S_HID),
          bytes: requestBytes(),
          sid: Atomics.load(sh, S_SID) >>> 0,
          expect: sf[0]!,
          token: token >= 0 ? String(token) : '',
        });
        sf[0] = r.serial;
        Atomics.store(sh, S_TAG, r.tag);
        Atomics.store(sh, S_CERTAIN, r.certain ? 1 : 0);
        replyValue(r.current);
        break;
      }
      case OP_LOCK: {
        const r = await lock({
          hid: Atomics.load(sh, S_HID),
          mode: Atomics.load(sh, S_A) === 0 ? 'exclusive' : 'shared',
          timeoutMs: sf[0]!,
        });
        Atomics.store(sh, S_A, r.status);
        sf[0] = r.token === '' ? -1 : Number(r.token);
        break;
      }
      case OP_UNLOCK: {
        const r = await unlock({
          hid: Atomics.load(sh, S_HID),
          mode: Atomics.load(sh, S_A) === 0 ? 'exclusive' : 'shared',
        });
        Atomics.store(sh, S_A, r.ok ? 1 : 0);
        break;
      }
      default:
        throw new EngineError('ERR_SHM_NOT_SUPPORTED', `unknown synchronous operation ${op}`, {
          target: LABEL,
        });
    }
    Atomics.store(sh, S_STATUS, 0);
  } catch (e) {
    const b = encoder.encode(JSON.stringify(wire(e)));
    Atomics.store(sh, S_STATUS, 1);
    replyBytes(b);
  }
}

/** Atomics.waitAsync (Node >= 16; typed in lib es2024, which this package does not target). */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<unknown> | string };
  }
).waitAsync;

/** The calling thread rang: track the heads of the handles whose W_WANT is set. */
async function doorbellLoop() {
  let seen = Atomics.load(ctl, CTL_DOORBELL);
  for (;;) {
    const w = waitAsync(ctl, CTL_DOORBELL, seen);
    if (w.async) await w.value;
    seen = Atomics.load(ctl, CTL_DOORBELL);
    for (const h of handles.values()) {
      if (Atomics.exchange(h.words, W_WANT, 0) === 1) trackWanted(h.head$);
    }
  }
}

async function syncLoop() {
  let seen = Atomics.load(sh, S_REQ);
  for (;;) {
    const w = waitAsync(sh, S_REQ, seen);
    if (w.async) await w.value;
    const req = Atomics.load(sh, S_REQ);
    if (req === seen) continue;
    seen = req;
    await serveSync();
    Atomics.store(sh, S_REP, req);
    Atomics.notify(sh, S_REP);
  }
}

// ------------------------------------------------------------------ the message loop

async function serve(port: MessagePort, req: Request) {
  let reply: Reply;
  try {
    const op = OPS[req.op];
    if (!op) throw new EngineError('ERR_SHM_NOT_SUPPORTED', `unknown operation ${req.op}`, { target: LABEL });
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
  bulk.close();
}

try {
  await client.connect();
  await engine.command(['CLIENT', 'TRACKING', 'ON', 'NOLOOP']);
  Atomics.store(ctl, CTL_READY, 1);
  init.asyncPort.postMessage({ id: 0, ok: true, r: {} } satisfies Reply);
  void syncLoop();
  void doorbellLoop();
} catch (e) {
  const err = e as Error & { code?: string; errno?: number };
  const code = err.code ?? /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT/.exec(err.message)?.[0];
  const we =
    code && /^E[A-Z]+$/.test(code)
      ? new EngineError(code, `Cannot connect to ${LABEL}: ${err.message}`, {
          errno: typeof err.errno === 'number' ? Math.abs(err.errno) : 0,
          syscall: 'connect',
          target: LABEL,
        })
      : new EngineError('ERR_SHM_UNREACHABLE', `Cannot connect to ${LABEL}: ${err.message}`, {
          target: LABEL,
        });
  Atomics.store(ctl, CTL_READY, -1);
  init.asyncPort.postMessage({ id: 0, ok: false, e: wire(we) } satisfies Reply);
  client.destroy();
} finally {
  Atomics.notify(ctl, CTL_READY);
}
