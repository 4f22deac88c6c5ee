import { uniqueKey } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import {
  loadBinding,
  type NativeMapping,
  ShareLiteLock,
  ShareLiteStatus,
  ShmSystemError,
  semGetAll,
  semget,
  semRemove,
  semSetVal,
  shareliteChain,
  shareliteFetch,
  shareliteStore,
  shmat,
  shmget,
  shmRemove,
  sysvConstants,
} from '../src/index.js';
import { errorOf, useCleanups } from './helpers.js';

const cleanups = useCleanups();
const { SEM_UNDO: UNDO, IPC_NOWAIT: NW } = sysvConstants();

// IPC::ShareLite's tables (PERL-FORMATS.md §4): sem 1 counts readers, sem 2 is the writer.
const RAW = {
  EX_LOCK: Int32Array.of(1, 0, 0, 2, 0, 0, 2, 1, UNDO),
  EX_LOCK_NB: Int32Array.of(1, 0, NW, 2, 0, NW, 2, 1, UNDO | NW),
  EX_UNLOCK: Int32Array.of(2, -1, UNDO | NW),
  SH_LOCK: Int32Array.of(2, 0, 0, 1, 1, UNDO),
  SH_LOCK_NB: Int32Array.of(2, 0, NW, 1, 1, UNDO | NW),
  SH_UNLOCK: Int32Array.of(1, -1, UNDO | NW),
};
const { Take, TryTake, Held } = ShareLiteLock;
const SEG = 4096; // 4080 data bytes per segment

interface Share {
  semid: number;
  ids: number[];
  maps: NativeMapping[];
  /** Header words of segment i: next_shmid, length, shm_state, version. */
  hdr(i: number): Int32Array;
  chain: ReturnType<typeof shareliteChain>;
}

/** A share laid out as IPC::ShareLite would: `n` linked segments, the head initialised with shm_state 1. */
function share(n: number): Share {
  const key = uniqueKey();
  const semid = semget(key, 3, { exclusive: true });
  cleanups.push(() => semRemove(semid));
  const ids: number[] = [];
  const maps: NativeMapping[] = [];
  for (let i = 0; i < n; i++) {
    const id = shmget(i === 0 ? key : 0, SEG, { exclusive: true });
    cleanups.push(() => shmRemove(id));
    ids.push(id);
    const m = shmat(id);
    cleanups.push(() => m.close());
    maps.push(m);
  }
  const hdr = (i: number) => new Int32Array(maps[i]!.buffer!, 0, 4);
  for (let i = 0; i < n; i++) hdr(i).set([i + 1 < n ? ids[i + 1]! : -1, 0, 0, 0]);
  hdr(0).set([n > 1 ? ids[1]! : -1, 0, 1, 1]);
  semSetVal(semid, 0, 1);
  const chain = shareliteChain(semid, RAW);
  chain.setSegments(maps);
  return { semid, ids, maps, hdr, chain };
}

