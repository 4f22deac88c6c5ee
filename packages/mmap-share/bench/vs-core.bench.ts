// @shm/mmap-share set()/get() against @shm/core store()/fetch() of the same bytes, in one process, in turns
// (@shm/test-utils/bench). Both are anonymous (memfd) stores of the same capacity; the share uses 'raw'.
// Run: pnpm --filter @shm/mmap-share bench:core   (--quick for fewer rounds)
import { Store } from '@shm/core';
import { MmapShare } from '@shm/mmap-share';
import {
  type Case,
  fmt,
  fmtRatio,
  interleaved,
  med,
  ratioOf,
  sizeLabel,
  table,
  verdict,
} from '@shm/test-utils/bench';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 7;
const roundMs = quick ? 100 : 250;
const rows: string[][] = [];
const verdicts: string[] = [];
for (const size of [64, 4096, 65536, 1 << 20]) {
  const value = Buffer.alloc(size, 7); // a Buffer: get() gives one back, as fetch() does
  const share = new MmapShare(size + 1, { serializer: 'raw' });
  const store = Store.create({ inlineCapacity: size + 1, maxValueSize: size + 1 });
  try {
    share.set(value);
    store.store(value);
    const cases: Case[] = [
      { label: 'store', fn: () => store.store(value) },
      { label: 'set', fn: () => share.set(value) },
      { label: 'fetch', fn: () => store.fetch() },
      { label: 'get', fn: () => share.get() },
    ];
    const [st, set, fe, get] = interleaved(cases, { rounds, roundMs }) as [
      number[],
      number[],
      number[],
      number[],
    ];
    const rs = ratioOf(set, st);
    const rg = ratioOf(get, fe);
    rows.push([
      sizeLabel(size),
      fmt(med(st)),
      fmt(med(set)),
      fmtRatio(rs),
      fmt(med(fe)),
      fmt(med(get)),
      fmtRatio(rg),
    ]);
    verdicts.push(`set/store ${sizeLabel(size)}: ${rs.median.toFixed(2)}x, ${verdict(rs, 0.7)}`);
    verdicts.push(`get/fetch ${sizeLabel(size)}: ${rg.median.toFixed(2)}x, ${verdict(rg, 0.7)}`);
  } finally {
    share.close();
    store.destroy();
  }
}
table(
  `One process, cases taking turns in 2 ms slices (ops/s, medians of ${rounds} rounds; ratios per round: median (min-max))`,
  ['size', 'core store()/s', 'set()/s', 'set / store', 'core fetch()/s', 'get()/s', 'get / fetch'],
  rows,
);
console.log('\nTargets (issue 18):');
for (const v of verdicts) console.log(`  ${v}`);
