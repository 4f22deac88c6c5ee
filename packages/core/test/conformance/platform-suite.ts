import { fileURLToPath } from 'node:url';
import { isExistsError, isNotFoundError, LockStatus, Region, RwLock, ShmError } from '@shm/core';
import { WaitResult } from '@shm/native';
import { tsWorker, uniqueName } from '@shm/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setPlatform } from '../../src/platform/choose-platform.js';
import type { Platform } from '../../src/platform/platform.js';

/** One Platform implementation under test, and what only a test of that implementation can arrange. */
export interface PlatformUnderTest {
  /** Makes the platform (once, before the cases). */
  make(): Platform;
  /** An owner id that named a thread that has ended. */
  deadOwner(p: Platform): number;
}

// Run from source by vitest, or compiled to JS for the Windows run under Wine (tools/windows/stage-conformance.mjs).
const waker = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './waker.ts' : './waker.js', import.meta.url),
);

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? (e as Error).name;
  }
  return undefined;
}

/**
 * The same cases against every Platform: regions are made through Region with the platform under test current,
 * so what is checked is the seam as Region, RwLock and the store use it.
 */
export function describePlatform(label: string, t: PlatformUnderTest): void {
  describe(`Platform conformance: ${label}`, () => {
    let p: Platform;
    let before: Platform;
    beforeAll(() => {
      p = t.make();
      before = setPlatform(p);
    });
    afterAll(() => {
      setPlatform(before);
    });

    describe('mappings', () => {
      it('creates an anonymous region: zeroed, writable, unnamed, gone from the views once closed', () => {
        const r = Region.create({ size: 4096 });
        // Windows has no memfd: an anonymous region is a section with an unguessable name, and says so (0002).
        expect(r.backend).toBe(p.name === 'win32' ? 'win32' : 'memfd');
        expect(r.created).toBe(true);
        expect(r.size).toBeGreaterThanOrEqual(4096);
        expect(r.bytes.every((b) => b === 0)).toBe(true);
        r.bytes[100] = 42;
        expect(r.bytes[100]).toBe(42);
        r.close();
        expect(r.closed).toBe(true);
        expect(code(() => r.bytes)).toBe('ERR_SHM_CLOSED');
      });

      it('creates a named region that open() finds with the same bytes, and removes it', () => {
        const name = uniqueName();
        const a = Region.create({ name, size: 8192, register: false });
        expect(a.backend).toBe(p.namedBackend);
        expect(a.created).toBe(true);
        const b = Region.open({ name });
        expect(b.created).toBe(false);
        expect(b.size).toBe(a.size);
        a.bytes[7] = 7;
        expect(b.bytes[7]).toBe(7);
        const again = Region.create({ name, size: 8192, register: false });
        expect(again.created).toBe(false);
        again.close();
        b.close();
        a.close();
        Region.remove({ name });
        if (p.removableWhileMapped) {
          let err: unknown;
          try {
            Region.open({ name }).close();
          } catch (e) {
            err = e;
          }
          expect(isNotFoundError(err)).toBe(true);
        }
      });

      it('refuses an exclusive create of an existing name and an open larger than the region', () => {
        const name = uniqueName();
        const a = Region.create({ name, size: 4096, register: false });
        try {
          let err: unknown;
          try {
            Region.create({ name, size: 4096, exclusive: true, register: false }).close();
          } catch (e) {
            err = e;
          }
          expect(isExistsError(err)).toBe(true);
          expect(code(() => Region.open({ name, size: a.size + 4096 }))).toBe('ERR_SHM_SIZE_MISMATCH');
        } finally {
          a.destroy();
        }
      });

      it('opens a missing name with a not-found error and removes it without one', () => {
        const name = uniqueName();
        let err: unknown;
        try {
          Region.open({ name }).close();
        } catch (e) {
          err = e;
        }
        expect(isNotFoundError(err)).toBe(true);
        expect(() => Region.remove({ name })).not.toThrow();
      });

      it('says ERR_SHM_NOT_SUPPORTED for a backend it lacks', () => {
        const lacking = (['memfd', 'posix', 'file', 'sysv', 'win32'] as const).find(
          (b) => p.kinds[b] === undefined,
        );
        if (lacking === undefined) return; // a platform with every kind has nothing to refuse
        const e = (() => {
          try {
            Region.create({ backend: lacking, name: uniqueName(), key: 1, size: 4096 });
          } catch (x) {
            return x;
          }
        })();
        expect(ShmError.isInstance(e) && e.code).toBe('ERR_SHM_NOT_SUPPORTED');
      });
    });

    describe('word waits', () => {
      let r: Region;
      beforeAll(() => {
        r = Region.create({ size: 4096 });
      });
      afterAll(() => r.close());

      it('returns NotEqual at once when the word differs, sync and async', async () => {
        Atomics.store(r.i32, 1, 5);
        expect(p.words.wait(r, 4, 4, 10_000)).toBe(WaitResult.NotEqual);
        expect(await p.words.waitAsync(r, 4, 4, 10_000)).toBe(WaitResult.NotEqual);
      });

      it('times out after about the time asked for, sync and async', async () => {
        Atomics.store(r.i32, 2, 0);
        let t0 = performance.now();
        expect(p.words.wait(r, 8, 0, 40)).toBe(WaitResult.TimedOut);
        const sync = performance.now() - t0;
        t0 = performance.now();
        expect(await p.words.waitAsync(r, 8, 0, 40)).toBe(WaitResult.TimedOut);
        const async = performance.now() - t0;
        // Timeouts are lower bounds (a loaded machine only makes them later).
        expect(sync).toBeGreaterThanOrEqual(35);
        expect(async).toBeGreaterThanOrEqual(35);
      });

      it('an async wait is woken by wake() and leaves the event loop running meanwhile', async () => {
        Atomics.store(r.i32, 3, 0);
        let ticks = 0;
        const timer = setInterval(() => ticks++, 5);
        const w = p.words.waitAsync(r, 12, 0, 10_000);
        await new Promise((res) => setTimeout(res, 60));
        Atomics.store(r.i32, 3, 1);
        p.words.wake(r, 12);
        const t0 = performance.now();
        expect(await w).toBe(WaitResult.Woken);
        clearInterval(timer);
        expect(performance.now() - t0).toBeLessThan(5000);
        expect(ticks).toBeGreaterThan(2);
      });

      it('a sync wait is woken by another thread through the same platform', async () => {
        const name = uniqueName();
        const shared = p.name === 'memory' ? Region.create({ size: 4096 }) : undefined;
        const named = shared ?? Region.create({ name, size: 4096, register: false });
        try {
          Atomics.store(named.i32, 4, 0);
          const w = tsWorker(waker, {
            workerData: {
              platform: p.name,
              name,
              buffer: shared?.buffer,
              offset: 16,
              delayMs: 80,
            },
          });
          await new Promise((res) => w.once('message', res));
          const t0 = performance.now();
          const res = p.words.wait(named, 16, 0, 10_000);
          const took = performance.now() - t0;
          expect(res === WaitResult.Woken || res === WaitResult.NotEqual).toBe(true);
          expect(took).toBeLessThan(10_000);
          expect(Atomics.load(named.i32, 4)).toBe(1);
          await new Promise((res) => w.once('exit', res));
        } finally {
          if (shared) shared.close();
          else named.destroy();
        }
      });

      it('an async wait ends with ERR_SHM_CLOSED when its region closes', async () => {
        const q = Region.create({ size: 4096 });
        const w = p.words.waitAsync(q, 0, 0, 10_000);
        q.close();
        await expect(w).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
      });
    });

    describe('owner identity', () => {
      it('gives this thread an id in 1..2^30-1 that is alive, with its start time', () => {
        const id = p.identity.id();
        expect(Number.isInteger(id) && id >= 1 && id < 2 ** 30).toBe(true);
        expect(p.identity.id()).toBe(id);
        const start = p.identity.startTime(id);
        expect(p.identity.alive(id)).toBe(true);
        expect(p.identity.alive(id, start)).toBe(true);
        if (start !== 0) expect(p.identity.alive(id, (start + 1) >>> 0 || 1)).toBe(false);
      });

      it('says an owner that ended is dead', () => {
        expect(p.identity.alive(t.deadOwner(p))).toBe(false);
      });

      it('is what a RwLock over a region of this platform writes as owner', () => {
        const q = Region.create({ size: 4096 });
        try {
          RwLock.init(q, 0);
          const lock = new RwLock(q, 0);
          expect(lock.lock()).toBe(LockStatus.Acquired);
          expect(lock.state().exclusiveOwner).toBe(p.identity.id());
          lock.unlock();
          lock.release();
        } finally {
          q.close();
        }
      });
    });
  });
}
