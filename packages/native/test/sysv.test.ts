import { uniqueKey } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { listSysv, semget, semRemove, semStat, shmat, shmget, shmRemove, shmStat } from '../src/index.js';

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

describe('SysV status', () => {
  it('describes a segment and a semaphore set by key, mode, size and creator', () => {
    const key = uniqueKey();
    const shmid = shmget(key, 10_000, { exclusive: true, mode: 0o640 });
    cleanups.push(() => shmRemove(shmid));
    const semid = semget(key, 3, { exclusive: true, mode: 0o600 });
    cleanups.push(() => semRemove(semid));
    const m = shmat(shmid, { readonly: true });
    cleanups.push(() => m.close());
    expect(m.size).toBe(10_000);
    expect(shmStat(shmid)).toMatchObject({ key, size: 10_000, mode: 0o640, cpid: process.pid, nattch: 1 });
    expect(semStat(semid)).toMatchObject({ key, nsems: 3, mode: 0o600 });
    const listed = listSysv().filter((e) => e.key === key);
    expect(listed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'shm',
          id: shmid,
          size: 10_000,
          mode: 0o640,
          cpid: process.pid,
          nattch: 1,
        }),
        expect.objectContaining({ kind: 'sem', id: semid, size: 3, mode: 0o600 }),
      ]),
    );
    expect(listed).toHaveLength(2);
  });

  it('keeps a removed segment attached until the last detach, then forgets it', () => {
    const key = uniqueKey();
    const id = shmget(key, 4096, { exclusive: true });
    const m = shmat(id);
    cleanups.push(() => m.close());
    shmRemove(id);
    new Int32Array(m.buffer!)[0] = 1; // still mapped
    expect(listSysv().some((e) => e.kind === 'shm' && e.id === id)).toBe(true);
    m.close();
    expect(listSysv().some((e) => e.kind === 'shm' && e.id === id)).toBe(false);
  });
});
