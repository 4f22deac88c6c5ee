// The side-by-side benchmark (issue 7): every contender of src/contenders, two processes each, the same workloads
// and payloads, in one run. Prints the tables and writes them, with the chart, to docs/benchmarks.md.
//   pnpm bench:compare                 3 runs of 200 ms per measurement (a few minutes)
//   pnpm bench:compare --runs 7 --ms 500 --only core-store,redis --no-docs
// (or BENCH_RUNS / BENCH_MS in the environment); --replay redoes the report and chart from the last measurement
// (tools/bench/.tmp/last-run.json). Docs are written only when every contender ran. Never part of `test`.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { renderChart } from '../src/chart.js';
import type { ContenderConfig, NameSource } from '../src/contender.js';
import { CONTENDERS, contenderById } from '../src/contenders/index.js';
import { writeSection } from '../src/docs-section.js';
import { WORKLOADS } from '../src/driver.js';
import { describeMachine } from '../src/machine.js';
import { makeValue, PAYLOADS, type PayloadKind, payloadLabel, toWire } from '../src/payload.js';
import { markdownTable, type Results, tableRows, textTable, WORKLOAD_TITLES } from '../src/report.js';
import { runContender } from '../src/run-contender.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    ms: { type: 'string' },
    only: { type: 'string' },
    'no-docs': { type: 'boolean' },
    replay: { type: 'boolean' },
  },
});
const here = fileURLToPath(new URL('..', import.meta.url));
const root = join(here, '..', '..');
const LAST_RUN = join(here, '.tmp', 'last-run.json');

/** Everything a report needs; saved after each measurement so `--replay` can redo the report without measuring. */
interface RunRecord {
  runs: number;
  ms: number;
  contenders: string[];
  machine: string;
  versions: Record<string, string>;
  date: string;
  seconds: number;
  results: Results;
}

