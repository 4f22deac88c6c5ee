// The Node side on its own: options, values of every size, chaining and GC, locks, async variants, errors and
// corrupt shared memory.
import { sysv } from '@shm/core';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_PRIVATE,
  LOCK_EX,
  LOCK_NB,
  LOCK_SH,
  LOCK_UN,
  ShareLite,
  type ShareLiteOptions,
  ShmError,
  ShmSystemError,
} from '@shm/sharelite';
import { uniqueKey } from '@shm/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  md5,
  nodePeer,
  objectsInRange,
  pattern,
  pokeHeader,
  purge,
  rawHeader,
  semValues,
  stopPeer,
} from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let key: number;
const shares: ShareLite[] = [];
const open = (o: ShareLiteOptions = {}) => {
  const s = new ShareLite({ key, ...o });
  shares.push(s);
  return s;
};

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

beforeEach(() => {
  key = uniqueKey();
});
afterEach(() => {
  for (const s of shares.splice(0)) {
    try {
      s.close();
    } catch {
      /* removed already */
    }
  }
  purge(key);
});

describe('constructor', () => {
  it('creates a share of one 65536-byte segment and a 3-semaphore set with mode 0666', () => {
    const s = open({ create: true });
    expect(s.key).toBe(key);
    expect(s.size).toBe(0);
    expect(s.segmentSize).toBe(65536);
    expect(s.version()).toBe(1);
    expect(s.numSegments()).toBe(1);
    expect(s.fetch()).toEqual(Buffer.alloc(0));
    const objs = objectsInRange(key);
    expect(objs.map((e) => [e.kind, e.key, e.mode & 0o777, e.size]).sort()).toEqual([
      ['sem', key, 0o666, 3],
      ['shm', key, 0o666, 65536],
    ]);
    expect(semValues(key)).toEqual([1, 0, 0]);
    expect(rawHeader(key)).toMatchObject({ next: -1, length: 0, state: 1, version: 1 });
  });

  it('accepts the positional form, Perl spellings and yes/no', () => {
    const a = new ShareLite(key, 'yes', 'no', 'no', 0o640, undefined, 8192);
    shares.push(a);
    expect(a.segmentSize).toBe(8192);
    expect(a.mode).toBe(0o640);
    expect(a.create).toBe(IPC_CREAT);
    const b = new ShareLite({ '-key': key, '-create': 0 } as ShareLiteOptions);
    shares.push(b);
    expect(b.segmentSize).toBe(8192);
    const c = open({ glue: key } as ShareLiteOptions);
    expect(c.key).toBe(key);
    expect(objectsInRange(key).every((e) => (e.mode & 0o777) === 0o640)).toBe(true);
  });

  it('flags replace mode, as in Perl', () => {
    const s = open({ flags: IPC_CREAT | 0o600, mode: 0o644 });
    expect(objectsInRange(key).every((e) => (e.mode & 0o777) === 0o600)).toBe(true);
    expect(s.flags).toBe(IPC_CREAT | 0o600);
  });

  it('a missing share without create is ENOENT, with the key in the message', () => {
    const e = thrown(() => new ShareLite({ key }));
    expect(e).toBeInstanceOf(ShmSystemError);
    expect(e.code).toBe('ENOENT');
    expect(e.errno).toBe(2);
    expect(e.syscall).toBe('semget');
    expect(e.message).toContain(String(key));
    expect(e.message).toMatch(/create: true/);
    expect(objectsInRange(key)).toEqual([]);
  });

  it('exclusive on an existing share is EEXIST', () => {
    open({ create: true });
    const e = thrown(() => new ShareLite({ key, exclusive: 'yes' }));
    expect(e.code).toBe('EEXIST');
    expect(e.message).toContain(`0x${key.toString(16)}`);
    const s = open({ key: key + 1, exclusive: true }); // exclusive implies create
    expect(s.exclusive).toBe(IPC_EXCL | IPC_CREAT);
  });

  it('a size larger than the existing segments is EINVAL naming both sizes, and the lock is released', () => {
    open({ create: true, size: 4096 });
    const e = thrown(() => new ShareLite({ key, size: 65536 }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toMatch(/4096/);
    expect(e.message).toMatch(/65536/);
    expect(semValues(key)).toEqual([1, 0, 0]); // Perl would keep [1,0,1] until it exits
    expect(open({ size: 1024 }).segmentSize).toBe(4096); // smaller: adopts the real size
    expect(open().segmentSize).toBe(4096); // none: adopts it too (Perl asks for 65536 and fails)
  });

  it('a key whose segment is not a share (too small) is ERR_SHM_BAD_FORMAT, and the new set is removed', () => {
    const shmid = sysv.shmget(key, 8, { create: true, mode: 0o600 });
    try {
      const e = thrown(() => new ShareLite({ key, create: true }));
      expect(e.code).toBe('ERR_SHM_BAD_FORMAT');
      expect(objectsInRange(key).filter((o) => o.kind === 'sem')).toEqual([]);
    } finally {
      sysv.shmRemove(shmid);
    }
  });

  it('bad arguments are TypeError/RangeError "Expected ... for <name> but received ..."', () => {
    expect(() => new ShareLite({ key: 'toolong', create: true })).toThrow(RangeError);
    expect(() => new ShareLite({ key, create: 'maybe' as any })).toThrow(
      new TypeError("Expected true, false, 1, 0, 'yes' or 'no' for create but received \"maybe\""),
    );
    expect(() => new ShareLite({ key, create: true, size: -1 })).toThrow(RangeError);
    expect(() => new ShareLite({ key, create: true, mode: 0o1777 })).toThrow(RangeError);
    expect(() => new ShareLite({ key, colour: 'red' } as any)).toThrow(/option name/);
    expect(() => new (ShareLite as any)(key, 1, 0, 0, 0, 0, 0, 'extra')).toThrow(RangeError);
    expect(objectsInRange(key)).toEqual([]);
  });
});

describe('values', () => {
  const DS = 65520;
  it.each([0, 1, 16, DS - 1, DS, DS + 1, 2 * DS, 204800, 1 << 20])('stores and fetches %i bytes', (len) => {
    const s = open({ create: true });
    const data = pattern(len, len % 251);
    s.store(data);
    const got = s.fetch();
    expect(got.length).toBe(len);
    expect(md5(got)).toBe(md5(data));
    expect(s.numSegments()).toBe(Math.max(1, Math.ceil(len / DS)));
    expect(s.version()).toBe(2);
    expect(objectsInRange(key).filter((e) => e.kind === 'shm')).toHaveLength(s.numSegments());
    expect(new ShareLite({ key }).fetch().equals(got)).toBe(true); // a second handle reads the same
  });

  it('stores strings as their whole UTF-8 encoding, and any ArrayBufferView or ArrayBuffer', () => {
    const s = open({ create: true, size: 64 }); // 48 data bytes: long strings span segments
    s.store('\u263aabc');
    expect(s.fetch().toString('hex')).toBe('e298ba616263');
    const long = 'é☺'.repeat(100);
    s.store(long);
    expect(s.fetch().toString('utf8')).toBe(long);
    expect(s.numSegments()).toBe(Math.ceil(Buffer.byteLength(long) / 48));
    s.store(new Uint16Array([0x4241, 0x4443]));
    expect(s.fetch().toString()).toBe('ABCD');
    s.store(new Uint8Array([1, 2, 3]).buffer);
    expect([...s.fetch()]).toEqual([1, 2, 3]);
    expect(() => s.store(42 as any)).toThrow(TypeError);
    expect(() => s.store(undefined as any)).toThrow(TypeError);
  });

  it('fetch(into) copies into the caller’s buffer when it is large enough', () => {
    const s = open({ create: true, size: 1024 });
    s.store(pattern(3000, 4));
    const into = Buffer.alloc(4096, 0xee);
    const got = s.fetch(into);
    expect(got.length).toBe(3000);
    expect(got.buffer).toBe(into.buffer);
    expect(md5(into.subarray(0, 3000))).toBe(md5(pattern(3000, 4)));
    expect(into[3000]).toBe(0xee);
    const small = Buffer.alloc(10);
    const fresh = s.fetch(small);
    expect(fresh.buffer).not.toBe(small.buffer);
    expect(md5(fresh)).toBe(md5(pattern(3000, 4)));
    expect(() => s.fetch([1, 2] as any)).toThrow(TypeError);
  });

  it('fetch() returns a fresh Buffer of exactly the value, owned by the caller, as the length changes', () => {
    const s = open({ create: true, size: 1024 });
    const lengths = [100, 100, 40, 0, 3000, 3000, 999, 1008, 2017, 5];
    const got: Buffer[] = [];
    for (const [i, len] of lengths.entries()) {
      s.store(pattern(len, i));
      got.push(s.fetch());
    }
    for (const [i, b] of got.entries()) b.fill(0xff - i); // writing one result never shows in another
    for (const [i, len] of lengths.entries()) {
      expect(got[i]!.length).toBe(len);
      expect(got[i]!.every((x) => x === 0xff - i)).toBe(true);
      if (len > 0) expect(got[i]!.buffer.byteLength).toBeLessThan(Math.max(2 * len, 8192 + 1)); // never pins a larger block
    }
    expect(md5(s.fetch())).toBe(md5(pattern(5, 9)));
  });

  it('store and fetch keep working as the chain grows, shrinks and is swapped by another handle', () => {
    const a = open({ create: true, size: 1024 });
    const b = open();
    const seq: [ShareLite, number][] = [
      [a, 10],
      [a, 5000],
      [b, 5000],
      [b, 2000],
      [a, 7000],
      [b, 0],
      [a, 3000],
    ];
    for (const [i, [w, len]] of seq.entries()) {
      w.store(pattern(len, i));
      for (const r of [a, b]) {
        expect(md5(r.fetch())).toBe(md5(pattern(len, i)));
        const into = Buffer.alloc(8000);
        expect(md5(r.fetch(into))).toBe(md5(pattern(len, i)));
      }
      expect(rawHeader(key).length).toBe(len);
    }
    expect(rawHeader(key).version).toBe(seq.length + 1);
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('a store whose one-call plan another handle overtook (it grew the chain) collects that tail instead', () => {
    const a = open({ create: true, size: 1024 });
    const b = open();
    a.store(pattern(10, 1)); // a's plan for one segment now expects the head to end the chain
    a.store(pattern(10, 2));
    b.store(pattern(3000, 3)); // links two segments to the head; shm_state stays (only removals bump it)
    expect(rawHeader(key).state).toBe(1);
    a.store(pattern(10, 4)); // the guard fails under the lock: the TypeScript path removes b's tail
    expect(rawHeader(key)).toMatchObject({ length: 10, state: 2, next: -1 });
    expect(objectsInRange(key).filter((e) => e.kind === 'shm')).toHaveLength(1);
    expect(md5(b.fetch())).toBe(md5(pattern(10, 4)));
    expect(md5(a.fetch())).toBe(md5(pattern(10, 4)));
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('version counts every store, empty ones included', () => {
    const s = open({ create: true });
    for (let i = 0; i < 5; i++) s.store(i % 2 ? '' : 'x');
    expect(s.version()).toBe(6);
    expect(rawHeader(key).version).toBe(6);
  });

  it('chained segments use keys key+1, key+2... and a shrink removes them and bumps shm_state', () => {
    const s = open({ create: true, size: 1024 });
    s.store(pattern(5000, 1)); // 5 segments of 1008 data bytes
    expect(s.numSegments()).toBe(5);
    const shm = () =>
      objectsInRange(key)
        .filter((e) => e.kind === 'shm')
        .map((e) => e.key - key)
        .sort((a, b) => a - b);
    expect(shm()).toEqual([0, 1, 2, 3, 4]);
    expect(rawHeader(key).state).toBe(1);
    s.store(pattern(2000, 2));
    expect(shm()).toEqual([0, 1]);
    expect(rawHeader(key).state).toBe(2);
    s.store(pattern(3000, 3)); // grows again: this handle's next key only increases, as Perl's
    expect(shm()).toEqual([0, 1, 5]);
    expect(rawHeader(key).state).toBe(2);
    expect(md5(s.fetch())).toBe(md5(pattern(3000, 3)));
  });

  it('a chained key taken by someone else is skipped (IPC_CREAT|IPC_EXCL, retry on EEXIST)', () => {
    const foreign = sysv.shmget(key + 1, 100, { create: true, mode: 0o600 });
    try {
      const s = open({ create: true, size: 1024 });
      s.store(pattern(3000, 1));
      expect(s.numSegments()).toBe(3);
      expect(sysv.shmStat(foreign).size).toBe(100);
      s.destroy();
      expect(sysv.shmStat(foreign).size).toBe(100);
    } finally {
      sysv.shmRemove(foreign);
    }
  });

  it('a reader drops attachments when another handle shrank the chain (shm_state)', () => {
    const w = open({ create: true, size: 1024 });
    const r = open();
    w.store(pattern(5000, 1));
    expect(md5(r.fetch())).toBe(md5(pattern(5000, 1)));
    w.store('x');
    w.store(pattern(5000, 7)); // new segments with new shmids
    expect(md5(r.fetch())).toBe(md5(pattern(5000, 7)));
  });

  it('an IPC_PRIVATE share is private, keeps its chain off public keys and is removed by close()', () => {
    const before = new Set(sysv.listSysv().map((e) => `${e.kind}:${e.id}`));
    const a = new ShareLite({ size: 1024 });
    const b = new ShareLite();
    expect(a.key).toBe(IPC_PRIVATE);
    a.store(pattern(4000, 1));
    b.store('other');
    expect(md5(a.fetch())).toBe(md5(pattern(4000, 1)));
    const mine = sysv.listSysv().filter((e) => !before.has(`${e.kind}:${e.id}`));
    expect(mine.every((e) => e.key === 0)).toBe(true);
    expect(mine.filter((e) => e.kind === 'shm')).toHaveLength(5);
    a.close();
    b.close();
    expect(sysv.listSysv().filter((e) => !before.has(`${e.kind}:${e.id}`))).toEqual([]);
  });
});

describe('locks', () => {
  it('follow the Perl semaphore values: idle [1,0,0], SH [1,1,0], two SH [1,2,0], EX [1,0,1]', () => {
    const a = open({ create: true });
    const b = open();
    expect(a.lock(LOCK_SH)).toBe(true);
    expect(semValues(key)).toEqual([1, 1, 0]);
    expect(b.lock(LOCK_SH | LOCK_NB)).toBe(true);
    expect(semValues(key)).toEqual([1, 2, 0]);
    expect(b.lock(LOCK_EX | LOCK_NB)).toBe(false); // upgrade: releases SH first, then fails
    expect(b.locked).toBe(0);
    expect(semValues(key)).toEqual([1, 1, 0]);
    a.unlock();
    expect(b.lock(0)).toBe(true); // 0 means LOCK_EX
    expect(b.locked).toBe(LOCK_EX);
    expect(semValues(key)).toEqual([1, 0, 1]);
    expect(b.lock(LOCK_EX)).toBe(true); // not counted
    expect(semValues(key)).toEqual([1, 0, 1]);
    expect(a.lock(LOCK_SH | LOCK_NB)).toBe(false);
    expect(a.lock(LOCK_EX, 50)).toBe(false); // timed out
    expect(b.lock(LOCK_SH)).toBe(true); // downgrade
    expect(semValues(key)).toEqual([1, 1, 0]);
    expect(b.unlock()).toBe(true);
    expect(b.unlock()).toBe(true);
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('LOCK_UN releases and clears the state (Perl’s LOCK_UN bug is not reproduced); LOCK_NB alone is a no-op', () => {
    const a = open({ create: true });
    expect(a.lock(LOCK_EX)).toBe(true);
    expect(a.lock(LOCK_UN)).toBe(true);
    expect(a.locked).toBe(0);
    expect(semValues(key)).toEqual([1, 0, 0]);
    expect(a.unlock()).toBe(true);
    expect(a.lock(LOCK_EX)).toBe(true);
    a.unlock();
    expect(a.lock(LOCK_NB)).toBe(true);
    expect(a.locked).toBe(0);
    expect(semValues(key)).toEqual([1, 0, 0]);
  });

  it('rejects contradictory flags', () => {
    const a = open({ create: true });
    expect(() => a.lock(LOCK_EX | LOCK_SH)).toThrow(RangeError);
    expect(() => a.lock(LOCK_UN | LOCK_EX)).toThrow(RangeError);
    expect(() => a.lock(64)).toThrow(TypeError);
    expect(() => a.lock('x' as any)).toThrow(TypeError);
  });

  it('store under the handle’s own EX takes no lock; under SH it releases and retakes SH', () => {
    const a = open({ create: true });
    a.lock(LOCK_EX);
    a.store('one');
    expect(semValues(key)).toEqual([1, 0, 1]);
    expect(a.fetch().toString()).toBe('one');
    a.lock(LOCK_SH);
    a.store('two');
    expect(a.locked).toBe(LOCK_SH);
    expect(semValues(key)).toEqual([1, 1, 0]);
    expect(a.fetch().toString()).toBe('two');
    a.unlock();
  });

  it('lockAsync waits on a pool thread while the event loop runs, and honours a timeout', async () => {
    const a = open({ create: true });
    const b = open();
    a.lock(LOCK_EX);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    let got: boolean | undefined;
    const p = b.lockAsync(LOCK_SH).then((v) => {
      got = v;
      return v;
    });
    await sleep(100);
    expect(got).toBeUndefined();
    expect(ticks).toBeGreaterThan(0);
    expect(() => b.fetch()).toThrow(expect.objectContaining({ code: 'ERR_SHM_BUSY' }));
    a.unlock();
    expect(await p).toBe(true);
    clearInterval(timer);
    expect(b.locked).toBe(LOCK_SH);
    expect(await a.lockAsync(LOCK_EX, 30)).toBe(false);
    expect(await a.lockAsync(LOCK_EX | LOCK_NB)).toBe(false);
    b.unlock();
    expect(await a.lockAsync()).toBe(true);
    a.unlock();
  });

  it('storeAsync and fetchAsync wait for other holders and run in call order', async () => {
    const a = open({ create: true });
    const b = open();
    a.lock(LOCK_SH);
    const order: string[] = [];
    const s1 = b.storeAsync('first').then(() => order.push('store1'));
    const f1 = b.fetchAsync().then((v) => order.push(`fetch:${v}`));
    const s2 = b.storeAsync(pattern(100000, 3)).then(() => order.push('store2'));
    await sleep(50);
    expect(order).toEqual([]);
    a.unlock();
    await Promise.all([s1, f1, s2]);
    expect(order).toEqual(['store1', 'fetch:first', 'store2']);
    expect(md5(await a.fetchAsync())).toBe(md5(pattern(100000, 3)));
  });

  it('a Node process killed while holding SH or EX releases it (SEM_UNDO)', async () => {
    const a = open({ create: true });
    for (const flags of [LOCK_SH, LOCK_EX]) {
      const peer = await nodePeer();
      try {
        peer.send({ cmd: 'open', key, id: 1 });
        await peer.next((m) => m.id === 1 && m.ok);
        peer.send({ cmd: 'lock', flags, id: 2 });
        await peer.next((m) => m.id === 2 && m.ok);
        expect(a.lock(LOCK_EX | LOCK_NB)).toBe(false);
        peer.kill('SIGKILL');
        await peer.exited;
        expect(semValues(key)).toEqual([1, 0, 0]);
        expect(a.lock(LOCK_EX | LOCK_NB)).toBe(true);
        a.unlock();
      } finally {
        await stopPeer(peer);
      }
    }
  });
});

describe('lifecycle', () => {
  it('close() detaches and keeps the share; closed handles throw ERR_SHM_CLOSED', () => {
    const a = open({ create: true });
    a.store('kept');
    a.lock(LOCK_SH);
    a.close();
    a.close(); // idempotent
    expect(a.closed).toBe(true);
    expect(semValues(key)).toEqual([1, 0, 0]); // its lock was released
    const e = thrown(() => a.fetch());
    expect(e).toBeInstanceOf(ShmError);
    expect(e.code).toBe('ERR_SHM_CLOSED');
    expect(() => a.version()).toThrow(/closed/);
    expect(open().fetch().toString()).toBe('kept');
  });

  it('destroy() removes every segment and the set; other handles then fail with EINVAL/EIDRM', async () => {
    const a = open({ create: true, size: 2048 });
    const b = open();
    a.store(pattern(10000, 1));
    expect(objectsInRange(key)).toHaveLength(6); // 5 segments + 1 set
    a.destroy();
    expect(objectsInRange(key)).toEqual([]);
    const e = thrown(() => b.fetch());
    expect(['EINVAL', 'EIDRM']).toContain(e.code);
    expect(e.message).toMatch(/removed/);
    b.destroy(); // already gone: just closes
    expect(b.closed).toBe(true);
  });

  it('destroy() removes the rest of its chain even when a share opened at key+1 took a segment and destroyed it', async () => {
    // PERL-FORMATS §9: share K's first chained segment has key K+1, so a share created at K+1 opens it as its
    // head; destroying that share removes it and breaks K's chain. Perl's destroy then stops at the gap and leaks
    // every later segment (and its semaphore set); ours removes what it had attached.
    const a = open({ create: true, size: 2048 });
    a.store(pattern(10000, 1));
    expect(a.fetch().length).toBe(10000); // attaches the whole chain
    const chained = objectsInRange(key).filter((e) => e.kind === 'shm' && e.key !== key);
    expect(chained).toHaveLength(4);
    const intruder = new ShareLite({ key: key + 1, create: true, destroy: true });
    intruder.destroy();
    expect(objectsInRange(key).filter((e) => e.kind === 'shm')).toHaveLength(4); // head + 3 left in the chain
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      a.destroy();
      expect(objectsInRange(key)).toEqual([]);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    // One warning that says what happened, naming the segment the intruder removed.
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(
        `shmid ${chained.find((e) => e.key === key + 1)!.id}\\) had been removed by another process: a share opened at one of keys key\\+1`,
      ),
    );
  });
  it('destroyAsync waits for a holder without blocking the event loop', async () => {
    const a = open({ create: true });
    const b = open();
    b.lock(LOCK_SH);
    let done = false;
    const d = a.destroyAsync().then(() => {
      done = true;
    });
    await sleep(50);
    expect(done).toBe(false);
    b.unlock();
    await d;
    expect(objectsInRange(key)).toEqual([]);
  });

  it('destroyOnClose set later acts like Perl’s $share->destroy(1)', () => {
    const a = open({ create: true });
    expect(a.destroyOnClose).toBe(false);
    a.destroyOnClose = true;
    a.close();
    expect(objectsInRange(key)).toEqual([]);
  });

  it('a share opened with destroy is removed when the process exits normally', async () => {
    const peer = await nodePeer();
    peer.send({ cmd: 'open', key, create: 'yes', destroy: 'yes', id: 1 });
    await peer.next((m) => m.id === 1 && m.ok);
    peer.send({ cmd: 'store', len: 200000, seed: 1, id: 2 });
    await peer.next((m) => m.id === 2 && m.ok);
    expect(objectsInRange(key)).toHaveLength(5);
    peer.send({ cmd: 'exit', id: 3 });
    expect((await peer.exited).code).toBe(0);
    expect(objectsInRange(key)).toEqual([]);
  });

  it('ShareLite.open() resolves to an open handle', async () => {
    const s = await ShareLite.open({ key, create: true });
    shares.push(s);
    s.store('async');
    expect((await ShareLite.open(key)).fetch().toString()).toBe('async');
    await expect(ShareLite.open({ key: key + 2 })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('corrupt shared memory gives ERR_SHM_BAD_FORMAT, never a crash', () => {
  const bad = (fn: () => unknown) => {
    const e = thrown(fn);
    expect(e).toBeInstanceOf(ShmError);
    expect(e.code).toBe('ERR_SHM_BAD_FORMAT');
    expect(e.message).toContain(String(key));
    return e;
  };

  it('a negative length', () => {
    const s = open({ create: true });
    pokeHeader(s.ids.shmid, 1, -5);
    bad(() => s.fetch());
    expect(semValues(key)).toEqual([1, 0, 0]); // the lock was released
    s.store('repaired');
    expect(s.fetch().toString()).toBe('repaired');
  });

  it('a length larger than the chain holds', () => {
    const s = open({ create: true });
    s.store('short');
    pokeHeader(s.ids.shmid, 1, 0x7fffffff);
    expect(bad(() => s.fetch()).message).toMatch(/chain ends after 1 segment/);
  });

  it('next_shmid pointing at a segment that does not exist', () => {
    const s = open({ create: true, size: 1024 });
    s.store(pattern(3000, 1));
    const head = s.ids.shmid;
    const fresh = open(); // a handle with no cached attachments
    const gone = sysv.shmget(key + 100, 1024, { create: true, mode: 0o600 });
    sysv.shmRemove(gone);
    pokeHeader(head, 0, gone);
    bad(() => fresh.fetch());
  });

  it('next_shmid pointing at a segment of another size (somebody else’s)', () => {
    const s = open({ create: true, size: 1024 });
    s.store(pattern(3000, 1));
    const foreign = sysv.shmget(key + 200, 4096, { create: true, mode: 0o600 });
    try {
      pokeHeader(s.ids.shmid, 0, foreign);
      const fresh = open();
      expect(bad(() => fresh.fetch()).message).toMatch(/4096 bytes, not 1024/);
      expect(() => fresh.numSegments()).toThrow(/4096 bytes, not 1024/);
      // destroy follows the chain only through segments of the right size: the foreign one survives
      s.destroy();
      expect(sysv.shmStat(foreign).size).toBe(4096);
    } finally {
      sysv.shmRemove(foreign);
      purge(key);
    }
  });

  it('a chain that loops back on itself', () => {
    const s = open({ create: true, size: 1024 });
    s.store(pattern(3000, 1));
    pokeHeader(s.ids.shmid, 0, s.ids.shmid);
    const fresh = open();
    expect(bad(() => fresh.fetch()).message).toMatch(/loops/);
    expect(() => fresh.numSegments()).toThrow(/loops/);
  });

  it('a store over a corrupt chain fails cleanly and releases the lock', () => {
    const s = open({ create: true, size: 1024 });
    s.store(pattern(3000, 1));
    pokeHeader(s.ids.shmid, 0, s.ids.shmid);
    const fresh = open();
    bad(() => fresh.store(pattern(3000, 2)));
    expect(semValues(key)).toEqual([1, 0, 0]);
    expect(rawHeader(key).length).toBe(0); // the value reads as empty, as after a crashed Perl writer
  });
});
