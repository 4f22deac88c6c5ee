// store/fetch throughput of @shm/sharelite against the real Perl IPC::ShareLite, same sizes, same run.
// Node and Perl are measured alternately, size by size, with the order swapped every round (the machine is shared
// and noisy); each cell is the median of ROUNDS, and each ratio the median of the per-round ratios.
// Run: pnpm --filter @shm/sharelite bench   (env BENCH_SECONDS per measurement, default 0.3;
// BENCH_ROUNDS, default 5; BENCH_SIZES, comma-separated bytes)
// The last two columns are a bound, not a measurement of fetch(): any fetch that returns a new Buffer must take the
// lock and release it (two semop calls, timed as fetch(into) of a 1-byte value) and get a new Buffer and fill it
// (timed as Buffer.allocUnsafe(n) plus a copy from memory in cache); the bound is the rate of doing both, measured
// in the same round as Perl's fetch. Where it is under 1x, no allocating fetch() can match Perl in this Node.
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ShareLite } from '@shm/sharelite';

const SIZES = process.env.BENCH_SIZES
  ? process.env.BENCH_SIZES.split(',').map(Number)
  : [16, 1024, 16 * 1024, 64 * 1024, 256 * 1024, 1 << 20, 4 << 20];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PERL = fileURLToPath(new URL('./perl-bench.pl', import.meta.url));

interface Row {
  store: number;
  fetch: number;
  into?: number;
  /** A new Buffer from Buffer.allocUnsafe plus a copy from memory in cache: no lock, no native call. */
  fresh?: number;
  /** fetch(into) of a 1-byte value: the lock round trip (two semop calls) and the native call, no copy to speak of. */
  trip?: number;
  bound?: number;
}

function rate(secs: number, fn: () => void): number {
  let n = 0;
  let batch = 1;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < secs) {
    for (let i = 0; i < batch; i++) fn();
    n += batch;
    if (batch < 4096) batch *= 2;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  return n / elapsed;
}

function node(key: number, size: number): Row {
  const s = new ShareLite({ key, create: true, destroy: true });
  try {
    const data = Buffer.alloc(size, 'x');
    s.store(data); // create the chain before timing
    if (s.fetch().length !== size) throw new Error('bad fetch');
    let sink = 0;
    rate(SECONDS / 5, () => s.store(data)); // warm-up (JIT)
    rate(SECONDS / 5, () => {
      sink += s.fetch().length;
    });
    const store = rate(SECONDS, () => s.store(data));
    const fetch = rate(SECONDS, () => {
      sink += s.fetch().length;
    });
    const target = Buffer.allocUnsafe(size);
    const into = rate(SECONDS, () => {
      sink += s.fetch(target).length;
    });
    const fresh = rate(SECONDS, () => {
      const b = Buffer.allocUnsafe(size);
      data.copy(b);
      sink += b.length;
    });
    // Far from `key`: a share at key+1 would take over the first chained segment of the one at `key`.
    const tiny = new ShareLite({ key: key + 0x1000000, create: true, destroy: true });
    let trip = 0;
    try {
      tiny.store('x');
      const one = Buffer.alloc(1);
      trip = rate(SECONDS / 2, () => {
        sink += tiny.fetch(one).length;
      });
    } finally {
      tiny.close();
    }
    if (sink === 0) throw new Error('unreachable');
    return { store, fetch, into, fresh, trip };
  } finally {
    s.close();
  }
}

const base = 0x5e700000 + randomInt(0, 64) * 0x4000;
const perl = spawn('perl', [PERL, String(base), String(SECONDS)], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: perl.stdout! })[Symbol.asyncIterator]();
const nextLine = async () => JSON.parse(((await lines.next()).value as string) ?? 'null');
await nextLine(); // ready

/** The rate of a lock round trip followed by a new Buffer and its copy, from the two rates measured apart. */
const withBound = (r: Row): Row => ({ ...r, bound: 1 / (1 / r.trip! + 1 / r.fresh!) });

const nodeRuns = new Map<number, Row[]>(SIZES.map((n) => [n, []]));
const perlRuns = new Map<number, Row[]>(SIZES.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const size of SIZES) {
    const runPerl = async () => {
      perl.stdin!.write(`${size}\n`);
      perlRuns.get(size)!.push(await nextLine());
    };
    const runNode = () => nodeRuns.get(size)!.push(withBound(node(base + 0x2000000, size)));
    if (round % 2 === 0) {
      await runPerl();
      runNode();
    } else {
      runNode();
      await runPerl();
    }
  }
}
perl.stdin!.write('exit\n');

const fmtSize = (n: number) =>
  n >= 1 << 20 ? `${n / (1 << 20)} MB` : n >= 1024 ? `${n / 1024} KB` : `${n} B`;
const fmtOps = (n: number) =>
  n >= 1e5 ? `${(n / 1e3).toFixed(0)}k` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
const gbs = (ops: number, size: number) => {
  const v = (ops * size) / 1e9;
  return v >= 0.1 ? `${v.toFixed(1)} GB/s` : `${((ops * size) / 1e6).toFixed(1)} MB/s`;
};
const cell = (ops: number, size: number) => `${fmtOps(ops)} (${gbs(ops, size)})`;

const perlVersion = execFileSync('perl', [
  '-MIPC::ShareLite',
  '-e',
  'print $IPC::ShareLite::VERSION',
]).toString();
console.log(
  `@shm/sharelite vs IPC::ShareLite ${perlVersion}: operations per second (throughput), default 64 KB segments,`,
);
console.log(
  `medians of ${ROUNDS} alternating rounds of ${SECONDS} s, Node ${process.version}, ${process.platform}/${process.arch}`,
);
console.log('');
console.log(
  '| size | store: Node | store: Perl | Node/Perl | fetch: Node | fetch: Perl | Node/Perl | fetch(into): Node | Node/Perl | bound for fetch() | /Perl |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const median = (xs: number[]) => {
  const v = [...xs].sort((x, y) => x - y);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};
const col = (rows: Row[], k: keyof Row) => median(rows.map((r) => r[k] ?? 0));
// Per-round ratios: Node and Perl of one round ran back to back, so they saw the same machine.
const ratio = (size: number, k: keyof Row, pk: keyof Row = k) =>
  median(nodeRuns.get(size)!.map((r, i) => (r[k] ?? 0) / perlRuns.get(size)![i]![pk]!));
for (const size of SIZES) {
  const n = nodeRuns.get(size)!;
  const p = perlRuns.get(size)!;
  console.log(
    `| ${fmtSize(size)} | ${cell(col(n, 'store'), size)} | ${cell(col(p, 'store'), size)} | ${ratio(size, 'store').toFixed(2)}x | ${cell(col(n, 'fetch'), size)} | ${cell(col(p, 'fetch'), size)} | ${ratio(size, 'fetch').toFixed(2)}x | ${cell(col(n, 'into'), size)} | ${ratio(size, 'into', 'fetch').toFixed(2)}x | ${cell(col(n, 'bound'), size)} | ${ratio(size, 'bound', 'fetch').toFixed(2)}x |`,
  );
}
