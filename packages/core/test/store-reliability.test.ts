// Issue 15, items 1, 5 and 6: what a long-lived reader maps, what fetch() reports when commits overtake it, and
// the SysV segment a writer killed right after shmget() used to leak.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listSysv, shmRemove } from '@shm/native';
import { STORE_LAYOUT, spawnPeer, uniqueKey, uniqueName } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { type FetchInfo, LockStatus, Region, Store, type StoreOptions } from '../src/index.js';

const peerScript = fileURLToPath(new URL('./fixtures/store-peer.ts', import.meta.url));
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

const backends = [
  ['posix', () => ({ name: uniqueName() })],
  ['sysv', () => ({ key: uniqueKey() })],
] as const;

/** This process's mappings of the store's chained segments, as the kernel lists them. */
function mappedChainSegments(opts: StoreOptions, shmids: Set<number>): number {
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
  if (opts.name !== undefined) return maps.filter((l) => l.includes(`/dev/shm/${opts.name}.`)).length;
  // A SysV mapping shows as /SYSV<key> with the shmid as its inode; chained segments are private (key 0).
  return maps.filter((l) => {
    const f = l.trim().split(/\s+/);
    return f[5]?.startsWith('/SYSV00000000') && shmids.has(Number(f[4]));
  }).length;
}

for (const [backend, where] of backends) {
  describe(`A long-lived reader (${backend})`, () => {
    it('keeps at most the segments both bank descriptors name while values grow and shrink for 60 rounds', async () => {
      // 64 KiB segments: a 200 KB value takes 4 of them. Stores L, L, S, S make each bank drop its chain and build a
      // new one every round, so each round removes 8 segments the reader mapped.
      const opts: StoreOptions = { ...where(), maxSegmentSize: 64 * 1024, inlineCapacity: 4096, pollMs: 5 };
      const reader = Store.create({ ...opts, register: false });
      cleanups.push(() => reader.destroy());
      const writer = spawnPeer(peerScript, [JSON.stringify(opts)]);
      cleanups.push(() => writer.kill());
      await writer.next((m) => m.ready);
      const seen = new Set<number>();
      let most = 0;
      let largeReads = 0;
      for (let round = 0; round < 60; round++) {
        for (const len of [200_000, 200_000, 100, 100]) {
          writer.send({ op: 'store', len, fill: round & 0xff });
          const { serial } = await writer.next((m) => m.op === 'store');
          const info: FetchInfo = { serial: 0, serializerId: 0 };
          const b = reader.fetch(undefined, info);
          expect(info.serial).toBe(serial);
          expect(b.length).toBe(len);
          if (len > 4096) largeReads++;
          const d = reader.debug();
          for (const s of d.segments) seen.add(s.id);
          // The handle's own count is what the kernel shows, and never more than the descriptors name.
          expect(mappedChainSegments(opts, seen)).toBe(d.mappedSegments);
          expect(d.mappedSegments).toBeLessThanOrEqual(d.segments.length);
          most = Math.max(most, d.mappedSegments);
        }
      }
      expect(largeReads).toBe(120);
      // The writer made 480 segments over the run; the reader never held more than two banks' worth (2 x 4).
      expect(seen.size).toBeGreaterThan(400);
      expect(most).toBeLessThanOrEqual(8);
      expect(most).toBeGreaterThanOrEqual(4);
      writer.send({ op: 'store', len: 10, fill: 1 });
      await writer.next((m) => m.op === 'store');
      reader.fetch();
      expect(reader.debug().mappedSegments).toBe(0);
      expect(mappedChainSegments(opts, seen)).toBe(0);
    });
  });
}

/**
 * Runs `fetch()` on `reader` with `between()` executed right after the reader's first load of the pub word, before
 * it loads the bank's sequence: the interleaving that, in a real race, needs two commits to land in those few
 * nanoseconds. Atomics.load is wrapped for the one call on the reader's own header word.
 */
