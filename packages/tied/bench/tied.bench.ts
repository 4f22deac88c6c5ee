// Benchmark: @shm/tied against a plain object (the ceiling) and the real IPC::Shareable (Perl), in one run.
//   pnpm --filter @shm/tied bench            (BENCH_SECONDS=2 for longer runs)
// Operations: get of an unchanged key, set of a small value, and a push (the array is emptied every 100 pushes,
// on every side, so each push re-encodes a small array, as IPC::Shareable does).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { removeAll, tie, untie } from '../src/index.js';

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

const ns = `shmbench-tied-${process.pid}`;
const rows: Row[] = [];
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
if (sink === -1) console.log(sink);
