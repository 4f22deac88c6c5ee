// guardedCopy: a lock table, word checks, word writes, a copy along pieces of several segments and an unlock
// table in one call, knowing no format; a failed check returns with the lock held and nothing written.
import { uniqueKey } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type GuardedCopySpec,
  GuardedCopyStatus,
  guardedCopy,
  guardedCopyFn,
  guardedCopyPlan,
  type NativeMapping,
  semGetAll,
  semget,
  semRemove,
  semSetVal,
  semTables,
  shmat,
  shmget,
  shmRemove,
  sysvConstants,
} from '../src/index.js';

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

const SIZE = 4096;
// Tables: 0 take (wait for 0, then +1), 1 try-take, 2 give back, 3 give back twice (fails: EAGAIN).
function fixture(segments = 2) {
  const { SEM_UNDO, IPC_NOWAIT } = sysvConstants();
  const semid = semget(uniqueKey(), 1, { exclusive: true });
  cleanups.push(() => semRemove(semid));
  const tables = semTables(semid, [
    [
      [0, 0, 0],
      [0, 1, SEM_UNDO],
    ],
    [
      [0, 0, IPC_NOWAIT],
      [0, 1, SEM_UNDO | IPC_NOWAIT],
    ],
    [[0, -1, SEM_UNDO | IPC_NOWAIT]],
    [[0, -2, SEM_UNDO | IPC_NOWAIT]],
  ]);
  const maps: NativeMapping[] = [];
  for (let i = 0; i < segments; i++) {
    const shmid = shmget(uniqueKey(), SIZE, { exclusive: true });
    cleanups.push(() => shmRemove(shmid));
    const m = shmat(shmid);
    cleanups.push(() => m.close());
    maps.push(m);
  }
  const words = maps.map((m) => new Int32Array(m.buffer!, 0, 4));
  const bytes = maps.map((m) => new Uint8Array(m.buffer!));
  return { semid, tables, maps, words, bytes, sem: () => semGetAll(semid)[0] };
}

// A value with its length in word 1 of segment 0 and a version in word 3, data after 16 bytes of every segment.
const pieces = (n: number): GuardedCopySpec['pieces'] =>
  Array.from({ length: n }, (_, i) => [i, 16, SIZE - 16] as const);
const writeSpec = (n: number): GuardedCopySpec => ({
  direction: 'write',
  checks: [[0, 8, 7]],
  pieces: pieces(n),
  before: [[0, 4, 'set', 0]],
  after: [
    [0, 4, 'count'],
    [0, 12, 'add', 1],
  ],
});
const readSpec = (n: number): GuardedCopySpec => ({
  direction: 'read',
  checks: [[0, 8, 7]],
  count: [0, 4],
  pieces: pieces(n),
});