function fetchWithCommitsAfterPubLoad(
  reader: Store,
  between: () => void,
): { bytes: Buffer; info: FetchInfo } {
  const original = Atomics.load;
  const words = reader.region.i32;
  let armed = true;
  (Atomics as { load: typeof Atomics.load }).load = ((a: Int32Array, i: number) => {
    const v = original(a, i);
    if (armed && a === words && i === STORE_LAYOUT.H_PUB / 4) {
      armed = false;
      between();
    }
    return v;
  }) as typeof Atomics.load;
  try {
    const info: FetchInfo = { serial: 0, serializerId: 0 };
    const bytes = Buffer.from(reader.fetch(undefined, info));
    expect(armed).toBe(false);
    return { bytes, info };
  } finally {
    Atomics.load = original;
  }
}

describe('fetch() overtaken by two commits between reading pub and the bank sequence', () => {
  const value = (tag: string) => Buffer.from(`value ${tag}`.repeat(20));

  it('returns the serial of the value it returns, not an older one', () => {
    const w = Store.create({ name: uniqueName(), register: false });
    cleanups.push(() => w.destroy());
    const r = Store.open({ name: w.name, register: false });
    cleanups.push(() => r.close());
    expect(w.store(value('A'))).toBe(1);
    const { bytes, info } = fetchWithCommitsAfterPubLoad(r, () => {
      w.store(value('B')); // serial 2, the other bank
      w.store(value('C')); // serial 3, back in the bank the reader is about to read
    });
    // Before the fix: C with serial 1.
    expect({ text: bytes.toString().slice(0, 7), serial: info.serial }).toEqual({
      text: 'value C',
      serial: 3,
    });
  });

  it('never returns a bank that was written but not published (writer killed between the two stores)', () => {
    const w = Store.create({ name: uniqueName(), register: false });
    cleanups.push(() => w.destroy());
    const r = Store.open({ name: w.name, register: false });
    cleanups.push(() => r.close());
    w.store(value('A'));
    const pubWord = STORE_LAYOUT.H_PUB / 4;
    const { bytes, info } = fetchWithCommitsAfterPubLoad(r, () => {
      w.store(value('B')); // serial 2: committed
      // Serial 3: bank written in full, then the writer "dies" before its pub store. Put back the pub word it would
      // not have written: the memory is now exactly what a writer killed between step 3 and step 4 leaves.
      const before = Atomics.load(w.region.i32, pubWord);
      w.store(value('C'));
      Atomics.store(w.region.i32, pubWord, before);
    });
    // Before the fix: C, which no commit ever published, with serial 1.
    expect({ text: bytes.toString().slice(0, 7), serial: info.serial }).toEqual({
      text: 'value B',
      serial: 2,
    });
    expect(w.serial).toBe(2);
    expect(r.fetch().toString().slice(0, 7)).toBe('value B');
  });
});

