// Storable decode and encode in Node against Perl's own Storable 3.26 on the same data, and against msgpackr and
// JSON, in one run: a small object and a ~1 MB structure. Each Node window is paired with the Perl window of the
// same case right next to it (a Perl peer process times a case when asked; which of the two goes first alternates
// by round), and both run pinned to one CPU when `taskset` exists: this machine is shared and its speed moves by
// 2x within seconds and from one vCPU to the other, so windows far apart in time or on different CPUs compare the
// machine, not the code. Each cell is the median of ROUNDS, each ratio the median of the per-pair ratios. Each
// window follows a warm-up of its own case (see rate()). The "one per event-loop turn" rows time encodes that each
// start after a turn, so none finds the last one's objects held (decision 0014): the cost of a value encoded once.
// Run: pnpm --filter @shm/serializer-storable bench   (env BENCH_SECONDS per measurement, default 0.4;
// BENCH_ROUNDS, default 5; BENCH_ISO_ROUNDS, default 3, for the 1 MB cases in processes of their own; BENCH_CPU,
// the CPU to pin to, default the last, or "none"). Never part of `test`.
import { type ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { createStorableSerializer, freeze, nfreeze, storable } from '../dist/index.js';
import { large, run, small } from './data.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PERL = fileURLToPath(new URL('./perl-bench.pl', import.meta.url));
const ISOLATED = fileURLToPath(new URL('./isolated.ts', import.meta.url));
const ISO_ROUNDS = Number(process.env.BENCH_ISO_ROUNDS ?? 3);
const native = createStorableSerializer({ byteOrder: 'native' });

// Pinning: the bench runs itself again under `taskset`, and its children (the Perl peer, the isolated Node cases)
// inherit the CPU. Node's GC and compiler threads then share that CPU with it, which costs Node, not Perl.
const CPU = process.env.BENCH_CPU ?? String(availableParallelism() - 1);
if (CPU !== 'none' && process.env.BENCH_PINNED === undefined) {
  const pinned = spawnSync(
    'taskset',
    ['-c', CPU, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, BENCH_PINNED: CPU },
    },
  );
  if (pinned.error === undefined) process.exit(pinned.status ?? 1);
  console.log(`(taskset: ${pinned.error.message}; not pinned)`);
}

/** The Perl peer: times one case of one dataset when asked (bench/perl-bench.pl). */
class PerlPeer {
  readonly #child: ChildProcessWithoutNullStreams;
  #buffered = '';
  #waiting: ((line: string) => void)[] = [];
  constructor(files: string[]) {
    this.#child = spawn('perl', [PERL, ...files]);
    this.#child.stdout.setEncoding('utf8');
    this.#child.stdout.on('data', (chunk: string) => {
      this.#buffered += chunk;
      for (let nl = this.#buffered.indexOf('\n'); nl >= 0; nl = this.#buffered.indexOf('\n')) {
        const line = this.#buffered.slice(0, nl);
        this.#buffered = this.#buffered.slice(nl + 1);
        this.#waiting.shift()?.(line);
      }
    });
    this.#child.stderr.pipe(process.stderr);
  }
  /** Operations per second of Perl's `op` on dataset `name` over `secs` seconds. */
  rate(op: string, name: string, secs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#waiting.push((line) => {
        const x = Number(line);
        if (Number.isFinite(x) && x > 0) resolve(x);
        else reject(new Error(`perl-bench.pl answered ${JSON.stringify(line)} to ${op} ${name}`));
      });
      this.#child.stdin.write(`${op} ${name} ${secs}\n`);
    });
  }
  close(): void {
    this.#child.stdin.end();
  }
}

const packr = new Packr({ useRecords: false });

/** Operations per second of `fn` in steady state: a quarter window of warm-up, then the window. */
function rate(secs: number, fn: () => unknown): number {
  // Each case warms up right before its window. Without it a window paid for what ran before it: the first 1 MB
  // encode window after the decodes (each leaves a 7000-object structure, and the heap's GC limits are tuned to
  // them) measured 1.14x of Perl where a second window of the same code right after measured 2.00x. The window
  // still pays every collection its own allocations cause. (A forced full GC before each window is no remedy: it
  // shrinks the young generation, and every allocating case then measured 20-45% slower.)
  run(secs / 4, fn);
  return run(secs, fn);
}

/** As rate(), with the event loop turning before each call (so each encode starts with nothing held). */
async function rateCold(secs: number, fn: () => unknown): Promise<number> {
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const window = async (limit: number) => {
    let n = 0;
    let busy = 0;
    while (busy < limit) {
      await turn();
      const t0 = process.hrtime.bigint();
      fn();
      busy += Number(process.hrtime.bigint() - t0) / 1e9;
      n++;
    }
    return n / busy;
  };
  await window(secs / 4);
  return window(secs);
}

const datasets = { small, large } as const;

