// The torture run (issue 15). Several worker processes store random-size checksummed records, fetch them and
// increment counters under the lock, on a POSIX and a SysV store each, while random workers are SIGKILLed every
// 50-300 ms and respawned. Then the survivors stop, every store is destroyed, and the run checks:
//   0 torn, mislabelled or out-of-order reads; 0 lock waits (or fetches) over the bound; for each counter
//   acknowledged <= final <= attempted; at most the mapping bound per survivor; nothing left behind.
// Usage: pnpm --filter @shm/torture torture [--long] [--duration=<s>] [--workers=<n>]
// Replay: TORTURE_SEED=<seed> (printed first) gives the same schedule of kills, values and operations.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Region, Store, type StoreOptions, sysv } from '@shm/core';
import {
  at,
  BACKENDS,
  type Backend,
  INLINE,
  SEGMENT,
  SEGMENT_DATA,
  STATS_BYTES,
  STOP,
  W,
  type WorkerConfig,
} from './layout.js';
import { makeRecord, prng } from './record.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const long = process.argv.includes('--long');
const seed = Number(process.env.TORTURE_SEED ?? randomInt(1, 2 ** 31));
const seconds = Number(arg('duration') ?? process.env.TORTURE_DURATION ?? (long ? 600 : 90));
const workers = Number(arg('workers') ?? process.env.TORTURE_WORKERS ?? 6);
/** Workers in slots below this are never killed: long-lived handles whose mappings item 1 bounds. */
const keepers = Math.min(2, workers - 1);
const boundMs = Number(process.env.TORTURE_BOUND_MS ?? 5000);
const maxLen = 600_000;
/** Item 1's bound for this layout: a bank names at most the segments of the largest value, two banks. */
const mapBound = 2 * Math.ceil(maxLen / SEGMENT_DATA);

console.log(
  `torture: seed ${seed} (replay: TORTURE_SEED=${seed} pnpm --filter @shm/torture torture${long ? ' --long' : ''}), ` +
    `${seconds} s, ${workers} workers (${keepers} never killed), bound ${boundMs} ms, at most ${mapBound} mappings per store handle`,
);

const rnd = prng(seed);
const tag = `shm-torture-${process.pid}`;
const key = (0x7a000000 + (((rnd() * 0xffff) | 0) << 8)) | 0;
const common = { inlineCapacity: INLINE, maxSegmentSize: SEGMENT, pollMs: 5, register: false };
const data: Record<Backend, StoreOptions> = {
  posix: { ...common, name: `/${tag}-data` },
  sysv: { ...common, key },
};
const counter: Record<Backend, StoreOptions> = {
  posix: { ...common, name: `/${tag}-counter` },
  sysv: { ...common, key: key + 1 },
};
const statsName = `/${tag}-stats`;
const stats = Region.create({ name: statsName, size: STATS_BYTES, exclusive: true, register: false });
const own: Store[] = [];
for (const b of BACKENDS) {
  const d = Store.create({ ...data[b], exclusive: true });
  d.store(makeRecord(1, 99, 100, 1));
  own.push(d, Store.create({ ...counter[b], exclusive: true }));
}

const failures: string[] = [];
const fail = (what: string) => {
  failures.push(what);
  if (failures.length <= 30) console.log(`  VIOLATION ${what}`);
};

interface Live {
  child: ChildProcess;
  slot: number;
  ready: boolean;
  exited: Promise<number | null>;
}
const pids: number[] = [];
const live = new Map<number, Live>();
let spawned = 0;
const script = fileURLToPath(new URL('./worker.ts', import.meta.url));

