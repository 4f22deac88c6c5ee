// One torture worker: random stores, fetches and locked increments on the POSIX and SysV stores until the stop
// flag is set (or it is SIGKILLed). Violations go to stdout as JSON lines and into its slot's counters.
import { readFileSync } from 'node:fs';
import { type FetchInfo, LockStatus, Region, Store } from '@shm/core';
import { at, BACKENDS, type Backend, INLINE, STOP, W, type WorkerConfig } from './layout.js';
import { makeRecord, prng, recordProblem } from './record.js';

const cfg = JSON.parse(process.argv[2]!) as WorkerConfig;
const rnd = prng(cfg.seed);
const statsRegion = Region.open({ name: cfg.stats, register: false });
const stats = statsRegion.i32;
const slot = cfg.slot;
const bump = (w: number, n = 1) => Atomics.add(stats, at(slot, w), n);
const max = (w: number, v: number) => {
  for (;;) {
    const cur = Atomics.load(stats, at(slot, w));
    if (v <= cur || Atomics.compareExchange(stats, at(slot, w), cur, v) === cur) return;
  }
};
const say = (m: object) => process.stdout.write(`${JSON.stringify(m)}\n`);
function violation(what: string, detail: object = {}) {
  bump(W.violations);
  say({ violation: what, slot, seed: cfg.seed, ...detail });
}

const data = {} as Record<Backend, Store>;
const counter = {} as Record<Backend, Store>;
for (const b of BACKENDS) {
  data[b] = Store.open({ ...cfg.data[b], register: false });
  counter[b] = Store.open({ ...cfg.counter[b], register: false });
}
/** The last serial each data store showed this worker: serials never go backwards for one reader. */
const last: Record<Backend, number> = { posix: 0, sysv: 0 };
const scratch = new Uint8Array(cfg.maxLen + 64);
const info: FetchInfo = { serial: 0, serializerId: 0 };
const SERIAL_MASK = 0x3fffffff;

/** A value size: half inline, half chained (up to maxLen), so banks keep growing and shrinking. */
function size(): number {
  return rnd() < 0.5
    ? 40 + Math.floor(rnd() * (INLINE - 40))
    : INLINE + Math.floor(rnd() * (cfg.maxLen - INLINE));
}

function timed<T>(what: string, b: Backend, f: () => T): T {
  const t0 = performance.now();
  const r = f();
  const ms = performance.now() - t0;
  max(W.maxWaitMs, Math.ceil(ms));
  if (ms > cfg.boundMs)
    violation(`${what} took ${Math.round(ms)} ms, over the ${cfg.boundMs} ms bound`, { backend: b });
  return r;
}

function took(s: LockStatus, what: string, b: Backend): boolean {
  if (s === LockStatus.WouldBlock) {
    violation(`${what}: the lock was not acquired within ${cfg.boundMs} ms`, { backend: b });
    return false;
  }
  if (s === LockStatus.OwnerDied) bump(W.ownerDied);
  return true;
}

function checkRead(b: Backend, bytes: Uint8Array, serial: number) {
  bump(W.fetches);
  const problem = recordProblem(bytes, serial);
  if (problem) violation(problem, { backend: b, serial });
  if (serial < last[b]) violation(`serial went backwards: ${serial} after ${last[b]}`, { backend: b });
  last[b] = serial;
  const mapped = data[b].debug().mappedSegments;
  max(W.maxMapped + BACKENDS.indexOf(b), mapped);
  if (mapped > cfg.mapBound) violation(`maps ${mapped} chained segments, over the bound of ${cfg.mapBound}`);
}

async function store(b: Backend, useAsync: boolean) {
  const s = data[b];
  const t0 = performance.now();
  const status = useAsync ? await s.lock.lockAsync(cfg.boundMs) : s.lock.lock(cfg.boundMs);
  const ms = performance.now() - t0;
  max(W.maxWaitMs, Math.ceil(ms));
  if (ms > cfg.boundMs) violation(`lock (store) took ${Math.round(ms)} ms, over the ${cfg.boundMs} ms bound`);
  if (!took(status, 'store', b)) return;
  try {
    const next = (s.serial + 1) & SERIAL_MASK || 1;
    const got = s.storeLocked(makeRecord(next, slot, size(), (rnd() * 2 ** 32) >>> 0));
    if (got !== next) violation(`storeLocked returned serial ${got}, expected ${next}`, { backend: b });
    bump(W.commits);
  } finally {
    s.lock.unlock();
  }
}

function increment(b: Backend) {
  const c = counter[b];
  const i = BACKENDS.indexOf(b);
  // Counted before it starts and after it returns: a kill in between leaves acknowledged <= final <= attempted.
  bump(W.attempted + i);
  if (
    !took(
      timed('lock (increment)', b, () => c.lock.lock(cfg.boundMs)),
      'increment',
      b,
    )
  )
    return;
  try {
    const cur = c.fetch();
    const v = cur.byteLength === 8 ? Buffer.from(cur).readDoubleLE(0) : 0;
    const out = Buffer.alloc(8);
    out.writeDoubleLE(v + 1, 0);
    c.storeLocked(out);
  } finally {
    c.lock.unlock();
  }
  bump(W.acked + i);
  bump(W.increments);
}

function finalMaps(): Record<Backend, number> {
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
  return {
    posix: maps.filter((l) => l.includes(`/dev/shm${cfg.data.posix.name}.`)).length,
    // Counter stores never chain: every private SysV mapping here is a chained segment of the SysV data store.
    sysv: maps.filter((l) => / \/SYSV00000000( |$)/.test(l)).length,
  };
}

say({ ready: true, pid: process.pid });
for (let n = 0; Atomics.load(stats, STOP) === 0; n++) {
  const b = BACKENDS[rnd() < 0.5 ? 0 : 1]!;
  const r = rnd();
  const async = n % 16 === 15;
  try {
    if (r < 0.3) {
      await store(b, async);
    } else if (r < 0.8) {
      if (async) {
        const t0 = performance.now();
        const bytes = await data[b].fetchAsync(scratch, info);
        const ms = performance.now() - t0;
        if (ms > cfg.boundMs)
          violation(`fetchAsync took ${Math.round(ms)} ms, over the ${cfg.boundMs} ms bound`);
        checkRead(b, bytes, info.serial);
      } else {
        const bytes = timed('fetch', b, () => data[b].fetch(scratch, info));
        checkRead(b, bytes, info.serial);
      }
    } else {
      increment(b);
    }
  } catch (e) {
    violation(`unexpected error: ${(e as Error)?.stack ?? e}`, { backend: b });
  }
  bump(W.ops);
}
const m = finalMaps();
for (const b of BACKENDS) {
  const own = data[b].debug().mappedSegments;
  if (m[b] !== own)
    violation(`/proc/self/maps shows ${m[b]} chained ${b} segments, the handle counts ${own}`);
}
Atomics.store(stats, at(slot, W.finalMaps), m.posix);
Atomics.store(stats, at(slot, W.finalMaps + 1), m.sysv);
if (m.posix > cfg.mapBound || m.sysv > cfg.mapBound)
  violation(
    `survivor maps ${m.posix} POSIX and ${m.sysv} SysV chained segments, over the bound of ${cfg.mapBound}`,
  );
for (const b of BACKENDS) {
  bump(W.lockedReads, data[b].stats.lockedReads);
  bump(W.retries, data[b].stats.retries);
  data[b].close();
  counter[b].close();
}
Atomics.store(stats, at(slot, W.finished), 1);
statsRegion.close();
process.exit(0);
