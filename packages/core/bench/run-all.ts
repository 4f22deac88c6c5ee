// @shm/core benchmarks: every figure is a ratio against a baseline measured in the same run.
// Run: pnpm --filter @shm/core bench   (never part of `test`)
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getSerializer, LOCK_BYTES, Region, RwLock, Store } from '@shm/core';
import { fmt, median, opsPerSec, table } from './harness.js';
import { naiveStore } from './naive.js';

const quick = process.argv.includes('--quick');
const ms = quick ? 100 : 300;
const tag = `shm-bench-${process.pid}`;
/** `--pairs-only`: just the two-process table (with `--sizes=64,16777216` to pick sizes). */
const only = process.argv.includes('--pairs-only');

// 1. Uncontended lock+unlock against a bare CAS pair on the same kind of memory.
if (!only) {
  const r = Region.create({ name: `${tag}-lock`, size: 4096, register: false });
  RwLock.init(r, 0);
  const lock = new RwLock(r, 0);
  const a = r.i32;
  const w = LOCK_BYTES / 4;
  const cas = median(() =>
    opsPerSec(
      () => {
        Atomics.compareExchange(a, w, 0, 1);
        Atomics.store(a, w, 0);
      },
      ms,
      10_000,
    ),
  );
  const ex = median(() =>
    opsPerSec(
      () => {
        lock.lock();
        lock.unlock();
      },
      ms,
      10_000,
    ),
  );
  const sh = median(() =>
    opsPerSec(
      () => {
        lock.lockShared();
        lock.unlockShared();
      },
      ms,
      10_000,
    ),
  );
  const ns = (x: number) => `${(1e9 / x).toFixed(1)} ns`;
  table(
    'Uncontended lock+unlock (one process)',
    ['what', 'per op', 'cost vs bare CAS pair'],
    [
      ['bare CAS + store (baseline)', ns(cas.median), '1.00x'],
      ['RwLock exclusive', ns(ex.median), `${(cas.median / ex.median).toFixed(2)}x`],
      ['RwLock shared', ns(sh.median), `${(cas.median / sh.median).toFixed(2)}x`],
    ],
  );
  lock.release();
  r.destroy();
}

// 2. Two processes: this one stores, a peer fetches, at each size; the same against the naive spin-lock region.
const peer = fileURLToPath(new URL('./pair-peer.ts', import.meta.url));
async function pair(kind: 'store' | 'naive', size: number): Promise<{ stores: number; fetches: number }> {
  const name = `${tag}-${kind}-${size}`;
  const value = new Uint8Array(size).fill(7);
  let doStore: () => void;
  let cleanup: () => void;
  if (kind === 'store') {
    const s = Store.create({ name, register: false, inlineCapacity: 64 * 1024 });
    s.store(value);
    doStore = () => s.store(value);
    cleanup = () => s.destroy();
  } else {
    const r = Region.create({ name, size: size + 4096, register: false });
    naiveStore(r, value);
    doStore = () => naiveStore(r, value);
    cleanup = () => r.destroy();
  }
  const child = fork(peer, [kind, name, String(size)], {
    execArgv: ['--conditions=@shm/source', '--import', 'tsx'],
  });
  await new Promise((res) => child.once('message', res));
  const dur = quick ? 300 : 600;
  let stores = 0;
  const start = performance.now();
  while (performance.now() - start < dur) {
    for (let i = 0; i < 10; i++) doStore();
    stores += 10;
    if (stores % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  const elapsed = performance.now() - start;
  child.send('stop');
  const { fetches } = await new Promise<{ fetches: number }>((res) => child.once('message', res as never));
  cleanup();
  return { stores: (stores * 1000) / elapsed, fetches: (fetches * 1000) / elapsed };
}

const sizesArg = process.argv.find((a) => a.startsWith('--sizes='));
const sizes = sizesArg
  ? sizesArg.slice(8).split(',').map(Number)
  : quick
    ? [64, 65536]
    : [64, 4096, 65536, 1 << 20, 16 << 20];

const rows: (string | number)[][] = [];
const runsArg = process.argv.find((a) => a.startsWith('--runs='));
const runs = runsArg ? Number(runsArg.slice(7)) : quick ? 1 : 5;
/**
 * `runs` rounds of both contenders back to back, the order swapped each round; the ratio is taken per round (the
 * host's load drifts between rounds far more than within one) and its median reported with its range.
 */
async function medianPair(size: number) {
  const b: { stores: number; fetches: number }[] = [];
  const o: { stores: number; fetches: number }[] = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      b.push(await pair('naive', size));
      o.push(await pair('store', size));
    } else {
      o.push(await pair('store', size));
      b.push(await pair('naive', size));
    }
  }
  const med = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const ratio = (k: 'stores' | 'fetches') => {
    const r = o.map((x, i) => x[k] / b[i]![k]);
    const range = runs > 1 ? ` (${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})` : '';
    return `${med(r).toFixed(2)}x${range}`;
  };
  return {
    base: { stores: med(b.map((x) => x.stores)), fetches: med(b.map((x) => x.fetches)) },
    ours: { stores: med(o.map((x) => x.stores)), fetches: med(o.map((x) => x.fetches)) },
    storeRatio: ratio('stores'),
    fetchRatio: ratio('fetches'),
  };
}
for (const size of sizes) {
  const { base, ours, storeRatio, fetchRatio } = await medianPair(size);
  const label = size >= 1 << 20 ? `${size >> 20} MB` : size >= 1024 ? `${size >> 10} KB` : `${size} B`;
  rows.push([
    label,
    fmt(base.stores),
    fmt(ours.stores),
    storeRatio,
    fmt(base.fetches),
    fmt(ours.fetches),
    fetchRatio,
  ]);
}
table(
  `Two processes, one storing and one fetching at once (ops/s, medians of ${runs} rounds; ratio = Store / naive ` +
    'spin-lock region in the same round: median (min-max))',
  ['size', 'naive store/s', 'Store store/s', 'ratio', 'naive fetch/s', 'Store fetch/s', 'ratio'],
  rows,
);