async function measureAll(): Promise<RunRecord> {
  const runs = Number(args.runs ?? process.env.BENCH_RUNS ?? 3);
  const ms = Number(args.ms ?? process.env.BENCH_MS ?? 200);
  if (!(Number.isInteger(runs) && runs >= 1)) {
    throw new RangeError(`Expected an integer >= 1 for --runs but received ${runs}`);
  }
  if (!(ms > 0))
    throw new RangeError(`Expected a positive number of milliseconds for --ms but received ${ms}`);
  const contenders = args.only ? args.only.split(',').map(contenderById) : [...CONTENDERS];
  let n = 0;
  const keyBase = 0x5b000000 + (process.pid & 0xfff) * 0x1000; // not the tests' 0x5E range
  const names: NameSource = {
    name: () => `shmbench-${process.pid}-${++n}`,
    key: () => keyBase + (++n % 16) * 256,
    path: () => join(tmpdir(), `shmbench-${process.pid}-${++n}`),
  };
  const kindsOf = (id: string) => PAYLOADS.filter((k) => !contenderById(id).unsupported?.(k));

  const machine = describeMachine();
  const versions: Record<string, string> = { node: process.version };
  for (const c of contenders) Object.assign(versions, c.versions?.());
  console.log(`Side by side: ${contenders.length} contenders, ${runs} run(s) of ${ms} ms per measurement`);
  console.log(`${machine}\n${software(versions)}\n`);

  const results: Results = {};
  for (const c of contenders) {
    results[c.id] = {};
    for (const k of PAYLOADS) {
      const na = c.unsupported?.(k);
      results[c.id]![k] = Object.fromEntries(WORKLOADS.map((w) => [w, na ? { na } : { values: [] }]));
    }
  }

  const configs = new Map<string, ContenderConfig>();
  const started = performance.now();
  try {
    for (const c of contenders) configs.set(c.id, (await c.prepare?.(names, kindsOf(c.id))) ?? {});
    for (let run = 0; run < runs; run++) {
      // A different contender goes first in each run, so slow drifts of the machine do not favour one.
      const order = contenders.map((_, i) => contenders[(i + run) % contenders.length]!);
      for (const c of order) {
        const t0 = performance.now();
        const kinds = kindsOf(c.id);
        const r = await runContender({
          contender: c.id,
          config: configs.get(c.id)!,
          kinds,
          workloads: [...WORKLOADS],
          ms,
          verify: run === 0,
        });
        for (const k of kinds) {
          for (const w of WORKLOADS) {
            const cell = results[c.id]![k]![w]!;
            if ('values' in cell) cell.values.push(r.cells[k]![w]!);
          }
          const check = r.checks[k];
          if (run === 0 && check) {
            const ok =
              isDeepStrictEqual(check.seenByB, toWire(makeValue(k, 101))) &&
              isDeepStrictEqual(check.seenByA, toWire(makeValue(k, 202)));
            if (!ok) throw new Error(`${c.id}: the ${k} value fetched is not the value stored`);
          }
        }
        console.log(
          `run ${run + 1}/${runs}  ${c.label.padEnd(24)} ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
      }
    }
  } finally {
    for (const c of contenders) if (configs.has(c.id)) await c.cleanup?.(configs.get(c.id)!);
  }
  return {
    runs,
    ms,
    contenders: contenders.map((c) => c.id),
    machine,
    versions,
    date: new Date().toISOString().slice(0, 10),
    seconds: (performance.now() - started) / 1000,
    results,
  };
}

function software(versions: Record<string, string>): string {
  return Object.entries(versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

let record: RunRecord;
if (args.replay) {
  record = JSON.parse(readFileSync(LAST_RUN, 'utf8')) as RunRecord;
} else {
  record = await measureAll();
  mkdirSync(dirname(LAST_RUN), { recursive: true });
  writeFileSync(LAST_RUN, JSON.stringify(record, null, 1));
}
const { runs: RUNS, ms: MS, machine, versions, seconds, results } = record;
const contenders = record.contenders.map(contenderById);
const runsText = `${RUNS} run${RUNS === 1 ? '' : 's'}`;
const writeDocs = !args['no-docs'] && contenders.length === CONTENDERS.length;

const kindLabel = (k: PayloadKind) => payloadLabel(k);
const list = contenders.map((c) => ({ id: c.id, label: c.label }));
const notes: string[] = [];
for (const w of WORKLOADS) {
  console.log(`\n${WORKLOAD_TITLES[w]}; median (min–max) of ${RUNS}, ×N = N times slower than the fastest`);
  console.log(
    textTable(
      tableRows({ workload: w, kinds: PAYLOADS, contenders: list, results, kindLabel, notes }, false),
    ),
  );
}
for (const [i, note] of notes.entries()) console.log(`[${i + 1}] ${note}`);
console.log(`\n${seconds.toFixed(0)} s in all`);

if (writeDocs) {
  const command = `pnpm bench:compare${RUNS !== 3 ? ` --runs ${RUNS}` : ''}${MS !== 200 ? ` --ms ${MS}` : ''}`;
  const svgPath = join(root, 'docs', 'images', 'side-by-side.svg');
  mkdirSync(join(root, 'docs', 'images'), { recursive: true });
  writeFileSync(
    svgPath,
    await renderChart({
      kinds: PAYLOADS,
      workloads: WORKLOADS,
      contenders: list,
      results,
      kindLabel,
      subtitle: [
        `${runsText} of ${MS} ms per measurement; ${machine.split(', load')[0]}`,
        software(versions),
      ],
    }),
  );
  const mdNotes: string[] = [];
  const tables = WORKLOADS.map(
    (w) =>
      `### ${WORKLOAD_TITLES[w]}\n\n${markdownTable(tableRows({ workload: w, kinds: PAYLOADS, contenders: list, results, kindLabel, notes: mdNotes }, true))}`,
  ).join('\n\n');
  const body = `
## Side by side — \`${command}\`

Every @shm package against what a Node user would otherwise pick, and against the Perl module @shm/sharelite
rebuilds, measured in one run (issue 7). Two processes each; ${runsText} of ${MS} ms per measurement (after a
warm-up of a fifth of that), each contender in a fresh pair of processes per run, a different contender first in
each run. A figure is the median of the runs with the slowest and fastest run in brackets; **×N is how many times
slower than the fastest contender in the same column** (×1, in bold, is the fastest). The numbers are from a shared,
noisy 2-vCPU virtual machine (the load average at the start is below): compare within the table, not across runs.

- Machine: ${machine}.
- Software: ${software(versions)}.
- Generated ${record.date} in ${seconds.toFixed(0)} s by \`${command}\` (\`--runs N\`, \`--ms N\` or \`BENCH_RUNS\`, \`BENCH_MS\`
  for longer runs; \`--only id,id\` prints without writing). The code: [tools/bench](../tools/bench).

![Side by side: store, fetch and hand-off latency for each payload](images/side-by-side.svg)

${tables}
${mdNotes.length ? `\n${mdNotes.map((x, i) => `[${i + 1}] ${x}`).join('\n')}\n` : ''}
### What is measured

- **Payloads**: a small object \`{ id, name, tags: [3 strings], nested: { price, stock: { 2 numbers }, active } }\`
  (about 100 bytes as JSON), and 64 B, 4 KB, 64 KB and 1 MB of bytes. Every value carries a sequence number (the
  object's \`id\`, the first and last 4 bytes of a byte value) that the readers check.
- **store**: process A stores a new value (the next sequence number) in a loop; B has the value open and does
  nothing, except for \`process.send\`, where B receives and decodes every value (the loop ends, and the time
  stops, when B has them all).
- **fetch**: A stored the value and waits; B fetches the whole latest value in a loop and checks its size and that
  its sequence number never goes back. A library that keeps a decoded copy and checks with one atomic load whether
  it is still current (\`@shm/core\`'s \`getValue\`, \`@shm/tied\`) answers from that copy: that is what it is
  built to do, and what a reader of a value that changes less often than it is read gets.
- **hand-off latency**: ping-pong between A and B through the value itself: A stores sequence number s, B polls
  until it sees s and stores s + 1, A polls until it sees s + 1. The figure is the round trip divided by 2 (both
  directions carry the whole value, so no shared clock is needed). Every poller (the Perl one too) spins for 50 µs,
  then sleeps 20 µs (a futex wait, \`usleep\` in Perl), and so on: two pure spinners on this busy 2-vCPU machine
  waited out each other's 4 ms time slices. So a small value's hand-off costs about one wake-up of a sleeping
  process here (tens of µs) for the polling contenders and for \`process.send\`, whose receiver sleeps in the event
  loop; on an idle machine the shared-memory ones hand off within a few µs.
- **n/a**: none of the contenders needs one. IPC::ShareLite stores bytes, so the Perl side freezes the object
  with Storable (its documented way); \`process.send\` with JSON carries bytes as base64; every other contender
  takes the object through msgpack or its own encoding.
- Every contender was verified in the first run: a value stored in each process is fetched whole and equal in the
  other (\`tools/bench/test/adapters.test.ts\` checks the same with \`npm test\`).

### What each contender does

${contenders.map((c) => `- **${c.label}**: ${c.notes}`).join('\n')}
`;
  writeSection(join(root, 'docs', 'benchmarks.md'), body);
  console.log(`\nWrote ${relative(root, svgPath)} and the side-by-side section of docs/benchmarks.md`);
}
