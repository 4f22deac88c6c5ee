// Shared pieces of the seeded corruption fuzzers (packages/*/test/corruption.test.ts and their drivers in
// test/fixtures): the PRNG the drivers draw from, @shm/core's Store layout they aim at, and the test side that runs
// a driver in its own process and turns a crash, hang or failure into a message that names the seed.
import { expect } from 'vitest';
import { spawnPeer } from './peers.js';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): {
  rand(): number;
  rnd(n: number): number;
  pick<T>(a: readonly T[]): T;
} {
  let state = seed >>> 0;
  const rand = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const rnd = (n: number): number => Math.floor(rand() * n);
  return { rand, rnd, pick: <T>(a: readonly T[]): T => a[rnd(a.length)]! };
}

/**
 * Byte offsets of @shm/core's Store layout (packages/core/src/store.ts, docs/architecture/store.md) that the
 * drivers corrupt. A copy, since core does not export its layout: a change there shows as fuzz runs that stop
 * finding ERR_SHM_BAD_FORMAT, which runFuzzDriver() asserts.
 */
export const STORE_LAYOUT = {
  H_INLINE: 12,
  H_PUB: 24,
  BANK0: 64,
  BANK_BYTES: 256,
  LOCK_OFFSET: 576,
  DATA_OFFSET: 1664,
  D_LEN: 0,
  D_NSEGS: 12,
  D_ALLOC: 16,
  D_SEGS: 32,
  C_DATA: 64,
} as const;

/**
 * Runs a fuzz driver (`script` with one JSON argument holding at least `seed` and `rounds`; SHM_FUZZ_SEED and
 * SHM_FUZZ_ROUNDS override them, SHM_FUZZ_LIMIT_MS the 40 s watchdog) and asserts that it reported no failure, was
 * not killed (a crash, or a hang the watchdog ended), exited 0 and met ERR_SHM_BAD_FORMAT at least once. The driver
 * prints JSON lines: {op} before each operation, {corrupt} for each corruption, then {done, seen} or {failure}.
 * Returns the {done} message.
 */
export async function runFuzzDriver(
  script: string,
  args: { seed: number; rounds: number; [k: string]: unknown },
): Promise<{ done: true; seen: Record<string, number>; [k: string]: unknown }> {
  const seed = Number(process.env.SHM_FUZZ_SEED ?? args.seed);
  const rounds = Number(process.env.SHM_FUZZ_ROUNDS ?? args.rounds);
  const p = spawnPeer(script, [JSON.stringify({ ...args, seed, rounds })]);
  // The driver bounds each operation itself; this catches a hang inside one.
  const timer = setTimeout(() => p.kill('SIGKILL'), Number(process.env.SHM_FUZZ_LIMIT_MS ?? 40_000));
  const r = await p.exited;
  clearTimeout(timer);
  const failure = r.messages.find((m) => m.failure !== undefined)?.failure;
  const last = r.messages.findLast((m) => m.op !== undefined)?.op ?? 'before the first operation';
  const lastCorruption = r.messages.findLast((m) => m.corrupt !== undefined)?.corrupt;
  const context = `seed ${seed} (SHM_FUZZ_SEED=${seed} SHM_FUZZ_ROUNDS=${rounds} replays it); last corruption: ${lastCorruption}`;
  expect(failure, `${context}\n${failure}`).toBeUndefined();
  expect(
    r.signal,
    `${context}: the driver was killed by ${r.signal} during ${last} (a hang, or a crash)\n${r.stderr}`,
  ).toBeNull();
  expect(r.code, `${context}: exit code ${r.code}\n${r.stderr}`).toBe(0);
  const done = r.messages.find((m) => m.done);
  expect(done?.seen?.ERR_SHM_BAD_FORMAT, context).toBeGreaterThan(0);
  return done;
}