interface Cells {
  decodeNet: number;
  decodeNative: number;
  encodeNet: number;
  encodeNative: number;
  msgpackDecode: number;
  msgpackEncode: number;
  jsonDecode: number;
  jsonEncode: number;
  perlThawNet: number;
  perlThawNative: number;
  perlNfreeze: number;
  perlFreeze: number;
  /** One encode per event-loop turn: nothing of the last encode held (decision 0014), every object looked up. */
  encodeNetCold: number;
  encodeNativeCold: number;
  perlNfreezeCold: number;
  perlFreezeCold: number;
}

let perl: PerlPeer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'storable-bench-'));
try {
  const files: string[] = [];
  const images: Record<string, { net: Uint8Array; nat: Uint8Array }> = {};
  for (const [name, value] of Object.entries(datasets)) {
    // Perl gets the freeze image, so its value is the same structure as the one Node encodes: doubles as NVs,
    // integers as IVs (thawing an nfreeze image would give it the doubles as strings, which nfreeze copies
    // where it has to format an NV, as Node does).
    const net = Buffer.from(freeze(value));
    const file = join(dir, `${name}.img`);
    writeFileSync(file, net);
    files.push(`${name}=${file}`);
    // Decode Perl's own images of that value: Perl's hash order and Perl's choice of types.
    const perlNet = execFileSync(
      'perl',
      [
        '-MStorable=nfreeze,freeze,thaw',
        '-e',
        'local $/; binmode STDIN; binmode STDOUT; print nfreeze(thaw(<STDIN>))',
      ],
      { input: net, maxBuffer: 1 << 28 },
    );
    const perlNat = execFileSync(
      'perl',
      [
        '-MStorable=nfreeze,freeze,thaw',
        '-e',
        'local $/; binmode STDIN; binmode STDOUT; print freeze(thaw(<STDIN>))',
      ],
      { input: net, maxBuffer: 1 << 28 },
    );
    images[name] = { net: perlNet, nat: perlNat };
  }

  perl = new PerlPeer(files);
  const peer = perl;
  // A Node case and the Perl case it is compared with, next to each other; the first of the two alternates.
  // Before a Perl window Node idles 30 ms: the work its GC and compiler threads still have from the Node window
  // before (sweeping, say) is then done, not paid by Perl on the CPU they share.
  const perlRate = async (op: string, name: string): Promise<number> => {
    await new Promise((resolve) => setTimeout(resolve, 30));
    return peer.rate(op, name, SECONDS);
  };
  const pair = async (
    r: number,
    measure: () => number | Promise<number>,
    op: string,
    name: string,
  ): Promise<[number, number]> => {
    if (r % 2 === 0) {
      const p = await perlRate(op, name);
      return [await measure(), p];
    }
    const n = await measure();
    return [n, await perlRate(op, name)];
  };
  const rounds: Record<string, Cells[]> = { small: [], large: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, value] of Object.entries(datasets)) {
      const { net, nat } = images[name]!;
      const v = storable.decode(native.encode(value)); // the value as decoded, with its doubles exact
      const mp = packr.pack(value);
      const js = JSON.stringify(value);
      const [decodeNet, perlThawNet] = await pair(
        r,
        () => rate(SECONDS, () => storable.decode(net)),
        'thawNetwork',
        name,
      );
      const [decodeNative, perlThawNative] = await pair(
        r,
        () => rate(SECONDS, () => storable.decode(nat)),
        'thawNative',
        name,
      );
      const [encodeNet, perlNfreeze] = await pair(r, () => rate(SECONDS, () => nfreeze(v)), 'nfreeze', name);
      const [encodeNative, perlFreeze] = await pair(r, () => rate(SECONDS, () => freeze(v)), 'freeze', name);
      // Only the large value: a small one is never held, and timing single calls of it would time the clock.
      const cold = name === 'large';
      const [encodeNetCold, perlNfreezeCold] = cold
        ? await pair(r, () => rateCold(SECONDS, () => nfreeze(v)), 'nfreeze', name)
        : [0, 1];
      const [encodeNativeCold, perlFreezeCold] = cold
        ? await pair(r, () => rateCold(SECONDS, () => freeze(v)), 'freeze', name)
        : [0, 1];
      rounds[name]!.push({
        decodeNet,
        decodeNative,
        encodeNet,
        encodeNative,
        msgpackDecode: rate(SECONDS, () => packr.unpack(mp)),
        msgpackEncode: rate(SECONDS, () => packr.pack(value)),
        jsonDecode: rate(SECONDS, () => JSON.parse(js)),
        jsonEncode: rate(SECONDS, () => JSON.stringify(value)),
        perlThawNet,
        perlThawNative,
        perlNfreeze,
        perlFreeze,
        encodeNetCold,
        encodeNativeCold,
        perlNfreezeCold,
        perlFreezeCold,
      });
    }
  }

  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)]!;
  };
  const fmt = (x: number) =>
    x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(1);
  const ratio = (rs: Cells[], a: keyof Cells, b: keyof Cells) =>
    `${median(rs.map((c) => c[a] / c[b])).toFixed(2)}x`;
  console.log(
    `Storable in Node vs Perl ${execFileSync('perl', ['-MStorable', '-e', 'print $Storable::VERSION'])}, msgpackr and JSON (${ROUNDS} rounds of ${SECONDS} s, ops/s, medians)\n`,
  );
  for (const name of Object.keys(datasets)) {
    const rs = rounds[name]!;
    const m = (k: keyof Cells) => fmt(median(rs.map((c) => c[k])));
    console.log(
      `${name}: nfreeze ${images[name]!.net.byteLength} bytes, freeze ${images[name]!.nat.byteLength}, msgpack ${packr.pack((datasets as any)[name]).byteLength}, JSON ${JSON.stringify((datasets as any)[name]).length}`,
    );
    console.log(
      '| operation | Node storable | Perl Storable | Node / Perl | msgpackr | JSON | storable / msgpackr | storable / JSON |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    console.log(
      `| decode nfreeze image | ${m('decodeNet')} | ${m('perlThawNet')} | ${ratio(rs, 'decodeNet', 'perlThawNet')} | ${m('msgpackDecode')} | ${m('jsonDecode')} | ${ratio(rs, 'decodeNet', 'msgpackDecode')} | ${ratio(rs, 'decodeNet', 'jsonDecode')} |`,
    );
    console.log(
      `| decode freeze image | ${m('decodeNative')} | ${m('perlThawNative')} | ${ratio(rs, 'decodeNative', 'perlThawNative')} | | | | |`,
    );
    console.log(
      `| encode nfreeze | ${m('encodeNet')} | ${m('perlNfreeze')} | ${ratio(rs, 'encodeNet', 'perlNfreeze')} | ${m('msgpackEncode')} | ${m('jsonEncode')} | ${ratio(rs, 'encodeNet', 'msgpackEncode')} | ${ratio(rs, 'encodeNet', 'jsonEncode')} |`,
    );
    console.log(
      `| encode freeze | ${m('encodeNative')} | ${m('perlFreeze')} | ${ratio(rs, 'encodeNative', 'perlFreeze')} | | | | |`,
    );
    if (name === 'large') {
      console.log(
        `| encode nfreeze, one per event-loop turn | ${m('encodeNetCold')} | ${m('perlNfreezeCold')} | ${ratio(rs, 'encodeNetCold', 'perlNfreezeCold')} | | | | |`,
      );
      console.log(
        `| encode freeze, one per event-loop turn | ${m('encodeNativeCold')} | ${m('perlFreezeCold')} | ${ratio(rs, 'encodeNativeCold', 'perlFreezeCold')} | | | | |`,
      );
    }
    console.log();
  }

  // The 1 MB structure again, each Node case in a process of its own that warms up for 1.5 s and then does only
  // that case: a long-lived process that mostly encodes (or decodes) one kind of structure. The mixed process above
  // runs the large encode slower than such a process (docs/benchmarks.md has the measurements).
  const iso: Record<string, number>[] = [];
  const largeImg = { net: join(dir, 'large.net'), nat: join(dir, 'large.nat') };
  writeFileSync(largeImg.net, images.large!.net);
  writeFileSync(largeImg.nat, images.large!.nat);
  const cases = [
    ['decodeNet', 'thawNetwork'],
    ['decodeNative', 'thawNative'],
    ['encodeNet', 'nfreeze'],
    ['encodeNative', 'freeze'],
  ] as const;
  for (let r = 0; r < ISO_ROUNDS; r++) {
    const node = (op: string) =>
      Number(
        execFileSync(
          process.execPath,
          [
            '--conditions=@shm/source',
            '--import',
            'tsx',
            ISOLATED,
            op,
            largeImg.net,
            largeImg.nat,
            String(SECONDS),
          ],
          { encoding: 'utf8' },
        ).trim(),
      );
    const cells: Record<string, number> = {};
    for (const [op, perlOp] of cases) {
      const [n, p] = await pair(r, () => node(op), perlOp, 'large');
      cells[op] = n / p;
    }
    iso.push(cells);
  }
  const isoRatio = (k: string) => {
    const xs = iso.map((c) => c[k]!).sort((a, b) => a - b);
    return `${median(xs).toFixed(2)}x (${xs[0]!.toFixed(2)}-${xs[xs.length - 1]!.toFixed(2)})`;
  };
  console.log(
    `large, each Node case in its own warmed-up process (${ISO_ROUNDS} rounds, Node / Perl: median (min-max))`,
  );
  console.log('| operation | Node / Perl |');
  console.log('|---|---:|');
  console.log(`| decode nfreeze image | ${isoRatio('decodeNet')} |`);
  console.log(`| decode freeze image | ${isoRatio('decodeNative')} |`);
  console.log(`| encode nfreeze | ${isoRatio('encodeNet')} |`);
  console.log(`| encode freeze | ${isoRatio('encodeNative')} |`);
} finally {
  perl?.close();
  rmSync(dir, { recursive: true, force: true });
}
