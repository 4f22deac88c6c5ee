import { fileURLToPath } from 'node:url';
import { type RedisServer, startRedis, stopRedis } from '@shm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canIsolate, runSample } from '../src/run-sample.js';
import { allSamples, outputMatches } from '../src/samples.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
// Inside this package, so `@shm/*` imports resolve to the workspace packages (their sources, via @shm/source).
const work = fileURLToPath(new URL('../.tmp/samples/', import.meta.url));
const samples = allSamples(root);
const runnable = samples.filter((s) => s.run);

// Samples of @shm/redis read REDIS_URL: they get a redis-server of their own, started here and stopped after.
let redis: RedisServer | undefined;
beforeAll(async () => {
  if (runnable.some((s) => s.code.includes('REDIS_URL'))) {
    redis = await startRedis();
    process.env.REDIS_URL = redis.url;
  }
});
afterAll(async () => {
  if (redis) await stopRedis(redis);
});

const where = canIsolate() ? 'each in its own IPC namespace with a 64 MB /dev/shm' : 'in the host namespace';

describe(`code samples in the docs (run ${where})`, () => {
  it('are found in the READMEs, the guides and the architecture pages', () => {
    const files = new Set(runnable.map((s) => s.file));
    for (const f of [
      'README.md',
      'packages/core/README.md',
      'packages/sharelite/README.md',
      'docs/guides/docker.md',
    ])
      expect(files).toContain(f);
    expect(runnable.length).toBeGreaterThanOrEqual(20);
  });

  it('are kept out of the run only with a reason, and rarely', () => {
    const skipped = samples.filter((s) => s.noRun !== undefined);
    for (const s of skipped) expect(s.noRun, `${s.file}:${s.line} says no-run without a reason`).not.toBe('');
    expect(skipped.length).toBeLessThanOrEqual(Math.ceil(runnable.length / 10));
  });

  for (const s of runnable) {
    it(`${s.file}:${s.line} (${s.lang}) runs, prints what it shows and leaves nothing behind`, async () => {
      const r = await runSample(s, work, 150_000);
      const report = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
      expect(r.timedOut, `timed out${report}`).toBe(false);
      expect(r.code, `exit code ${r.code} (signal ${r.signal})${report}`).toBe(0);
      if (s.lang !== 'sh') expect(r.stderr, `wrote to stderr${report}`).toBe('');
      if (s.expectedOutput !== undefined) {
        expect(
          outputMatches(s.expectedOutput, r.stdout),
          `stdout differs from the output block:${report}`,
        ).toBe(true);
      }
      expect(r.leftovers, `left kernel objects behind${report}`).toEqual([]);
    });
  }
});
