// Cost of the @shm/native primitives, against a JS Atomics CAS lock+unlock over the same mapping as the baseline
// (what the locks in @shm/core do on their fast path). Not a test: run it with `pnpm --filter @shm/native bench`.
// Each case runs in batches of ~20 ms; the fastest batch (least disturbed by other load on a shared machine) and the
// median are reported in ns/op, and the fastest as a ratio to the baseline's fastest.
import { randomInt } from 'node:crypto';
import {
  closeFd,
  futexWake,
  loadBinding,
  mapFd,
  memfdCreate,
  procInfo,
  semget,
  semop,
  semopRaw,
  semRemove,
  semSetVal,
  sysvConstants,
  threadId,
} from '../src/index.js';

const BATCHES = 15;
const TARGET_BATCH_NS = 20_000_000; // ~20 ms per batch

interface Case {
  name: string;
  /** Runs the operation `n` times. */
  run(n: number): void;
}

function measure(c: Case): { min: number; median: number } {
  // Calibrate a batch size that takes ~TARGET_BATCH_NS, warming up on the way.
  let n = 1000;
  for (;;) {
    const t0 = process.hrtime.bigint();
    c.run(n);
    const dt = Number(process.hrtime.bigint() - t0);
    if (dt > TARGET_BATCH_NS / 4 || n > 1e8) {
      n = Math.max(1000, Math.round((n * TARGET_BATCH_NS) / Math.max(dt, 1)));
      break;
    }
    n *= 4;
  }
  const samples: number[] = [];
  for (let i = 0; i < BATCHES; i++) {
    const t0 = process.hrtime.bigint();
    c.run(n);
    samples.push(Number(process.hrtime.bigint() - t0) / n);
  }
  samples.sort((a, b) => a - b);
  return { min: samples[0]!, median: samples[Math.floor(samples.length / 2)]! };
}

const b = loadBinding();
const { SEM_UNDO } = sysvConstants();
const fd = memfdCreate('shm-bench', 4096);
const m = mapFd(fd);
closeFd(fd);
const words = new Int32Array(m.buffer!);
const tid = threadId();
const semid = semget(0x5e000000 + randomInt(0, 1 << 24), 1, { exclusive: true });
let sink = 0;

try {
  semSetVal(semid, 0, 1);
  const lockOps: number[] = [0, -1, SEM_UNDO];
  const unlockOps: number[] = [0, 1, SEM_UNDO];
  const plain = (x: number) => (x * 31 + 7) | 0;

  const baseline: Case = {
    name: 'JS Atomics CAS lock+unlock on a mapping (baseline)',
    run(n) {
      for (let i = 0; i < n; i++) {
        if (Atomics.compareExchange(words, 0, 0, tid) !== 0) throw new Error('lock word not free');
        Atomics.store(words, 0, 0);
      }
    },
  };
  const cases: Case[] = [
    {
      name: 'plain JS function call',
      run(n) {
        for (let i = 0; i < n; i++) sink = plain(sink);
      },
    },
    {
      name: 'N-API function call, no syscall (binding.procInfo(0))',
      run(n) {
        for (let i = 0; i < n; i++) if (b.procInfo(0) !== null) sink++;
      },
    },
    {
      name: 'N-API accessor, no syscall (mapping.size)',
      run(n) {
        for (let i = 0; i < n; i++) sink += m.size;
      },
    },
    {
      name: 'N-API call + gettid syscall (binding.gettid)',
      run(n) {
        for (let i = 0; i < n; i++) sink += b.gettid();
      },
    },
    {
      name: 'procInfo(pid): N-API + read /proc/<pid>/stat',
      run(n) {
        for (let i = 0; i < n; i++) sink += procInfo(process.pid)!.startTime;
      },
    },
    {
      name: 'futexWake, no waiters',
      run(n) {
        for (let i = 0; i < n; i++) sink += futexWake(m, 0, 1);
      },
    },
    {
      name: 'semop lock+unlock, SEM_UNDO (raw, pre-flattened ops)',
      run(n) {
        for (let i = 0; i < n; i++) {
          if (semopRaw(semid, lockOps, -1) !== 0) throw new Error('semop lock failed');
          semopRaw(semid, unlockOps, -1);
        }
      },
    },
    {
      name: 'semop lock+unlock, SEM_UNDO (validated semop())',
      run(n) {
        for (let i = 0; i < n; i++) {
          semop(semid, [[0, -1, SEM_UNDO]]);
          semop(semid, [[0, 1, SEM_UNDO]]);
        }
      },
    },
  ];

  const base = measure(baseline);
  const rows = [{ name: baseline.name, ...base }, ...cases.map((c) => ({ name: c.name, ...measure(c) }))];
  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(
    `@shm/native primitives: Node ${process.version}, ${process.platform}-${process.arch}, ${BATCHES} batches per case`,
  );
  console.log(
    `${'case'.padEnd(width)}  ${'min ns/op'.padStart(10)}  ${'median'.padStart(9)}  ${'x baseline'.padStart(10)}`,
  );
  for (const r of rows) {
    const cols = [
      r.min.toFixed(1).padStart(10),
      r.median.toFixed(1).padStart(9),
      (r.min / base.min).toFixed(2).padStart(10),
    ];
    console.log(`${r.name.padEnd(width)}  ${cols.join('  ')}`);
  }
  if (sink === 0.5) console.log(sink); // keeps the loops from being optimised away
} finally {
  semRemove(semid);
  m.close();
}
