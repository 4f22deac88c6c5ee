// store/fetch throughput of @shm/sharelite against the real Perl IPC::ShareLite, same sizes, same run.
// Node and Perl are measured alternately (the machine is shared and noisy); each cell is the best of ROUNDS.
// Run: pnpm --filter @shm/sharelite bench   (env BENCH_SECONDS per measurement, default 0.3; BENCH_ROUNDS, default 3)
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ShareLite } from '@shm/sharelite';

const SIZES = [16, 1024, 16 * 1024, 64 * 1024, 256 * 1024, 1 << 20, 4 << 20];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PERL = fileURLToPath(new URL('./perl-bench.pl', import.meta.url));

interface Row {
  store: number;
  fetch: number;
  into?: number;
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
    if (sink === 0) throw new Error('unreachable');
    return { store, fetch, into };
  } finally {
    s.close();
  }
}

const base = 0x5e700000 + randomInt(0, 64) * 0x4000;
const perl = spawn('perl', [PERL, String(base), String(SECONDS)], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: perl.stdout! })[Symbol.asyncIterator]();
const nextLine = async () => JSON.parse(((await lines.next()).value as string) ?? 'null');
await nextLine(); // ready

const best = (a: Row | undefined, b: Row): Row =>
  a
    ? {
        store: Math.max(a.store, b.store),
        fetch: Math.max(a.fetch, b.fetch),
        into: Math.max(a.into ?? 0, b.into ?? 0),
      }
    : b;
const nodeRows = new Map<number, Row>();
const perlRows = new Map<number, Row>();
for (let round = 0; round < ROUNDS; round++) {
  for (const size of SIZES) {
    perl.stdin!.write(`${size}\n`);
    perlRows.set(size, best(perlRows.get(size), await nextLine()));
    nodeRows.set(size, best(nodeRows.get(size), node(base + 0x2000000, size)));
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
  `best of ${ROUNDS} rounds of ${SECONDS} s, Node ${process.version}, ${process.platform}/${process.arch}`,
);
console.log('');
console.log(
  '| size | store: Node | store: Perl | Node/Perl | fetch: Node | fetch: Perl | Node/Perl | fetch(into): Node | Node/Perl |',
);
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const size of SIZES) {
  const n = nodeRows.get(size)!;
  const p = perlRows.get(size)!;
  console.log(
    `| ${fmtSize(size)} | ${cell(n.store, size)} | ${cell(p.store, size)} | ${(n.store / p.store).toFixed(2)}x | ${cell(n.fetch, size)} | ${cell(p.fetch, size)} | ${(n.fetch / p.fetch).toFixed(2)}x | ${cell(n.into!, size)} | ${(n.into! / p.fetch).toFixed(2)}x |`,
  );
}