describe('A SysV writer SIGKILLed right after shmget() created a chained segment', () => {
  /** Runs a writer with the test hook that kills it after shmget; returns its pid and the segment it leaked. */
  async function killAfterShmget(
    opts: StoreOptions,
    start: <T>(spawnIt: () => T) => T = (spawnIt) => spawnIt(),
  ): Promise<{ pid: number; leaked: number[] }> {
    const p = start(() =>
      spawnPeer(peerScript, [JSON.stringify(opts)], { env: { SHM_TEST_KILL_AFTER_SHMGET: '1' } }),
    );
    await p.next((m) => m.ready);
    p.send({ op: 'store', len: 300_000, fill: 7 });
    const r = await p.exited;
    expect(r.signal).toBe('SIGKILL');
    const leaked = listSysv()
      .filter((e) => e.kind === 'shm' && e.key === 0 && e.cpid === p.pid)
      .map((e) => e.id);
    // Whatever the outcome, nothing of the victim's outlives the test.
    cleanups.push(() => {
      for (const id of leaked) shmRemove(id);
    });
    return { pid: p.pid, leaked };
  }

  /** A SysV store whose values beyond 4 KiB go to 64 KiB chained segments, destroyed after the test. */
  function chainedStore(): { opts: StoreOptions; s: Store } {
    const opts: StoreOptions = {
      key: uniqueKey(),
      maxSegmentSize: 64 * 1024,
      inlineCapacity: 4096,
      pollMs: 5,
    };
    const s = Store.create({ ...opts, register: false });
    cleanups.push(() => s.destroy());
    return { opts, s };
  }

  const leftBy = (pid: number) => listSysv().filter((e) => e.kind === 'shm' && e.key === 0 && e.cpid === pid);

  it('leaves a segment that the next writer finds and removes (and the lock passes on with OwnerDied)', async () => {
    const { opts, s } = chainedStore();
    s.store(Buffer.alloc(100, 1));
    const { pid, leaked } = await killAfterShmget(opts);
    expect(leaked.length).toBe(1); // the window is real: one private segment, recorded nowhere
    expect(s.debug().segments).toEqual([]);
    expect(s.lock.lock(5000)).toBe(LockStatus.OwnerDied);
    s.lock.unlock();
    s.store(Buffer.alloc(200_000, 2));
    expect(leftBy(pid)).toEqual([]);
    expect(Buffer.from(s.fetch()).equals(Buffer.alloc(200_000, 2))).toBe(true);
  });

  it('leaves a segment that destroy() removes when no writer came after it', async () => {
    const opts: StoreOptions = { key: uniqueKey(), maxSegmentSize: 64 * 1024, pollMs: 5 };
    const s = Store.create({ ...opts, register: false });
    const { pid, leaked } = await killAfterShmget(opts);
    expect(leaked.length).toBe(1);
    s.destroy();
    expect(leftBy(pid)).toEqual([]);
  });

  it('leaves a part-written header (killed before the magic) that destroy() still removes', async () => {
    // The header is written store id first, magic last: a writer killed in between leaves a segment that is
    // named by the descriptor, carries this store's id, and has no magic yet.
    const opts: StoreOptions = {
      key: uniqueKey(),
      maxSegmentSize: 64 * 1024,
      inlineCapacity: 1024,
      pollMs: 5,
    };
    const s = Store.create({ ...opts, register: false });
    const p = spawnPeer(peerScript, [JSON.stringify(opts)]);
    await p.next((m) => m.ready);
    p.send({ op: 'store', len: 100_000, fill: 4 });
    await p.next((m) => m.op === 'store');
    p.kill('SIGKILL');
    await p.exited;
    const made = leftBy(p.pid!).map((e) => e.id);
    cleanups.push(() => {
      for (const id of made) if (listSysv().some((e) => e.id === id)) shmRemove(id);
    });
    expect(made.length).toBeGreaterThan(0);
    for (const id of made) {
      const seg = Region.open({ backend: 'sysv', shmid: id, register: false });
      new DataView(seg.buffer).setUint32(0, 0, true); // C_MAGIC
      seg.close();
    }
    s.destroy();
    expect(leftBy(p.pid!)).toEqual([]);
  });

  it("destroy() removes a private segment with its store id that no descriptor names, and no one else's", async () => {
    const opts: StoreOptions = { key: uniqueKey(), maxSegmentSize: 64 * 1024, pollMs: 5 };
    const s = Store.create({ ...opts, register: false });
    const storeId = new DataView(s.region.buffer).getUint32(44, true); // H_STORE_ID
    const { shmget } = await import('@shm/native');
    const make = (id: number) => {
      const shmid = shmget(0, 64 * 1024, { create: true, exclusive: true });
      cleanups.push(() => {
        if (listSysv().some((e) => e.id === shmid)) shmRemove(shmid);
      });
      const seg = Region.open({ backend: 'sysv', shmid, register: false });
      new DataView(seg.buffer).setUint32(4, id, true); // C_STORE_ID written, magic not yet
      seg.close();
      return shmid;
    };
    const orphan = make(storeId);
    const foreign = make((storeId ^ 0x5a5a5a5a) >>> 0 || 1);
    s.destroy();
    const left = new Set(listSysv().map((e) => e.id));
    expect(left.has(orphan)).toBe(false);
    expect(left.has(foreign)).toBe(true);
  });

  it('is removed by the next writer when its pid now belongs to a live process, whose own segment stays', async (ctx) => {
    // The writer dies, and the kernel hands its pid to a new process that makes a blank private segment of its
    // own (both pids chosen through ns_last_pid, as root). The next writer must remove the dead one's segment,
    // made before the new process started, and leave the new one's.
    const LAST_PID = '/proc/sys/kernel/ns_last_pid';
    /** spawnIt() with the kernel's next pid set to `next`; the counter is put back at once. */
    const spawnAt = <T>(next: number, spawnIt: () => T): T => {
      const was = readFileSync(LAST_PID, 'latin1').trim();
      try {
        writeFileSync(LAST_PID, String(next - 1));
      } catch (e) {
        ctx.skip(`cannot choose the next pid (${LAST_PID}: ${(e as Error).message})`);
      }
      try {
        return spawnIt();
      } finally {
        writeFileSync(LAST_PID, was);
      }
    };
    // Pids far from the ones being handed out, so that no pid another test's process had a moment ago is handed
    // out again (other packages' tests run alongside): only the dead writer's is, and the counter goes on from
    // where it was.
    const counter = Number(readFileSync(LAST_PID, 'latin1'));
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1'));
    const far = counter + 6000 < pidMax ? counter + 3000 : 1000 + (counter % 1000);
    const { opts, s } = chainedStore();
    const { pid, leaked } = await killAfterShmget(opts, (spawnIt) => spawnAt(far, spawnIt));
    expect(leaked.length).toBe(1);
    await new Promise((r) => setTimeout(r, 3200)); // past the clocks' two seconds of slack
    const perl =
      'use IPC::SysV qw(IPC_PRIVATE IPC_CREAT); $| = 1; my $id = shmget(IPC_PRIVATE, 65536, IPC_CREAT | 0600); ' +
      'defined $id or die "shmget: $!"; print "$id\n"; sleep 60';
    let reuser: ChildProcess | undefined;
    for (let i = 0; i < 50 && reuser === undefined; i++) {
      const c = spawnAt(pid, () => spawn('perl', ['-e', perl], { stdio: ['ignore', 'pipe', 'inherit'] }));
      if (c.pid === pid) reuser = c;
      else c.kill('SIGKILL');
    }
    if (reuser === undefined) throw new Error(`pid ${pid} was not handed out again in 50 tries`);
    const child = reuser;
    cleanups.push(() => child.kill('SIGKILL'));
    const theirs = Number(
      await new Promise<string>((resolve, reject) => {
        child.stdout!.once('data', (d) => resolve(String(d).trim()));
        child.once('exit', (code) => reject(new Error(`the reusing process exited (${code})`)));
      }),
    );
    cleanups.push(() => {
      if (listSysv().some((e) => e.id === theirs)) shmRemove(theirs);
    });
    expect(
      leftBy(pid)
        .map((e) => e.id)
        .sort(),
    ).toEqual([...leaked, theirs].sort());
    s.store(Buffer.alloc(200_000, 2));
    expect(leftBy(pid).map((e) => e.id)).toEqual([theirs]);
    expect(Buffer.from(s.fetch()).equals(Buffer.alloc(200_000, 2))).toBe(true);
  });

  it('does not touch a blank private segment of a live process', async () => {
    // The intent names a dead pid; a segment of this (live) process that looks the same stays.
    const opts: StoreOptions = { key: uniqueKey(), maxSegmentSize: 64 * 1024, pollMs: 5 };
    const s = Store.create({ ...opts, register: false });
    cleanups.push(() => s.destroy());
    const { shmget } = await import('@shm/native');
    const mine = shmget(0, 64 * 1024, { create: true, exclusive: true });
    cleanups.push(() => shmRemove(mine));
    const { pid } = await killAfterShmget(opts);
    s.store(Buffer.alloc(100_000, 3));
    expect(leftBy(pid)).toEqual([]);
    expect(listSysv().some((e) => e.id === mine)).toBe(true);
  });
});
