// The async-waiter behaviour every backend must show; waiter.test.ts runs it on the default backend
// (futex_waitv here), waiter-fallback.test.ts on the thread-per-wait fallback (SHM_WAITER=thread).
import { once } from 'node:events';
import { spawnPeer, tsWorker, uniqueName, waitFor } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import {
  closeFd,
  futexWaitAsync,
  futexWake,
  mapFd,
  memfdCreate,
  type NativeMapping,
  WaitResult,
} from '../src/index.js';
import { asyncWaitStats, asyncWaitsInKernel, fixture, useCleanups } from './helpers.js';

/**
 * futexWaitAsync, its promise marked as handled: a test that fails early leaves waits that its cleanup's close()
 * then rejects with ERR_SHM_CLOSED, which would otherwise surface as unhandled errors that hide the real failure.
 * Awaiting the promise still sees its rejection.
 */
function waitAsync(...args: Parameters<typeof futexWaitAsync>): Promise<WaitResult> {
  const p = futexWaitAsync(...args);
  p.catch(() => {});
  return p;
}

/** A promise's state after the waiter had `ms` to settle it. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, ms));
  return done;
}

export function describeWaiter(backend: 'futex_waitv' | 'thread', env: Record<string, string> = {}): void {
  const cleanups = useCleanups();

  function region(size = 4096): { fd: number; m: NativeMapping; words: Int32Array } {
    const fd = memfdCreate(uniqueName(), size);
    cleanups.push(() => closeFd(fd));
    const m = mapFd(fd);
    cleanups.push(() => m.close());
    return { fd, m, words: new Int32Array(m.buffer!) };
  }

  describe(`the async waiter (${backend})`, () => {
    it('runs on the expected backend and keeps no wait pending between tests', () => {
      const s = asyncWaitStats();
      expect(s.backend).toBe(backend);
      expect(s.pending).toBe(0);
    });

    it('resolves only the waiter whose word changed and was woken', async () => {
      const { m, words } = region();
      const a = waitAsync(m, 0, 0, 30_000);
      const b = waitAsync(m, 4, 0, 30_000);
      const c = waitAsync(m, 8, 0, 30_000);
      await waitFor(() => asyncWaitsInKernel(process.pid) === 3, 'the three waits to sleep in the kernel');
      Atomics.store(words, 1, 1);
      expect(futexWake(m, 4, 0)).toBe(1);
      expect(await b).toBe(WaitResult.Woken);
      expect(await settledWithin(a, 100)).toBe(false);
      expect(await settledWithin(c, 0)).toBe(false);
      expect(asyncWaitStats().pending).toBe(2);
      Atomics.store(words, 0, 1);
      Atomics.store(words, 2, 1);
      futexWake(m, 0, 0);
      futexWake(m, 8, 0);
      expect(await Promise.all([a, c])).toEqual([WaitResult.Woken, WaitResult.Woken]);
    });

    it('resolves timed waits with TimedOut once their own timeout ran out, shortest first', async () => {
      const { m } = region();
      const t0 = performance.now();
      const order: number[] = [];
      const waits = [300, 50, 150].map((ms) =>
        waitAsync(m, 0, 0, ms).then((r) => {
          order.push(ms);
          return { r, elapsed: performance.now() - t0, ms };
        }),
      );
      const results = await Promise.all(waits);
      expect(order).toEqual([50, 150, 300]);
      for (const { r, elapsed, ms } of results) {
        expect(r).toBe(WaitResult.TimedOut);
        expect(elapsed).toBeGreaterThanOrEqual(ms - 1);
        expect(elapsed).toBeLessThan(ms + 3_000); // a loaded machine may be late, never early
      }
    });

    it('settles at once when the word differs or the timeout is 0, without the waiter', async () => {
      const { m, words } = region();
      Atomics.store(words, 3, 7);
      expect(await waitAsync(m, 12, 6, 60_000)).toBe(WaitResult.NotEqual);
      expect(await waitAsync(m, 12, 7, 0)).toBe(WaitResult.TimedOut);
    });

    it('carries 250 concurrent waits on distinct words, woken in any order or timed out', async () => {
      const { m, words } = region();
      const waits = Array.from({ length: 250 }, (_, i) => waitAsync(m, i * 4, 0, i < 200 ? 30_000 : 200));
      await waitFor(() => asyncWaitsInKernel(process.pid) >= 200, 'the waits to sleep in the kernel', 20_000);
      const s = asyncWaitStats();
      expect(s.pending).toBe(250);
      // futex_waitv takes 127 words per thread besides its control word; the fallback takes one thread each, at
      // least for the 200 untimed waits (on a slow machine, qemu-user in the arm64 job, the 50 waits of 200 ms may
      // have timed out and their threads ended before the 200 were all seen asleep).
      expect(s.threads).toBeGreaterThanOrEqual(backend === 'futex_waitv' ? 2 : 200);
      if (backend === 'futex_waitv') expect(s.threads).toBeLessThanOrEqual(3);
      for (let i = 199; i >= 0; i -= 2) {
        Atomics.store(words, i, 1);
        futexWake(m, i * 4, 0);
      }
      for (let i = 198; i >= 0; i -= 2) {
        Atomics.store(words, i, 1);
        futexWake(m, i * 4, 0);
      }
      const results = await Promise.all(waits);
      expect(results.slice(0, 200).every((r) => r === WaitResult.Woken)).toBe(true);
      expect(results.slice(200).every((r) => r === WaitResult.TimedOut)).toBe(true);
      expect(asyncWaitStats().pending).toBe(0);
    });

    it('ends pending waits with ERR_SHM_CLOSED when the mapping closes, and waits on other mappings go on', async () => {
      const a = region();
      const b = region();
      const onA = [waitAsync(a.m, 0, 0, 60_000), waitAsync(a.m, 4, 0, -1)];
      const onB = waitAsync(b.m, 0, 0, 60_000);
      await waitFor(() => asyncWaitsInKernel(process.pid) === 3, 'the waits to sleep in the kernel');
      a.m.close();
      for (const p of onA) await expect(p).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
      expect(await settledWithin(onB, 50)).toBe(false);
      Atomics.store(b.words, 0, 1);
      futexWake(b.m, 0, 0);
      expect(await onB).toBe(WaitResult.Woken);
    });

    it('keeps the process alive while a wait is pending, and lets it exit once none is', async () => {
      const pending = spawnPeer(fixture('async-waiter.ts'), ['pending'], { env });
      const idle = spawnPeer(fixture('async-waiter.ts'), ['idle'], { env });
      const [p, i] = await Promise.all([pending.exited, idle.exited]);
      expect(p.code).toBe(0);
      expect(p.messages[0]).toMatchObject({ result: WaitResult.TimedOut });
      expect(p.messages[0].elapsedMs).toBeGreaterThanOrEqual(299);
      expect(i.code).toBe(0);
      expect(i.messages[0]).toMatchObject({ result: WaitResult.TimedOut });
    });

    it('uses almost no CPU while a process waits 2 s on a word', async () => {
      const peer = spawnPeer(fixture('async-waiter.ts'), ['cpu', '2000'], { env });
      const r = await peer.exited;
      expect(r.code).toBe(0);
      expect(r.messages[0]).toMatchObject({ result: WaitResult.TimedOut });
      expect(r.messages[0].elapsedMs).toBeGreaterThanOrEqual(1999);
      expect(r.messages[0].cpuMs).toBeLessThan(20);
    });

    for (const end of ['exit', 'terminate'] as const) {
      it(`survives a worker thread that ${end === 'exit' ? 'calls process.exit()' : 'is terminated'} with waits pending`, async () => {
        const { fd, m, words } = region();
        const before = asyncWaitsInKernel(process.pid);
        const w = tsWorker(fixture('wait-worker.ts'), { workerData: { fd, waits: 130, end } });
        const exited = once(w, 'exit');
        await once(w, 'message');
        await waitFor(() => asyncWaitsInKernel(process.pid) >= before + 130, 'the worker waits to sleep');
        if (end === 'terminate') await w.terminate();
        await exited;
        // Its waiter threads are joined: nothing of the worker sleeps on the words any more.
        await waitFor(() => asyncWaitsInKernel(process.pid) === before, 'the worker waiter to stop');
        // And this thread's waiter still works on the same memory.
        const mine = waitAsync(m, 0, 0, 30_000);
        await waitFor(() => asyncWaitsInKernel(process.pid) === before + 1, 'this wait to sleep');
        Atomics.store(words, 0, 1);
        futexWake(m, 0, 0);
        expect(await mine).toBe(WaitResult.Woken);
      });
    }

    it('settles a wait made in a worker thread on that worker, not on the main thread', async () => {
      const { fd, m, words } = region();
      const w = tsWorker(fixture('wait-worker.ts'), { workerData: { fd, waits: 1, end: 'wake' } });
      cleanups.push(() => void w.terminate());
      await once(w, 'message');
      await waitFor(() => asyncWaitsInKernel(process.pid) >= 1, 'the worker wait to sleep');
      expect(asyncWaitStats().pending).toBe(0); // the main thread's waiter has nothing of it
      Atomics.store(words, 0, 1);
      futexWake(m, 0, 0);
      const [msg] = await once(w, 'message');
      expect(msg).toEqual({ result: WaitResult.Woken });
      await w.terminate();
    });
  });
}
