// Storable decode and encode in Node against Perl's own Storable 3.26 on the same data, and against msgpackr and
// JSON, in one run: a small object and a ~1 MB structure. Node and Perl run alternately, round by round (the
// machine is shared and noisy); each cell is the median of ROUNDS, each ratio the median of per-round ratios.
// Run: pnpm --filter @shm/serializer-storable bench   (env BENCH_SECONDS per measurement, default 0.4;
// BENCH_ROUNDS, default 5). Never part of `test`.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { createStorableSerializer, freeze, nfreeze, storable } from '../dist/index.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 0.4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PERL = fileURLToPath(new URL('./perl-bench.pl', import.meta.url));
const native = createStorableSerializer({ byteOrder: 'native' });
const packr = new Packr({ useRecords: false });

function rate(secs: number, fn: () => unknown): number {
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

/** The data: numbers as integers and doubles, ASCII and non-ASCII strings, nested arrays and hashes. */
const small = { id: 12345, name: 'widget-42', active: 1, tags: ['a', 'b'], score: 3.75 };
const large = Array.from({ length: 7000 }, (_, i) => ({
  id: i,
  name: `item-${i}`,
  label: i % 7 === 0 ? `caf\u00e9 \u263a ${i}` : `plain label number ${i}`,
  price: i / 8 + 0.1,
  tags: ['red', 'green', i % 2 ? 'blue' : 'yellow'],
  dims: { w: i % 100, h: (i * 7) % 100, unit: 'cm' },
}));
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
}

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

  const rounds: Record<string, Cells[]> = { small: [], large: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const perl = execFileSync('perl', [PERL, String(SECONDS), ...files], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const [name, value] of Object.entries(datasets)) {
      const { net, nat } = images[name]!;
      const v = storable.decode(native.encode(value)); // the value as decoded, with its doubles exact
      const mp = packr.pack(value);
      const js = JSON.stringify(value);
      if (r === 0) {
        rate(SECONDS / 4, () => storable.decode(net));
        rate(SECONDS / 4, () => nfreeze(v));
      }
      const p = perl.find((x) => x.name === name)!;
      rounds[name]!.push({
        decodeNet: rate(SECONDS, () => storable.decode(net)),
        decodeNative: rate(SECONDS, () => storable.decode(nat)),
        encodeNet: rate(SECONDS, () => nfreeze(v)),
        encodeNative: rate(SECONDS, () => freeze(v)),
        msgpackDecode: rate(SECONDS, () => packr.unpack(mp)),
        msgpackEncode: rate(SECONDS, () => packr.pack(value)),
        jsonDecode: rate(SECONDS, () => JSON.parse(js)),
        jsonEncode: rate(SECONDS, () => JSON.stringify(value)),
        perlThawNet: p.thawNetwork,
        perlThawNative: p.thawNative,
        perlNfreeze: p.nfreeze,
        perlFreeze: p.freeze,
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
    console.log();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