// 3. Reading an unchanged value: the decoded copy is reused until the serial moves.
if (!only) {
  const s = Store.create({ name: `${tag}-cache`, register: false, serializer: 'json' });
  s.setValue({ user: 'ada', roles: ['admin', 'ops'], n: 42 });
  const plain = { user: 'ada', roles: ['admin', 'ops'], n: 42 };
  let sink: unknown;
  const base = median(() => opsPerSec(() => (sink = plain.user), ms, 100_000));
  const cached = median(() => opsPerSec(() => (sink = s.getValue()), ms, 100_000));
  const serial = median(() => opsPerSec(() => (sink = s.serial), ms, 100_000));
  void sink;
  table(
    'Reading an unchanged value (ops/s)',
    ['what', 'ops/s', 'vs plain property read'],
    [
      ['plain object property (ceiling)', fmt(base.median), '1.00x'],
      ['store.getValue() (cached)', fmt(cached.median), `${(cached.median / base.median).toFixed(2)}x`],
      ['store.serial', fmt(serial.median), `${(serial.median / base.median).toFixed(2)}x`],
    ],
  );
  s.destroy();
}

// 4. A small object through each serializer: setValue + getValue (a fresh decode each time) vs JSON in memory.
if (!only) {
  const obj = { id: 12345, name: 'widget', tags: ['a', 'b', 'c'], price: 9.99, stock: { a: 1, b: 2 } };
  const sers: [string, string | object][] = [
    ['json', 'json'],
    ['v8', 'v8'],
  ];
  for (const [pkg, exp] of [
    ['@shm/serializer-msgpack', 'msgpack'],
    ['@shm/serializer-cbor', 'cbor'],
  ] as const) {
    try {
      const m = await import(pkg);
      sers.push([exp, m[exp]]);
    } catch {
      /* package not built yet */
    }
  }
  const base = median(() => opsPerSec(() => JSON.parse(JSON.stringify(obj)), ms, 10_000));
  const out: (string | number)[][] = [
    ['JSON.stringify+parse in memory (baseline)', fmt(base.median), '1.00x'],
  ];
  for (const [label, ser] of sers) {
    const s = Store.create({
      name: `${tag}-ser-${label}`,
      register: false,
      serializer: getSerializer(ser as never),
    });
    const other = Store.open({ name: `${tag}-ser-${label}`, serializer: getSerializer(ser as never) });
    const r = median(() =>
      opsPerSec(
        () => {
          s.setValue(obj);
          other.getValue();
        },
        ms,
        1000,
      ),
    );
    out.push([
      `Store setValue + getValue in another handle (${label})`,
      fmt(r.median),
      `${(r.median / base.median).toFixed(2)}x`,
    ]);
    other.close();
    s.destroy();
  }
  table('A small object round trip (ops/s)', ['what', 'ops/s', 'vs baseline'], out);
}
