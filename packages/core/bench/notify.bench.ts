// Change notification (issue 18), every figure against a baseline measured in the same run:
//   1. hand-off latency between two processes: a sleeping waiter (waitForChange) against polling on `serial`
//      (a busy spin, and a check every 1 ms), at 64 B and 4 KB;
//   2. store() on a store nobody watches against the Store of the commit before change notification (git), at 64 B
//      and 4 KB: the waiters word must cost nothing measurable.
// Run: pnpm --filter @shm/core exec node --conditions=@shm/source --import tsx bench/notify.bench.ts [--quick]
//      [--before=<git rev>]   (never part of `test`)
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Store } from '@shm/core';
import { fmt, median, opsPerSec, table } from './harness.js';

const quick = process.argv.includes('--quick');
const tag = `shm-bench-notify-${process.pid}`;
const sizes = [64, 4096];

// ------------------------------------------------------------------ 1. hand-off latency

const peerScript = fileURLToPath(new URL('./notify-peer.ts', import.meta.url));

/** Median one-way hand-off (µs): this process commits to ping, the peer sees it (by `mode`) and commits to pong. */
async function handoff(mode: 'sleep' | 'spin' | 'poll', size: number): Promise<number> {
  const ping = `/${tag}-ping-${mode}-${size}`;
  const pong = `/${tag}-pong-${mode}-${size}`;
  const a = Store.create({ name: ping, register: false, inlineCapacity: 8192 });
  const b = Store.create({ name: pong, register: false, inlineCapacity: 8192 });
  const child = fork(peerScript, [mode, ping, pong, String(size)], {
    execArgv: ['--conditions=@shm/source', '--import', 'tsx'],
  });
  try {
    await new Promise((r) => child.once('message', r));
    const value = new Uint8Array(size).fill(1);
    const buf = new Uint8Array(size);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const rounds = quick ? 300 : mode === 'poll' ? 400 : 2000;
    const times: number[] = [];
    let seen = b.serial;
    for (let i = 0; i < rounds; i++) {
      const t = performance.now();
      a.store(value);
      // This side waits the same way as the peer.
      if (mode === 'sleep') seen = b.waitForChange(seen);
      else {
        while (b.serial === seen) if (mode === 'poll') Atomics.wait(nap, 0, 0, 1);
        seen = b.serial;
      }
      b.fetch(buf);
      times.push((performance.now() - t) / 2);
    }
    a.store(new Uint8Array(0)); // tells the peer to stop
    await new Promise((r) => child.once('exit', r));
    times.sort((x, y) => x - y);
    return times[times.length >> 1]! * 1000;
  } finally {
    child.kill();
    a.destroy();
    b.destroy();
  }
}

const rows: string[][] = [];
for (const size of sizes) {
  const sleep = await handoff('sleep', size);
  const spin = await handoff('spin', size);
  const poll = await handoff('poll', size);
  rows.push([
    `${size} B`,
    `${sleep.toFixed(1)} µs`,
    `${spin.toFixed(1)} µs`,
    `${(sleep / spin).toFixed(2)}x`,
    `${poll.toFixed(1)} µs`,
    `${(poll / sleep).toFixed(1)}x`,
  ]);
}
table(
  'Hand-off latency between two processes (median one-way; commit in one, seen and fetched in the other)',
  ['value', 'waitForChange', 'busy spin on serial', 'wait / spin', 'poll every 1 ms', 'poll / wait'],
  rows,
);
console.log(
  '  (a busy spin keeps a core at 100% in the waiting process; waitForChange sleeps in the kernel)',
);

// ------------------------------------------------------------------ 2. store() cost without watchers

/**
 * The Store class of `rev` (default: the commit before change notification): its store.ts, next to today's
 * modules, loaded from a scratch folder. Undefined if that version does not load against today's modules.
 */
async function storeBefore(): Promise<{ Store: typeof Store; rev: string } | undefined> {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
  const arg = process.argv.find((a) => a.startsWith('--before='));
  let rev = arg?.slice('--before='.length);
  if (!rev) {
    const intro = execFileSync(
      'git',
      ['log', '--format=%H', '--reverse', '-S', 'H_WAITERS', '--', 'packages/core/src/store.ts'],
      { cwd: root, encoding: 'utf8' },
    )
      .trim()
      .split('\n')[0];
    if (!intro) return undefined;
    rev = `${intro}^`;
  }
  const src = execFileSync('git', ['show', `${rev}:packages/core/src/store.ts`], {
    cwd: root,
    encoding: 'utf8',
  });
  const dir = fileURLToPath(new URL('./.before/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}store-${process.pid}.ts`;
  const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
  writeFileSync(file, src.replaceAll("from './", `from '${pathToFileURL(srcDir).href}`));
  try {
    const m = (await import(pathToFileURL(file).href)) as { Store: typeof Store };
    return {
      Store: m.Store,
      rev: execFileSync('git', ['rev-parse', '--short', rev], { cwd: root, encoding: 'utf8' }).trim(),
    };
  } catch (e) {
    console.log(`\n(the Store of ${rev} does not load against today's modules: ${String(e).split('\n')[0]})`);
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const before = await storeBefore();
if (before) {
  const ms = quick ? 50 : 100;
  const rows2: string[][] = [];
  for (const size of sizes) {
    const now = Store.create({ name: `/${tag}-now-${size}`, register: false, inlineCapacity: 8192 });
    const old = before.Store.create({ name: `/${tag}-old-${size}`, register: false, inlineCapacity: 8192 });
    const value = new Uint8Array(size).fill(3);
    // Short runs in alternating order, each ratio taken from one adjacent pair (which saw the same machine load).
    const a: number[] = [];
    const b: number[] = [];
    const ratios: number[] = [];
    for (let i = 0; i < (quick ? 6 : 21); i++) {
      const first = i % 2 === 0;
      const x = first ? opsPerSec(() => old.store(value), ms, 1000) : 0;
      const y = opsPerSec(() => now.store(value), ms, 1000);
      const z = first ? x : opsPerSec(() => old.store(value), ms, 1000);
      a.push(y);
      b.push(z);
      ratios.push(y / z);
    }
    const med = (xs: number[]) => {
      const c = [...xs].sort((p, q) => p - q);
      return c[c.length >> 1]!;
    };
    const ratio = med(ratios);
    // What a watcher SIGKILLed mid-wait leaves: the count stuck at 1, so every commit pays a futex wake.
    Atomics.store(now.region.i32, 52 >> 2, 1);
    Atomics.store(now.region.i32, 60 >> 2, 0); // its claim ran out
    const stale = median(() => opsPerSec(() => now.store(value), ms, 1000), quick ? 3 : 5).median;
    Atomics.store(now.region.i32, 52 >> 2, 0);
    rows2.push([
      `${size} B`,
      `${fmt(med(b))}/s`,
      `${fmt(med(a))}/s`,
      `${ratio.toFixed(2)}x`,
      `${fmt(stale)}/s (${(stale / med(a)).toFixed(2)}x)`,
    ]);
    now.destroy();
    old.destroy();
  }
  table(
    `store() on a store nobody watches: today's Store against the Store of ${before.rev} (before the waiters word)`,
    [
      'value',
      `before (${before.rev})`,
      'now',
      'now / before (median of paired runs)',
      'count stuck at 1 (a SIGKILLed watcher)',
    ],
    rows2,
  );
}