describe('guardedCopy', () => {
  it('writes across segments, sets and adds words, and leaves the lock as it found it', () => {
    const f = fixture(2);
    f.words[0]![2] = 7;
    f.words[0]![3] = -1; // the add wraps at 32 bits
    const plan = guardedCopyPlan(f.tables, f.maps, writeSpec(2));
    const data = Buffer.alloc(SIZE + 100);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    expect(guardedCopy(plan.id, 0, 2, data)).toBe(data.length);
    expect(f.sem()).toBe(0);
    expect(Array.from(f.words[0]!)).toEqual([0, data.length, 7, 0]);
    expect(Buffer.from(f.bytes[0]!.subarray(16))).toEqual(data.subarray(0, SIZE - 16));
    expect(Buffer.from(f.bytes[1]!.subarray(16, 16 + 116))).toEqual(data.subarray(SIZE - 16));
  });

  it('reads as many bytes as the count word says, into the start of the buffer', () => {
    const f = fixture(2);
    f.words[0]![2] = 7;
    f.words[0]![1] = SIZE; // spans both segments
    f.bytes[0]!.fill(1, 16);
    f.bytes[1]!.fill(2, 16);
    const plan = guardedCopyPlan(f.tables, f.maps, readSpec(2));
    const out = Buffer.alloc(SIZE + 10, 9);
    expect(guardedCopyFn()(plan.id, 0, 2, out)).toBe(SIZE);
    expect(out.subarray(0, SIZE - 16).every((b) => b === 1)).toBe(true);
    expect(out.subarray(SIZE - 16, SIZE).every((b) => b === 2)).toBe(true);
    expect(out.subarray(SIZE).every((b) => b === 9)).toBe(true);
    expect(f.sem()).toBe(0);
  });

  it('returns GuardFailed with the lock held and nothing written when a word differs', () => {
    const f = fixture(1);
    f.words[0]![2] = 8;
    f.words[0]![1] = 5;
    const plan = guardedCopyPlan(f.tables, f.maps, writeSpec(1));
    expect(guardedCopy(plan.id, 0, 2, Buffer.from('hello'))).toBe(GuardedCopyStatus.GuardFailed);
    expect(f.sem()).toBe(1); // held: the caller finishes under it
    expect(Array.from(f.words[0]!)).toEqual([0, 5, 8, 0]);
    expect(f.bytes[0]![16]).toBe(0);
  });

  it('fails the guard when the count is negative, exceeds the pieces or the buffer, and never overreads', () => {
    const f = fixture(1);
    f.words[0]![2] = 7;
    const read = guardedCopyPlan(f.tables, f.maps, readSpec(1)).id;
    for (const len of [-1, SIZE, 0x7fffffff]) {
      f.words[0]![1] = len;
      expect(guardedCopy(read, -1, -1, Buffer.alloc(SIZE * 2))).toBe(GuardedCopyStatus.GuardFailed);
    }
    f.words[0]![1] = 10;
    expect(guardedCopy(read, -1, -1, Buffer.alloc(9))).toBe(GuardedCopyStatus.GuardFailed);
    expect(guardedCopy(read, -1, -1, Buffer.alloc(10))).toBe(10);
    const write = guardedCopyPlan(f.tables, f.maps, writeSpec(1)).id;
    expect(guardedCopy(write, -1, -1, Buffer.alloc(SIZE - 15))).toBe(GuardedCopyStatus.GuardFailed);
    expect(f.words[0]![1]).toBe(10); // the before writes did not run
    expect(f.sem()).toBe(0); // -1: no table applied
  });

  it('returns WouldBlock without doing anything when a try-lock table would block', () => {
    const f = fixture(1);
    f.words[0]![2] = 7;
    semSetVal(f.semid, 0, 1); // held elsewhere
    const plan = guardedCopyPlan(f.tables, f.maps, writeSpec(1));
    expect(guardedCopy(plan.id, 1, 2, Buffer.from('x'))).toBe(GuardedCopyStatus.WouldBlock);
    expect(Array.from(f.words[0]!)).toEqual([0, 0, 7, 0]);
    expect(f.sem()).toBe(1);
  });

  it('returns UnlockLost when the unlock table finds the semaphore too low, after doing the copy', () => {
    const f = fixture(1);
    f.words[0]![2] = 7;
    const plan = guardedCopyPlan(f.tables, f.maps, writeSpec(1));
    expect(guardedCopy(plan.id, 0, 3, Buffer.from('abc'))).toBe(GuardedCopyStatus.UnlockLost);
    expect(f.words[0]![1]).toBe(3);
    expect(f.sem()).toBe(1);
  });

  it('copies correctly when the buffer is a view of the very segment it writes', () => {
    const f = fixture(1);
    f.words[0]![2] = 7;
    f.bytes[0]!.set([1, 2, 3, 4, 5, 6], 20);
    const plan = guardedCopyPlan(f.tables, f.maps, writeSpec(1));
    const view = new Uint8Array(f.maps[0]!.buffer!, 20, 6); // overlaps the destination at 16
    expect(guardedCopy(plan.id, -1, -1, view)).toBe(6);
    expect(Array.from(f.bytes[0]!.subarray(16, 22))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('throws EBADF before locking once a segment is closed', () => {
    const f = fixture(2);
    const plan = guardedCopyPlan(f.tables, f.maps, readSpec(2));
    f.maps[1]!.close();
    expect(() => guardedCopy(plan.id, 0, 2, Buffer.alloc(8))).toThrow(
      expect.objectContaining({ code: 'EBADF' }),
    );
    expect(f.sem()).toBe(0);
  });

  it('throws the semop error when the set is gone', () => {
    const f = fixture(1);
    const plan = guardedCopyPlan(f.tables, f.maps, readSpec(1));
    semRemove(f.semid);
    expect(() => guardedCopy(plan.id, 0, 2, Buffer.alloc(8))).toThrow(
      expect.objectContaining({ syscall: 'semop', code: expect.stringMatching(/^(EINVAL|EIDRM)$/) }),
    );
  });

  it('refuses words and pieces outside their segments when the plan is made', () => {
    const f = fixture(1);
    const make = (spec: Partial<GuardedCopySpec>) =>
      guardedCopyPlan(f.tables, f.maps, { direction: 'read', pieces: [], ...spec });
    expect(() => make({ checks: [[0, SIZE - 2, 0]] })).toThrow(RangeError);
    expect(() => make({ checks: [[0, 6, 0]] })).toThrow(/multiple of 4/);
    expect(() => make({ count: [1, 0] })).toThrow(RangeError);
    expect(() => make({ pieces: [[0, 16, SIZE - 15]] })).toThrow(RangeError);
    expect(() => make({ after: [[0, 0, 'xor' as never, 1]] })).toThrow(TypeError);
    expect(make({ pieces: [[0, 0, SIZE]] }).id).toBeGreaterThanOrEqual(0);
  });

  it('refuses plan ids and table indices that are not live', () => {
    const f = fixture(1);
    const plan = guardedCopyPlan(f.tables, f.maps, readSpec(1));
    expect(() => guardedCopy(plan.id + 1, -1, -1, Buffer.alloc(1))).toThrow(TypeError);
    expect(() => guardedCopy(plan.id, 4, -1, Buffer.alloc(1))).toThrow(RangeError);
    expect(() => guardedCopy(plan.id, -1, -2, Buffer.alloc(1))).toThrow(RangeError);
  });
});