function start(slot: number): Live {
  const cfg: WorkerConfig = {
    slot,
    seed: (rnd() * 2 ** 32) >>> 0,
    stats: statsName,
    data,
    counter,
    maxLen,
    boundMs,
    mapBound,
  };
  const child = spawn(
    process.execPath,
    ['--conditions=@shm/source', '--import', 'tsx', script, JSON.stringify(cfg)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  spawned++;
  pids.push(child.pid!);
  const w: Live = {
    child,
    slot,
    ready: false,
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let m: { ready?: boolean; violation?: string };
    try {
      m = JSON.parse(line);
    } catch {
      m = { violation: `worker ${slot} printed ${line}` };
    }
    if (m.ready) w.ready = true;
    if (m.violation) fail(`worker ${slot} (pid ${child.pid}, seed ${cfg.seed}): ${m.violation}`);
  });
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  child.on('exit', (code, signal) => {
    if (signal !== 'SIGKILL' && code !== 0)
      fail(`worker ${slot} (pid ${child.pid}) exited with ${code ?? signal}: ${err}`);
  });
  live.set(slot, w);
  return w;
}

for (let s = 0; s < workers; s++) start(s);
const t0 = Date.now();
let kills = 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
while (Date.now() - t0 < seconds * 1000) {
  await sleep(50 + rnd() * 250);
  const ready = [...live.values()].filter((w) => w.ready && w.slot >= keepers);
  if (ready.length === 0) continue;
  const victim = ready[Math.floor(rnd() * ready.length)]!;
  victim.child.kill('SIGKILL');
  kills++;
  start(victim.slot);
}

// Stop: every survivor finishes its operation, records its mappings and exits 0. One that does not is wedged.
Atomics.store(stats.i32, STOP, 1);
const survivors = [...live.values()];
for (const w of survivors) {
  const code = await Promise.race([w.exited, sleep(20_000).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    fail(`worker ${w.slot} (pid ${w.child.pid}) did not stop within 20 s (wedged)`);
    w.child.kill('SIGKILL');
    await w.exited;
  }
}

// The counters as the workers left them (the region itself is destroyed with the rest below).
const words = Int32Array.from(stats.i32);
const sum = (word: number) => {
  let n = 0;
  for (let s = 0; s < workers; s++) n += words[at(s, word)]!;
  return n;
};
const most = (word: number) => {
  let n = 0;
  for (let s = 0; s < workers; s++) n = Math.max(n, words[at(s, word)]!);
  return n;
};
const survivorsFinished = survivors.filter(
  (w) => Atomics.load(stats.i32, at(w.slot, W.finished)) === 1,
).length;
if (survivorsFinished !== survivors.length)
  fail(`${survivors.length - survivorsFinished} survivor(s) did not stop cleanly`);

const summary: string[] = [];
BACKENDS.forEach((b, i) => {
  const c = own[2 * i + 1]!;
  const cur = c.fetch();
  const final = cur.byteLength === 8 ? Buffer.from(cur).readDoubleLE(0) : 0;
  const attempted = sum(W.attempted + i);
  const acked = sum(W.acked + i);
  summary.push(`${b} counter: acknowledged ${acked} <= final ${final} <= attempted ${attempted}`);
  if (!(acked <= final && final <= attempted))
    fail(`${b} counter: not acknowledged ${acked} <= final ${final} <= attempted ${attempted}`);
  const mapped = most(W.maxMapped + i);
  const keeperOps = Array.from({ length: keepers }, (_, s) => words[at(s, W.ops)]!);
  summary.push(
    `${b}: at most ${mapped} mappings after a fetch, ${most(W.finalMaps + i)} in a survivor's /proc/self/maps at the end ` +
      `(bound ${mapBound}; the long-lived workers did ${keeperOps.join(' and ')} operations)`,
  );
  if (mapped > mapBound || most(W.finalMaps + i) > mapBound)
    fail(`${b}: mappings over the bound of ${mapBound}`);
});

// Nothing left behind: destroy every store, then look for anything of this run.
// What the descriptors named just before, so that a leak says whether it was named (and by which bank).
const namedBefore = new Map<number, string>();
for (const s of own) {
  for (const seg of s.debug().segments) namedBefore.set(seg.id, `bank ${seg.bank}`);
}
for (const s of own) s.destroy();
stats.destroy();
const leftFiles = existsSync('/dev/shm') ? readdirSync('/dev/shm').filter((f) => f.startsWith(tag)) : [];
const pidSet = new Set([...pids, process.pid]);
const leftSysv = sysv
  .listSysv()
  .filter(
    (e) =>
      e.kind === 'shm' && (e.key === key || e.key === key + 1 || (e.key === 0 && pidSet.has(e.cpid ?? -1))),
  );
if (leftFiles.length) fail(`left behind in /dev/shm: ${leftFiles.join(', ')}`);
if (leftSysv.length) {
  fail(
    `left behind: SysV segments ${leftSysv.map((e) => `${e.id} (key ${e.key}, creator ${e.cpid})`).join(', ')}`,
  );
  // The evidence for the next person: the segment's header words and kernel record, then remove it.
  for (const e of leftSysv) {
    try {
      const st = sysv.shmStat(e.id);
      const seg = Region.open({ backend: 'sysv', shmid: e.id, readonly: true, register: false });
      const dv = new DataView(seg.buffer);
      const words = [0, 4, 8, 12].map((o) => `0x${dv.getUint32(o, true).toString(16)}`).join(' ');
      seg.close();
      console.log(
        `  leaked ${e.id}: header (magic, store id, gen, size) ${words}; size ${st.size}, nattch ${st.nattch}, ` +
          `cpid ${st.cpid}, ctime ${st.ctime}; named before destroy: ${namedBefore.get(e.id) ?? 'no'}`,
      );
    } catch (err) {
      console.log(`  leaked ${e.id}: could not inspect (${(err as Error).message})`);
    }
    sysv.shmRemove(e.id);
  }
}

console.log(
  [
    `torture: ${Math.round((Date.now() - t0) / 1000)} s, ${spawned} workers started, ${kills} SIGKILLed`,
    `  ${sum(W.ops)} operations: ${sum(W.commits)} commits, ${sum(W.fetches)} checked reads, ${sum(W.increments)} increments`,
    `  ${sum(W.ownerDied)} locks taken over from dead holders, longest wait ${most(W.maxWaitMs)} ms (bound ${boundMs} ms)`,
    ...summary.map((s) => `  ${s}`),
    `  ${failures.length} violation(s)${failures.length ? `: replay with TORTURE_SEED=${seed}` : ''}`,
  ].join('\n'),
);
process.exit(failures.length ? 1 : 0);
