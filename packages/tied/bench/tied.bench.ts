// Benchmark: @shm/tied against a plain object (the ceiling) and the real IPC::Shareable (Perl), in one run.
//   pnpm --filter @shm/tied bench            (BENCH_SECONDS=2 for longer runs)
// Operations: get of an unchanged key, set of a small value, and a push (the array is emptied every 100 pushes,
// on every side, so each push re-encodes a small array, as IPC::Shareable does). Then stores of a small object
// with nested containers (four variables: the hash, its array, its nested hash and the one inside that) against a
// @shm/core Store + msgpack storing the same object as one value, the baseline a user would otherwise pick.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Store } from '@shm/core';
import { msgpack } from '@shm/serializer-msgpack';
import { removeAll, ScalarRef, tie, untie } from '../src/index.js';

const secs = Number(process.env.BENCH_SECONDS ?? 1);
const perlScript = fileURLToPath(new URL('./ipc-shareable.pl', import.meta.url));
let sink = 0;

function measure(body: () => void): number {
  const chunk = 500;
  for (let i = 0; i < chunk; i++) body(); // warm-up
  let n = 0;
  const t0 = performance.now();
  let t = 0;
  do {
    for (let i = 0; i < chunk; i++) body();
    n += chunk;
    t = performance.now() - t0;
  } while (t < secs * 1000);
  return (n / t) * 1000;
}

type Row = { op: string; plain: number; tied: number; perl?: number };

function suite(h: Record<string, number>, a: number[]): Omit<Row, 'op'>[] {
  let i = 0;
  let p = 0;
  return [
    measure(() => {
      sink += h.k5!;
    }),
    measure(() => {
      h.k3 = i++;
    }),
    measure(() => {
      a.push(p++);
      if (a.length >= 100) a.length = 0;
    }),
  ] as never;
}

/** The side-by-side benchmark's small object (tools/bench/src/payload.ts), with a fresh id per store. */
const smallObject = (id: number) => ({
  id,
  name: 'widget-42',
  tags: ['alpha', 'beta', 'gamma'],
  nested: { price: 9.99, stock: { warehouse: 3, shelf: 12 }, active: true },
});

const ns = `shmbench-tied-${process.pid}`;
const rows: Row[] = [];
const objectRows: { op: string; core: number; tied: number }[] = [];
try {
  const init = () => Object.fromEntries(Array.from({ length: 10 }, (_, k) => [`k${k}`, k]));
  const plain = suite(init(), []) as unknown as number[];
  const th = tie(init(), 'h', { namespace: ns });
  const ta = tie<number[]>([], 'a', { namespace: ns });
  const tiedOps = suite(th, ta) as unknown as number[];
  untie(th);
  untie(ta);
  const big = tie(Object.fromEntries(Array.from({ length: 10_000 }, (_, k) => [`k${k}`, k])), 'big', {
    namespace: ns,
  });
  const bigGet = measure(() => {
    sink += big.k5!;
  });
  untie(big);
  const core = Store.create({ name: `/${ns}.core`, serializer: msgpack, register: false });
  let id = 0;
  const coreStore = measure(() => {
    core.setValue(smallObject(id++));
  });
  core.destroy();
  const ref = tie(new ScalarRef<unknown>(), 'obj', { namespace: ns });
  const refStore = measure(() => {
    ref.value = smallObject(id++);
  });
  const holder = tie<Record<string, unknown>>({ other: 1 }, 'holder', { namespace: ns });
  const keyStore = measure(() => {
    holder.item = smallObject(id++);
  });
  objectRows.push({ op: 'small object: `ref.value = obj`', core: coreStore, tied: refStore });
  objectRows.push({ op: 'small object: `h.item = obj`', core: coreStore, tied: keyStore });
  untie(ref);
  untie(holder);
  const perl = spawnSync('perl', [perlScript, String(secs)], { encoding: 'utf8' });
  const perlOps = new Map<string, number>();
  if (perl.status === 0) {
    for (const line of perl.stdout.trim().split('\n')) {
      const m = JSON.parse(line) as { op: string; opsPerSec: number };
      perlOps.set(m.op, m.opsPerSec);
    }
  } else {
    console.error(`IPC::Shareable side skipped (apt-get install -y libipc-shareable-perl): ${perl.stderr}`);
  }
  ['get', 'set', 'push'].forEach((op, k) => {
    rows.push({ op, plain: plain[k]!, tied: tiedOps[k]!, perl: perlOps.get(op) });
  });
  rows.push({ op: 'get (10k-key hash)', plain: plain[0]!, tied: bigGet });
} finally {
  removeAll({ namespace: ns });
}

const f = (n: number | undefined) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const r = (a: number, b: number | undefined) =>
  b === undefined ? '-' : `${(a / b).toFixed(a / b < 10 ? 2 : 0)}x`;
console.log(
  `@shm/tied benchmark (${secs}s per measurement, Node ${process.version}, ${process.platform}/${process.arch})\n`,
);
console.log(
  '| operation | plain object ops/s | @shm/tied ops/s | IPC::Shareable ops/s | tied / plain | tied / IPC::Shareable |',
);
console.log('|---|---:|---:|---:|---:|---:|');
for (const row of rows) {
  console.log(
    `| ${row.op} | ${f(row.plain)} | ${f(row.tied)} | ${f(row.perl)} | ${r(row.tied, row.plain)} | ${r(row.tied, row.perl)} |`,
  );
}
console.log(
  '\nStores of a small object with nested containers (each nested one is a variable of its own, rewritten in place):\n',
);
console.log('| operation | @shm/core Store + msgpack ops/s | @shm/tied ops/s | core / tied |');
console.log('|---|---:|---:|---:|');
for (const row of objectRows) {
  console.log(`| ${row.op} | ${f(row.core)} | ${f(row.tied)} | ${r(row.core, row.tied)} |`);
}
if (sink === -1) console.log(sink);
