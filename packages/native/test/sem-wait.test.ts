// semopAsync waits on threads of its own: the libuv pool stays free, aborts reject and never leave ops applied,
// and a process with nothing waiting exits. semTables/semApply apply pre-read tables by id.
import { execFile } from 'node:child_process';
import { pbkdf2 } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { uniqueKey } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  semApply,
  semGetVal,
  semget,
  semopAsync,
  semRemove,
  semSetVal,
  semTables,
  sysvConstants,
} from '../src/index.js';
import { fixture } from './helpers.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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

function newSet(nsems: number): number {
  const id = semget(uniqueKey(), nsems, { exclusive: true });
  cleanups.push(() => semRemove(id));
  return id;
}

/** Milliseconds that fs, crypto and dns calls (which need the libuv pool) take, 4 of each at once. */
async function poolCalls(): Promise<number> {
  const t0 = performance.now();
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 4; i++) {
    calls.push(readFile(fixture('sem-waiter.ts')));
    calls.push(promisify(pbkdf2)('pw', 'salt', 2000, 32, 'sha256'));
    calls.push(lookup('localhost'));
  }
  const cap = sleep(20_000).then(() => 'stalled');
  expect(await Promise.race([Promise.all(calls), cap])).not.toBe('stalled');
  return performance.now() - t0;
}

describe('semopAsync', () => {
  it('leaves the libuv pool free while 64 waits are parked', async () => {
    const { SEM_UNDO } = sysvConstants();
    const id = newSet(1);
    const idle = await poolCalls();
    const ac = new AbortController();
    const waits = Array.from({ length: 64 }, () =>
      semopAsync(id, [[0, -1, SEM_UNDO]], undefined, { signal: ac.signal }).catch((e) => e),
    );
    await sleep(100);
    const busy = await poolCalls();
    // Generous for a loaded machine; with waits on pool threads these calls never finish.
    expect(busy).toBeLessThan(idle * 20 + 2000);
    ac.abort(new Error('done'));
    for (const w of await Promise.all(waits)) expect(w).toMatchObject({ message: 'done' });
    expect(semGetVal(id, 0)).toBe(0);
  });

  it('resolves when the semaphore allows it, and false when the timeout runs out', async () => {
    const { SEM_UNDO } = sysvConstants();
    const id = newSet(1);
    const t0 = performance.now();
    expect(await semopAsync(id, [[0, -1, SEM_UNDO]], 80)).toBe(false);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(70);
    const w = semopAsync(id, [[0, -1, SEM_UNDO]], 20_000);
    await sleep(30);
    semSetVal(id, 0, 1);
    expect(await w).toBe(true);
    expect(semGetVal(id, 0)).toBe(0);
  });

  it('takes back a wait that succeeds just as it is aborted', async () => {
    const { SEM_UNDO } = sysvConstants();
    const id = newSet(1);
    for (let i = 0; i < 5; i++) {
      const ac = new AbortController();
      const w = semopAsync(id, [[0, -1, SEM_UNDO]], undefined, { signal: ac.signal });
      await sleep(10);
      semSetVal(id, 0, 1); // the waiter may take it before it sees the abort...
      ac.abort(new Error('stop'));
      await expect(w).rejects.toThrow('stop');
      await sleep(300); // ...then it gives it back (within one slice of the waiter thread)
      expect(semGetVal(id, 0)).toBe(1);
      semSetVal(id, 0, 0);
    }
  });

  it('rejects a wait on a removed set with EIDRM', async () => {
    const { SEM_UNDO } = sysvConstants();
    const id = semget(uniqueKey(), 1, { exclusive: true });
    const w = semopAsync(id, [[0, -1, SEM_UNDO]]);
    await sleep(30);
    semRemove(id);
    await expect(w).rejects.toMatchObject({ code: 'EIDRM', syscall: 'semop' });
  });

  it('rejects at once with the reason of a signal already aborted', async () => {
    const id = newSet(1);
    await expect(
      semopAsync(id, [[0, -1, 0]], undefined, { signal: AbortSignal.abort(new Error('early')) }),
    ).rejects.toThrow('early');
    await expect(semopAsync(id, [[0, -1, 0]], undefined, { signal: 'x' as never })).rejects.toThrow(
      TypeError,
    );
  });

  it('does not keep the process alive once its wait is aborted or timed out', async () => {
    const id = newSet(1);
    for (const mode of ['abort', 'timeout']) {
      const t0 = performance.now();
      const { stdout } = await run(
        process.execPath,
        ['--conditions=@shm/source', '--import', 'tsx', fixture('sem-waiter.ts'), String(id), mode, '100'],
        { timeout: 30_000 },
      );
      const msg = JSON.parse(stdout.trim());
      expect(msg.settled).toBe(mode === 'abort' ? 'rejected' : 'resolved');
      // The semaphore stays 0 throughout: the peer only exits because nothing holds its loop any more.
      expect(performance.now() - t0).toBeLessThan(25_000);
      expect(semGetVal(id, 0)).toBe(0);
    }
  });
});

describe('semTables', () => {
  it('applies each table by index, atomically, with a timeout, and refuses unknown ids and indices', () => {
    const { SEM_UNDO, IPC_NOWAIT } = sysvConstants();
    const id = newSet(2);
    const t = semTables(id, [
      [
        [0, 0, 0],
        [1, 1, SEM_UNDO],
      ],
      [[1, -1, SEM_UNDO | IPC_NOWAIT]],
      [[0, -1, 0]],
    ]);
    expect(semApply(t.id, 0, -1)).toBe(0);
    expect(semGetVal(id, 1)).toBe(1);
    expect(semApply(t.id, 1, -1)).toBe(0);
    expect(semApply(t.id, 1, -1)).toBeLessThan(0); // IPC_NOWAIT: would block
    expect(semApply(t.id, 2, 30)).toBeLessThan(0); // timed out
    expect(() => semApply(t.id, 3, -1)).toThrow(RangeError);
    expect(() => semApply(t.id + 1, 0, -1)).toThrow(TypeError);
    semRemove(id);
    expect(() => semApply(t.id, 0, -1)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
