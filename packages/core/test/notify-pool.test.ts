// 64 async watchers must not take the libuv pool from fs, crypto and dns (issue 18). This passes only once
// wordWaitAsync no longer parks a pool thread per wait (the "async waits off the libuv pool" work); until then a
// pending wait holds one of the pool's 4 threads for up to a wait slice (1 s) and the ratio below is far above 2.
import { pbkdf2 } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { uniqueName } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import { Store } from '../src/index.js';

const pbkdf2Async = promisify(pbkdf2);
const self = fileURLToPath(import.meta.url);

/** A round that takes longer than this counts as this long (so a starved pool fails the ratio, not the timeout). */
const CAP_MS = 4000;

/** One round of pool work: 16 file reads, 8 small pbkdf2 runs and 8 lookups of localhost, all at once (ms). */
async function poolRound(): Promise<number> {
  const t = performance.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([
      ...Array.from({ length: 16 }, () => readFile(self)),
      ...Array.from({ length: 8 }, () => pbkdf2Async('secret', 'salt', 2000, 32, 'sha256')),
      ...Array.from({ length: 8 }, () => lookup('localhost')),
    ]),
    new Promise((r) => {
      timer = setTimeout(r, CAP_MS);
    }),
  ]);
  clearTimeout(timer);
  return performance.now() - t;
}

/** The median of `n` rounds. */
async function median(n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) times.push(await poolRound());
  times.sort((a, b) => a - b);
  return times[n >> 1]!;
}

describe('async watchers and the libuv pool', () => {
  it('64 pending waitForChangeAsync calls leave fs, crypto and dns as responsive as none', async () => {
    const store = Store.create({ name: uniqueName(), register: false });
    const ac = new AbortController();
    try {
      await median(3); // warm up
      const without = await median(7);
      const waits = Array.from({ length: 64 }, () =>
        store.waitForChangeAsync(store.serial, undefined, ac.signal).catch(() => {}),
      );
      await new Promise((r) => setTimeout(r, 50));
      expect(store.debug().waiters).toBe(64);
      const withWatchers = await median(5);
      const ratio = withWatchers / without;
      console.log(
        `pool round: ${without.toFixed(1)} ms without watchers, ${withWatchers.toFixed(1)} ms with 64 (ratio ${ratio.toFixed(2)})`,
      );
      expect(ratio).toBeLessThan(2);
      ac.abort();
      await Promise.all(waits);
      // Pool work a starved round left behind finishes before the store goes.
      await median(1);
    } finally {
      ac.abort();
      store.destroy();
    }
  }, 120_000);
});
