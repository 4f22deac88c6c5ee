// @shm/core against the raw baseline (naive.ts: a CAS spin lock, a length and a generation word, no crash safety),
// and setValue() against store() of the same bytes. Every figure is a ratio measured in the same run.
// Run: pnpm --filter @shm/core bench:raw   (--quick: fewer rounds; --no-pairs: skip the two-process table)
import { Region, type Serializer, Store } from '@shm/core';
import { type Case, fmt, fmtRatio, interleaved, med, ratioOf, sizeLabel, table, verdict } from './harness.js';
import { naiveFetch, naiveStore } from './naive.js';
import { pairRounds } from './pair.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 7;
const roundMs = quick ? 100 : 250;
const sizes = [64, 4096, 65536, 1 << 20];
const tag = `shm-bench-raw-${process.pid}`;
// A sibling package (it depends on core, so core cannot depend on it): loaded by path, from source.
const msgpackPath = '../../serializer-msgpack/src/index.ts';
const { msgpack } = (await import(msgpackPath)) as { msgpack: Serializer };

const rows: string[][] = [];
const verdicts: string[] = [];
for (const size of sizes) {
  const value = new Uint8Array(size).fill(7);
  const buf = Buffer.from(value);
  const into = new Uint8Array(size + 64);
  const raw = Region.create({ name: `${tag}-r${size}`, size: size + 4096, register: false });
  const bytesStore = Store.create({ name: `${tag}-s${size}`, register: false });
  const valueStore = Store.create({ name: `${tag}-v${size}`, register: false, serializer: msgpack });
  try {
    naiveStore(raw, value);
    bytesStore.store(value);
    valueStore.setValue(buf);
    const cases: Case[] = [
      { label: 'raw store', fn: () => naiveStore(raw, value) },
      { label: 'store', fn: () => bytesStore.store(value) },
      { label: 'raw fetch', fn: () => naiveFetch(raw, into) },
      { label: 'fetch', fn: () => bytesStore.fetch(into) },
      { label: 'setValue', fn: () => valueStore.setValue(buf) },
    ];
    const [rawStore, store, rawFetch, fetch, setValue] = interleaved(cases, { rounds, roundMs }) as [
      number[],
      number[],
      number[],
      number[],
      number[],
    ];
    const st = ratioOf(store, rawStore);
    const fe = ratioOf(fetch, rawFetch);
    const sv = ratioOf(setValue, store);
    rows.push([
      sizeLabel(size),
      fmt(med(rawStore)),
      fmt(med(store)),
      fmtRatio(st),
      fmt(med(rawFetch)),
      fmt(med(fetch)),
      fmtRatio(fe),
      fmt(med(setValue)),
      fmtRatio(sv),
    ]);
    if (size <= 4096)
      verdicts.push(`store ${sizeLabel(size)}: ${st.median.toFixed(2)}x, ${verdict(st, 0.7)}`);
    verdicts.push(`fetch ${sizeLabel(size)}: ${fe.median.toFixed(2)}x, ${verdict(fe, 1)}`);
  } finally {
    raw.destroy();
    bytesStore.destroy();
    valueStore.destroy();
  }
}
table(
  `One process, cases taking turns in 2 ms slices (ops/s, medians of ${rounds} rounds; ratios per round: median (min-max))`,
  [
    'size',
    'raw store/s',
    'store()/s',
    'store / raw',
    'raw fetch/s',
    'fetch(into)/s',
    'fetch / raw',
    'setValue(msgpack)/s',
    'setValue / store',
  ],
  rows,
);

if (!process.argv.includes('--no-pairs')) {
  const runs = quick ? 1 : 3;
  const prow: string[][] = [];
  for (const size of sizes) {
    const { base, ours } = await pairRounds(size, runs, quick ? 200 : 400);
    const st = ratioOf(ours.stores, base.stores);
    const fe = ratioOf(ours.fetches, base.fetches);
    prow.push([
      sizeLabel(size),
      fmt(med(base.stores)),
      fmt(med(ours.stores)),
      fmtRatio(st),
      fmt(med(base.fetches)),
      fmt(med(ours.fetches)),
      fmtRatio(fe),
    ]);
    if (size <= 4096)
      verdicts.push(`two processes, store ${sizeLabel(size)}: ${st.median.toFixed(2)}x, ${verdict(st, 0.7)}`);
    verdicts.push(`two processes, fetch ${sizeLabel(size)}: ${fe.median.toFixed(2)}x, ${verdict(fe, 1)}`);
  }
  table(
    `Two processes, A storing back to back while B fetches (ops/s, medians of ${runs} rounds, order swapped each round)`,
    ['size', 'raw store/s', 'store()/s', 'store / raw', 'raw fetch/s', 'fetch(into)/s', 'fetch / raw'],
    prow,
  );
}
console.log('\nTargets (issue 18):');
for (const v of verdicts) console.log(`  ${v}`);
