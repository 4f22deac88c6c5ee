// @shm/core benchmarks: every figure is a ratio against a baseline measured in the same run.
// Run: pnpm --filter @shm/core bench   (never part of `test`)
import { getSerializer, LOCK_BYTES, Region, RwLock, Store } from '@shm/core';
import { fmt, fmtRatio, med, median, opsPerSec, ratioOf, sizeLabel, table } from './harness.js';
import { pairRounds } from './pair.js';

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

// 2. Two processes: this one stores, a peer fetches, at each size; the same against the raw spin-lock region.
const sizesArg = process.argv.find((a) => a.startsWith('--sizes='));
const sizes = sizesArg
  ? sizesArg.slice(8).split(',').map(Number)
  : quick
    ? [64, 65536]
    : [64, 4096, 65536, 1 << 20, 16 << 20];

const rows: (string | number)[][] = [];
const runsArg = process.argv.find((a) => a.startsWith('--runs='));
const runs = runsArg ? Number(runsArg.slice(7)) : quick ? 1 : 5;
async function medianPair(size: number) {
  const { base: b, ours: o } = await pairRounds(size, runs, quick ? 300 : 600);
  const ratio = (k: 'stores' | 'fetches') => {
    const r = ratioOf(o[k], b[k]);
    return runs > 1 ? fmtRatio(r) : `${r.median.toFixed(2)}x`;
  };
  return {
    base: { stores: med(b.stores), fetches: med(b.fetches) },
    ours: { stores: med(o.stores), fetches: med(o.fetches) },
    storeRatio: ratio('stores'),
    fetchRatio: ratio('fetches'),
  };
}
for (const size of sizes) {
  const { base, ours, storeRatio, fetchRatio } = await medianPair(size);
  const label = sizeLabel(size);
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