const pattern = (n: number, seed = 7) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe('ShareLiteChain store and fetch', () => {
  it('store a value across the chain as write_share does and fetch it back, leaving the semaphores idle', () => {
    const s = share(3);
    const value = pattern(2 * (SEG - 16) + 100);
    expect(shareliteStore(s.chain.id, Take, 1, value)).toBe(0);
    expect([...s.hdr(0)]).toEqual([s.ids[1], value.length, 1, 2]);
    expect(Buffer.from(s.maps[2]!.buffer!, 16, 100)).toEqual(value.subarray(2 * (SEG - 16)));
    const got = shareliteFetch(s.chain.id, Take, 1, null);
    expect(Buffer.isBuffer(got)).toBe(true);
    expect(got).toEqual(value);
    expect(semGetAll(s.semid)).toEqual([1, 0, 0]);
  });

  it('copy into dest when the value fits and return the byte count, else allocate a Buffer of the exact length', () => {
    const s = share(1);
    shareliteStore(s.chain.id, Take, 1, pattern(10));
    const dest = Buffer.alloc(16, 0xee);
    expect(shareliteFetch(s.chain.id, Take, 1, dest)).toBe(10);
    expect(dest.subarray(0, 10)).toEqual(pattern(10));
    expect(dest[10]).toBe(0xee);
    const small = new Uint8Array(9);
    const got = shareliteFetch(s.chain.id, Take, 1, small) as Buffer;
    expect(got.length).toBe(10);
    expect(small.every((b) => b === 0)).toBe(true);
  });

  it('store and fetch the empty value, and count the version up on every store', () => {
    const s = share(1);
    for (let i = 0; i < 3; i++) expect(shareliteStore(s.chain.id, Take, 1, new Uint8Array(0))).toBe(0);
    expect([...s.hdr(0)]).toEqual([-1, 0, 1, 4]);
    expect(shareliteFetch(s.chain.id, Take, 1, null)).toEqual(Buffer.alloc(0));
    expect(shareliteFetch(s.chain.id, Take, 1, new Uint8Array(4))).toBe(0);
  });

  it('take no semaphore at all in Held mode', () => {
    const s = share(1);
    semSetVal(s.semid, 2, 1); // somebody holds EX: Held must not wait for it
    expect(shareliteStore(s.chain.id, Held, 1, pattern(5))).toBe(0);
    expect(shareliteFetch(s.chain.id, Held, 1, null)).toEqual(pattern(5));
    expect(semGetAll(s.semid)).toEqual([1, 0, 1]);
  });

  it('report WouldBlock for TryTake against a held lock, without taking anything', () => {
    const s = share(1);
    semSetVal(s.semid, 2, 1);
    expect(shareliteFetch(s.chain.id, TryTake, 1, null)).toBe(ShareLiteStatus.WouldBlock);
    expect(shareliteStore(s.chain.id, TryTake, 1, pattern(5))).toBe(ShareLiteStatus.WouldBlock);
    semSetVal(s.semid, 2, 0);
    semSetVal(s.semid, 1, 1);
    expect(shareliteStore(s.chain.id, TryTake, 1, pattern(5))).toBe(ShareLiteStatus.WouldBlock);
    expect(shareliteFetch(s.chain.id, TryTake, 1, null)).toEqual(Buffer.alloc(0)); // readers share
    expect(semGetAll(s.semid)).toEqual([1, 1, 0]);
    expect(s.hdr(0)[3]).toBe(1);
  });

  it('report UnlockLost when the unlock finds its semaphore at 0, after doing the work', () => {
    const s = share(1);
    // Unlock tables that decrement sem 0 (the "initialised" flag, 1): the second call finds it at 0.
    const odd = shareliteChain(s.semid, {
      ...RAW,
      SH_UNLOCK: Int32Array.of(0, -1, NW),
      EX_UNLOCK: Int32Array.of(0, -1, NW),
    });
    odd.setSegments(s.maps);
    expect(shareliteStore(odd.id, Held, 1, pattern(3))).toBe(0);
    expect(shareliteFetch(odd.id, Held, 1, null)).toEqual(pattern(3));
    expect(shareliteFetch(odd.id, Take, 1, null)).toEqual(pattern(3)); // sem 0: 1 -> 0
    expect(shareliteFetch(odd.id, Take, 1, null)).toBe(ShareLiteStatus.UnlockLost);
    expect(semGetAll(s.semid)).toEqual([0, 2, 0]); // these tables never release sem 1
  });
});

describe('ShareLiteChain leaves the work to its caller, with the lock held,', () => {
  function expectSlowHolding(s: Share, r: unknown, sems: number[]) {
    expect(r).toBe(ShareLiteStatus.Slow);
    expect(semGetAll(s.semid)).toEqual(sems);
  }

  it('when shm_state differs from the one the caller attached under', () => {
    const s = share(1);
    expectSlowHolding(s, shareliteFetch(s.chain.id, Take, 2, null), [1, 1, 0]);
    semSetVal(s.semid, 1, 0);
    const before = [...s.hdr(0)];
    expectSlowHolding(s, shareliteStore(s.chain.id, Take, 2, pattern(5)), [1, 0, 1]);
    expect([...s.hdr(0)]).toEqual(before);
  });

  it('when the attached segments cannot hold the value (a corrupt length included)', () => {
    const s = share(2);
    s.chain.setSegments([s.maps[0]!]);
    expectSlowHolding(s, shareliteStore(s.chain.id, Take, 1, pattern(SEG)), [1, 0, 1]);
    semSetVal(s.semid, 2, 0);
    for (const len of [SEG - 15, 0x7fffffff]) {
      s.hdr(0)[1] = len;
      expectSlowHolding(s, shareliteFetch(s.chain.id, Take, 1, null), [1, 1, 0]);
      semSetVal(s.semid, 1, 0);
    }
  });

  it('when the length is negative', () => {
    const s = share(1);
    s.hdr(0)[1] = -5;
    expectSlowHolding(s, shareliteFetch(s.chain.id, Take, 1, null), [1, 1, 0]);
  });

  it('when a shorter value leaves a tail of segments to collect', () => {
    const s = share(2);
    expectSlowHolding(s, shareliteStore(s.chain.id, Take, 1, pattern(10)), [1, 0, 1]);
    expect(s.hdr(0)[3]).toBe(1);
  });
});

