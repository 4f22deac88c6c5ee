import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { canIsolate, runSample } from '../src/run-sample.js';
import type { Sample } from '../src/samples.js';

const work = fileURLToPath(new URL('../.tmp/runner/', import.meta.url));
const sample = (code: string, line: number, lang: Sample['lang'] = 'ts'): Sample => ({
  file: 'runner-test.md',
  line,
  lang,
  code,
  run: true,
});

describe('the sample runner', () => {
  it('reports the segments and semaphore sets a sample leaves behind', async () => {
    const name = `shmtest-${process.env.SHM_TEST_RUN ?? 'x'}-docs-leak-${process.pid}`;
    const key = 0x5e000000 + (process.pid % 4096) * 256;
    const r = await runSample(
      sample(
        [
          "import { Store } from '@shm/core';",
          "import { ShareLite } from '@shm/sharelite';",
          `Store.create({ name: '${name}' }).close();`,
          `new ShareLite({ key: ${key}, create: true }).close();`,
        ].join('\n'),
        1,
      ),
      work,
      60_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.leftovers.some((l) => l.includes(name))).toBe(true);
    expect(r.leftovers.some((l) => l.startsWith('sem '))).toBe(true);
    if (!canIsolate()) {
      // Outside a private namespace the leak is real: remove it.
      const { Store } = await import('@shm/core');
      const { ShareLite } = await import('@shm/sharelite');
      Store.open({ name }).destroy();
      new ShareLite({ key }).destroy();
    }
  });

  it('reports the exit code, stderr and stdout of a failing sample, and runs sh samples with the shm command', async () => {
    const r = await runSample(sample("console.log('before');\nthrow new Error('boom');", 2), work, 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('before\n');
    expect(r.stderr).toContain('boom');
    const sh = await runSample(sample('shm ls', 3, 'sh'), work, 60_000);
    expect(sh.code, sh.stderr).toBe(0);
    expect(sh.stdout).toContain('Registry (objects created through @shm):');
  });
});
