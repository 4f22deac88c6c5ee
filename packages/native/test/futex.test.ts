import { spawnPeer, uniqueName, waitFor } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeFd,
  futexWait,
  futexWaitAsync,
  futexWake,
  mapFd,
  memfdCreate,
  type NativeMapping,
  WaitResult,
} from '../src/index.js';
import { asyncWaitsInKernel, fixture, inSharedFutexWait } from './helpers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      /* already gone */
    }
  }
});

function region(): { fd: number; m: NativeMapping; words: Int32Array } {
  const fd = memfdCreate(uniqueName(), 4096);
  cleanups.push(() => closeFd(fd));
  const m = mapFd(fd);
  cleanups.push(() => m.close());
  return { fd, m, words: new Int32Array(m.buffer!) };
}

describe('futex wait and wake', () => {
  it('wakes a wait in another process when this one stores and wakes', async () => {
    const { fd, m, words } = region();
    const waiter = spawnPeer(fixture('futex-waiter.ts'), ['30000'], { stdio: ['pipe', 'pipe', 'pipe', fd] });
    cleanups.push(() => waiter.kill());
    await waiter.next((x) => x.waiting);
    // Only store once the child is really asleep in the kernel; storing earlier would make it return NotEqual.
    await waitFor(() => inSharedFutexWait(waiter.pid), 'the child to sleep in FUTEX_WAIT');
    Atomics.store(words, 0, 1);
    expect(futexWake(m, 0, 1)).toBe(1);
    expect(await waiter.next((x) => 'result' in x)).toEqual({ result: WaitResult.Woken, value: 1 });
    expect((await waiter.exited).code).toBe(0);
  });

  it('returns TimedOut from a timed wait that nobody wakes', () => {
    const { m } = region();
    expect(futexWait(m, 0, 0, 20)).toBe(WaitResult.TimedOut);
  });

  it('returns NotEqual at once when the word does not hold the expected value', () => {
    const { m, words } = region();
    Atomics.store(words, 1, 5);
    expect(futexWait(m, 4, 6, 60_000)).toBe(WaitResult.NotEqual);
    expect(futexWait(m, 4, -1, 60_000)).toBe(WaitResult.NotEqual);
  });

  it('compares the expected value as a 32-bit word, so negative values match their unsigned spelling', () => {
    const { m, words } = region();
    Atomics.store(words, 0, -2);
    expect(futexWait(m, 0, -2, 10)).toBe(WaitResult.TimedOut);
    expect(futexWait(m, 0, 0xfffffffe, 10)).toBe(WaitResult.TimedOut);
  });

  it('reports zero woken when there are no waiters', () => {
    const { m } = region();
    expect(futexWake(m, 0)).toBe(0);
    expect(futexWake(m, 4092, 1)).toBe(0);
  });

  it('keeps the event loop running during futexWaitAsync', async () => {
    const { m } = region();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const result = await futexWaitAsync(m, 0, 0, 200);
      expect(result).toBe(WaitResult.TimedOut);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(0);
  });

  it('resolves futexWaitAsync with Woken when another process wakes it', async () => {
    const { fd, m, words } = region();
    const pending = futexWaitAsync(m, 0, 0, 30_000);
    await waitFor(() => asyncWaitsInKernel(process.pid) === 1, 'the waiter thread to sleep on the word');
    const waker = spawnPeer(fixture('futex-waker.ts'), [], { stdio: ['pipe', 'pipe', 'pipe', fd] });
    cleanups.push(() => waker.kill());
    expect(await waker.next((x) => 'woke' in x)).toMatchObject({ woke: 1 });
    expect(await pending).toBe(WaitResult.Woken);
    expect(Atomics.load(words, 0)).toBe(1);
    expect((await waker.exited).code).toBe(0);
  });

  it('wakes only as many waiters as asked', async () => {
    const { m } = region();
    const a = futexWaitAsync(m, 8, 0, 30_000);
    const b = futexWaitAsync(m, 8, 0, 30_000);
    await waitFor(() => asyncWaitsInKernel(process.pid) === 2, 'the waiter to sleep on both waits');
    expect(futexWake(m, 8, 1)).toBe(1);
    // The waiter settles the woken wait and sleeps again on the other one.
    await waitFor(() => asyncWaitsInKernel(process.pid) === 1, 'the waiter to sleep again on the other wait');
    expect(futexWake(m, 8, 1)).toBe(1);
    expect(await Promise.all([a, b])).toEqual([WaitResult.Woken, WaitResult.Woken]);
  });
});

describe('futex wait timeouts', () => {
  it('refuse NaN instead of waiting forever', async () => {
    const { m } = region();
    expect(() => futexWait(m, 0, 0, Number.NaN)).toThrow(TypeError);
    expect(() => futexWait(m, 0, 0, '10' as unknown as number)).toThrow(TypeError);
    expect(() => futexWaitAsync(m, 0, 0, Number.NaN)).toThrow(TypeError);
  });

  it('treat Infinity and absurdly long timeouts as forever rather than as an EINVAL', async () => {
    const { m, words } = region();
    Atomics.store(words, 0, 1);
    // The word differs, so "forever" returns at once: the point is that the timeout is accepted.
    for (const t of [Number.POSITIVE_INFINITY, 1e13, 1e300, -1]) {
      expect(futexWait(m, 0, 0, t)).toBe(WaitResult.NotEqual);
      expect(await futexWaitAsync(m, 0, 0, t)).toBe(WaitResult.NotEqual);
    }
  });
});
