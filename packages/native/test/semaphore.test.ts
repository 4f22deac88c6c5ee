import { spawnPeer, uniqueKey } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  checkTimeout,
  semGetAll,
  semGetVal,
  semget,
  semop,
  semopAsync,
  semRemove,
  semSetVal,
  semStat,
  sysvConstants,
} from '../src/index.js';
import { fixture } from './helpers.js';

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

describe('SysV semaphores', () => {
  it('apply several operations atomically and report would-block with IPC_NOWAIT', () => {
    const { IPC_NOWAIT, SEM_UNDO } = sysvConstants();
    const id = newSet(2);
    semSetVal(id, 0, 1);
    expect(semGetAll(id)).toEqual([1, 0]);
    // Needs both: semaphore 1 is 0, so nothing may change.
    expect(
      semop(id, [
        [0, -1, IPC_NOWAIT],
        [1, -1, IPC_NOWAIT],
      ]),
    ).toBe(false);
    expect(semGetAll(id)).toEqual([1, 0]);
    expect(
      semop(id, [
        [0, -1, SEM_UNDO],
        [1, 1, SEM_UNDO],
      ]),
    ).toBe(true);
    expect(semGetAll(id)).toEqual([0, 1]);
    expect(
      semop(id, [
        [0, 1, SEM_UNDO],
        [1, -1, SEM_UNDO],
      ]),
    ).toBe(true);
    expect(semStat(id)).toMatchObject({ nsems: 2, mode: 0o600 });
  });

  it('time out a blocking semop and return false', () => {
    const id = newSet(1);
    expect(semop(id, [[0, -1, 0]], 30)).toBe(false);
    expect(semGetVal(id, 0)).toBe(0);
  });

  it('are released by the kernel when a child holding one with SEM_UNDO is SIGKILLed', async () => {
    const { IPC_NOWAIT, SEM_UNDO } = sysvConstants();
    const id = newSet(1);
    semSetVal(id, 0, 1);
    const holder = spawnPeer(fixture('sem-holder.ts'), [String(id)]);
    cleanups.push(() => holder.kill());
    expect(await holder.next((m) => 'held' in m)).toMatchObject({ held: true });
    expect(semGetAll(id)).toEqual([0]);
    expect(semop(id, [[0, -1, SEM_UNDO | IPC_NOWAIT]])).toBe(false);

    // A waiter already blocked (on a pool thread) when the holder dies is let through...
    const waiting = semopAsync(id, [[0, -1, SEM_UNDO]], 20_000);
    holder.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    expect(await waiting).toBe(true);
    expect(semGetAll(id)).toEqual([0]);
    // ...and once it gives the semaphore back, a blocking, timed semop gets it too.
    expect(semop(id, [[0, 1, SEM_UNDO]])).toBe(true);
    expect(semGetAll(id)).toEqual([1]);
    expect(semop(id, [[0, -1, SEM_UNDO]], 5_000)).toBe(true);
    expect(semop(id, [[0, 1, SEM_UNDO]])).toBe(true);
    expect(semGetAll(id)).toEqual([1]);
  });

  it('give a released semaphore to a synchronous timed semop after the holder is killed', async () => {
    const { SEM_UNDO } = sysvConstants();
    const id = newSet(1);
    semSetVal(id, 0, 1);
    const holder = spawnPeer(fixture('sem-holder.ts'), [String(id)]);
    cleanups.push(() => holder.kill());
    await holder.next((m) => m.held === true);
    holder.kill('SIGKILL');
    await holder.exited;
    expect(semGetAll(id)).toEqual([1]);
    expect(semop(id, [[0, -1, SEM_UNDO]], 5_000)).toBe(true);
    expect(semGetVal(id, 0)).toBe(0);
    expect(semop(id, [[0, 1, SEM_UNDO]])).toBe(true);
  });
});

describe('semop timeouts', () => {
  it('accept undefined, Infinity and absurdly long values as forever, and refuse NaN or negatives', () => {
    const { SEM_UNDO } = sysvConstants();
    expect([undefined, Number.POSITIVE_INFINITY, 1e13, 1e300].map((t) => checkTimeout(t))).toEqual([
      -1, -1, -1, -1,
    ]);
    expect(checkTimeout(0)).toBe(0);
    const id = newSet(1);
    semSetVal(id, 0, 1);
    expect(semop(id, [[0, -1, SEM_UNDO]], 1e13)).toBe(true);
    expect(semop(id, [[0, 1, SEM_UNDO]], Number.POSITIVE_INFINITY)).toBe(true);
    expect(() => semop(id, [[0, -1, SEM_UNDO]], Number.NaN)).toThrow(TypeError);
    expect(() => semop(id, [[0, -1, SEM_UNDO]], -1)).toThrow(TypeError);
    expect(semGetVal(id, 0)).toBe(1);
  });
});