describe('ShareLiteChain with bad input', () => {
  it('refuses unknown, stale and non-numeric chain ids', () => {
    const s = share(1);
    for (const id of [-1, s.chain.id + 1, s.chain.id + (1 << 20), 'x', undefined, {}]) {
      expect(errorOf(() => shareliteFetch(id as number, Take, 1, null))).toBeInstanceOf(TypeError);
      expect(errorOf(() => shareliteStore(id as number, Take, 1, pattern(1)))).toBeInstanceOf(TypeError);
    }
    expect(semGetAll(s.semid)).toEqual([1, 0, 0]);
  });

  it('refuses bad lock modes, states and buffers before taking any lock', () => {
    const s = share(1);
    const id = s.chain.id;
    for (const mode of [-1, 3, 'take', null]) {
      expect(errorOf(() => shareliteFetch(id, mode as 0, 1, null))).toBeInstanceOf(RangeError);
    }
    expect(errorOf(() => shareliteFetch(id, Take, 'one' as unknown as number, null))).toBeInstanceOf(
      TypeError,
    );
    for (const bad of [new Int32Array(4), new DataView(new ArrayBuffer(4)), [1, 2], 'abc', 5]) {
      const b = bad as unknown as Uint8Array;
      expect(errorOf(() => shareliteFetch(id, Take, 1, b))).toBeInstanceOf(TypeError);
      expect(errorOf(() => shareliteStore(id, Take, 1, b))).toBeInstanceOf(TypeError);
    }
    expect(errorOf(() => shareliteStore(id, Take, 1, null as unknown as Uint8Array))).toBeInstanceOf(
      TypeError,
    );
    expect(semGetAll(s.semid)).toEqual([1, 0, 0]);
  });

  it('refuses malformed op tables and segment lists', () => {
    const s = share(2);
    const Chain = loadBinding().ShareLiteChain!;
    const t = [RAW.EX_LOCK, RAW.EX_LOCK_NB, RAW.EX_UNLOCK, RAW.SH_LOCK, RAW.SH_LOCK_NB] as const;
    expect(errorOf(() => new Chain(s.semid, ...t, [1, -1, 0] as unknown as Int32Array))).toBeInstanceOf(
      TypeError,
    );
    expect(errorOf(() => new Chain(s.semid, ...t, new Int32Array(2)))).toBeInstanceOf(RangeError);
    expect(errorOf(() => new Chain(s.semid, ...t, new Int32Array(27)))).toBeInstanceOf(RangeError);
    expect(errorOf(() => s.chain.setSegments('maps' as unknown as NativeMapping[]))).toBeInstanceOf(
      TypeError,
    );
    expect(errorOf(() => s.chain.setSegments([{} as NativeMapping]))).toBeInstanceOf(TypeError);
    const other = shmget(0, SEG * 2, { exclusive: true });
    cleanups.push(() => shmRemove(other));
    const big = shmat(other);
    cleanups.push(() => big.close());
    expect(errorOf(() => s.chain.setSegments([s.maps[0]!, big]))).toBeInstanceOf(RangeError);
    const tiny = shmget(0, 16, { exclusive: true });
    cleanups.push(() => shmRemove(tiny));
    const t16 = shmat(tiny);
    cleanups.push(() => t16.close());
    expect(errorOf(() => s.chain.setSegments([t16]))).toBeInstanceOf(RangeError);
    // Methods called on something that is not a chain (another wrapped object included) throw, not crash.
    const setSegments = s.chain.setSegments;
    expect(errorOf(() => setSegments.call(s.maps[0], s.maps))).toBeInstanceOf(TypeError);
    const id = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(s.chain), 'id')!.get!;
    expect(errorOf(() => id.call(s.maps[0]))).toBeInstanceOf(TypeError);
    expect(errorOf(() => id.call({}))).toBeInstanceOf(Error);
    // The failed calls left the working list alone.
    shareliteStore(s.chain.id, Take, 1, pattern(SEG));
    expect(shareliteFetch(s.chain.id, Take, 1, null)).toEqual(pattern(SEG));
  });

  it('throws EBADF for a closed segment, after releasing the lock it took', () => {
    const s = share(2);
    shareliteStore(s.chain.id, Take, 1, pattern(SEG));
    s.maps[1]!.close();
    for (const fn of [
      () => shareliteFetch(s.chain.id, Take, 1, null),
      () => shareliteStore(s.chain.id, Take, 1, pattern(SEG)),
    ]) {
      const e = errorOf(fn);
      expect(e).toBeInstanceOf(ShmSystemError);
      expect(e.code).toBe('EBADF');
      expect(semGetAll(s.semid)).toEqual([1, 0, 0]);
    }
  });

  it('throws EBADF with no segments, and a semop error once the set is gone', () => {
    const s = share(1);
    s.chain.setSegments([]);
    expect(errorOf(() => shareliteFetch(s.chain.id, Take, 1, null)).code).toBe('EBADF');
    s.chain.setSegments(s.maps);
    semRemove(s.semid);
    const e = errorOf(() => shareliteFetch(s.chain.id, Take, 1, null));
    expect(e).toBeInstanceOf(ShmSystemError);
    expect(['EINVAL', 'EIDRM']).toContain(e.code);
    expect(e.syscall).toBe('semop');
    expect(shareliteFetch(s.chain.id, Held, 1, null)).toEqual(Buffer.alloc(0)); // no semop: still readable
  });

  it('keeps working on its own copy of the segment list when the caller drops the array', () => {
    const s = share(2);
    const list = [...s.maps];
    s.chain.setSegments(list);
    list.length = 0;
    shareliteStore(s.chain.id, Take, 1, pattern(SEG + 1));
    expect(shareliteFetch(s.chain.id, Take, 1, null)).toEqual(pattern(SEG + 1));
  });
});
