// @shm/tied `ref.value = bytes` against @shm/core setValue() of the same bytes with the same serializer (msgpack,
// tied's default), in one process, in turns (@shm/test-utils/bench). Both are named POSIX stores with their
// default inline sizes (values past ~32 KB go to chained segments in both).
// Run: pnpm --filter @shm/tied bench:core   (--quick for fewer rounds)
import { Store } from '@shm/core';
import { msgpack } from '@shm/serializer-msgpack';
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
import { removeAll, ScalarRef, tie, untie } from '../src/index.js';

const quick = process.argv.includes('--quick');
const rounds = quick ? 3 : 7;
const roundMs = quick ? 100 : 250;
const ns = `shmbench-tiedcore-${process.pid}`;
const rows: string[][] = [];
const verdicts: string[] = [];
try {
  for (const size of [64, 4096, 65536, 1 << 20]) {
    const value = Buffer.alloc(size, 7);
    const core = Store.create({ name: `/${ns}.core${size}`, serializer: msgpack, register: false });
    const ref = tie(new ScalarRef<unknown>(), `v${size}`, { namespace: ns });
    try {
      core.setValue(value);
      ref.value = value;
      const cases: Case[] = [
        { label: 'core setValue', fn: () => core.setValue(value) },
        {
          label: 'tied ref.value =',
          fn: () => {
            ref.value = value;
          },
        },
      ];
      const [c, t] = interleaved(cases, { rounds, roundMs }) as [number[], number[]];
      const r = ratioOf(t, c);
      rows.push([sizeLabel(size), fmt(med(c)), fmt(med(t)), fmtRatio(r)]);
      verdicts.push(
        `ref.value = bytes / setValue ${sizeLabel(size)}: ${r.median.toFixed(2)}x, ${verdict(r, 0.5)}`,
      );
    } finally {
      core.destroy();
      untie(ref);
    }
  }
} finally {
  removeAll({ namespace: ns });
}
table(
  `One process, msgpack, cases taking turns in 2 ms slices (ops/s, medians of ${rounds} rounds; ratios per round: median (min-max))`,
  ['size', 'core setValue()/s', 'tied ref.value = /s', 'tied / core'],
  rows,
);
console.log('\nTargets (issue 18):');
for (const v of verdicts) console.log(`  ${v}`);
