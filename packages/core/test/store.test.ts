import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { listSysv } from '@shm/native';
import { type Peer, spawnPeer, uniqueKey, uniqueName, uniquePath } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { json, Region, ShmError, Store, type StoreOptions } from '../src/index.js';

const peerScript = fileURLToPath(new URL('./fixtures/store-peer.ts', import.meta.url));
const sum = (b: Uint8Array) => createHash('sha1').update(b).digest('hex').slice(0, 16);

let cleanups: (() => void)[] = [];
let peers: Peer[] = [];
afterEach(async () => {
  for (const p of peers) p.kill();
  await Promise.all(peers.map((p) => p.exited));
  peers = [];
  for (const c of cleanups.reverse()) {
    try {
      c();
    } catch {
      /* best effort */
    }
  }
  cleanups = [];
});

function make(opts: StoreOptions): Store {
  const s = Store.create({ ...opts, register: false });
  cleanups.push(() => (s.closed ? Store.open(opts).destroy() : s.destroy()));
  return s;
}

function peer(opts: StoreOptions): Peer {
  const p = spawnPeer(peerScript, [JSON.stringify(opts)]);
  peers.push(p);
  return p;
}

const named: Record<string, () => StoreOptions> = {
  posix: () => ({ name: uniqueName(), maxSegmentSize: 64 * 1024, inlineCapacity: 4096 }),
  file: () => ({ path: uniquePath(), maxSegmentSize: 64 * 1024, inlineCapacity: 4096 }),
  sysv: () => ({ key: uniqueKey(), maxSegmentSize: 64 * 1024, inlineCapacity: 4096 }),
};

for (const [backend, options] of Object.entries(named)) {
  describe(`Store on the ${backend} backend`, () => {
    it('round-trips values of every size, chaining segments and releasing them as the value shrinks', () => {
      const opts = options();
      const s = make(opts);
      expect(s.fetch().length).toBe(0);
      expect(s.serial).toBe(0);
      const sizes = [0, 1, 64, 4096, 4097, 65_000, 200_000, 1_500_000, 10, 300_000, 0];
      let last = 0;
      for (const n of sizes) {
        const v = randomBytes(n);
        const serial = s.store(v);
        expect(serial).toBe(last + 1);
        last = serial;
        expect(Buffer.from(s.fetch()).equals(v)).toBe(true);
      }
      // 1.5 MB with 64 KiB segments needed a long chain; after shrinking, both banks let go of theirs.
      s.store(Buffer.alloc(10));
      expect(s.debug().segments).toEqual([]);
    });

    it('shows a value stored by one process to another, and the reverse', async () => {
      const opts = options();
      const s = make(opts);
      const p = peer(opts);
      await p.next((m) => m.ready);
      for (const len of [5, 4096, 70_000, 700_000]) {
        const v = randomBytes(len);
        s.store(v);
        p.send({ op: 'fetch' });
        const got = await p.next((m) => m.op === 'fetch');
        expect(got).toMatchObject({ len, sum: sum(v), serial: s.serial });
        p.send({ op: 'store', len: len + 1, fill: 7 });
        const st = await p.next((m) => m.op === 'store');
        expect(s.serial).toBe(st.serial);
        expect(sum(s.fetch())).toBe(st.sum);
      }
    });
  });
}

describe('Store', () => {
  it("opens an existing store with its creator's layout when create() asks for a bigger one", () => {
    const name = uniqueName();
    const s = make({ name, inlineCapacity: 1024 });
    s.store(Buffer.from('first'));
    const again = Store.create({ name, inlineCapacity: 60_000, register: false });
    cleanups.push(() => again.close());
    expect(Buffer.from(again.fetch()).toString()).toBe('first');
    expect(again.debug().inlineCapacity).toBe(1024);
  });

  it('changes the serial on every commit and tells cheaply whether a value changed', () => {
    const s = make({ name: uniqueName() });
    const a = s.serial;
    expect(s.changedSince(a)).toBe(false);
    s.store(Buffer.from('x'));
    expect(s.changedSince(a)).toBe(true);
    s.store(Buffer.from('x'));
    expect(s.serial).toBe(a + 2);
  });

  it('fetches into a caller buffer without allocating, and refuses one that is too small', () => {
    const s = make({ name: uniqueName() });
    const v = randomBytes(100_000);
    s.store(v);
    const buf = new Uint8Array(200_000);
    const got = s.fetch(buf);
    expect(got.buffer).toBe(buf.buffer);
    expect(Buffer.from(got).equals(v)).toBe(true);
    expect(() => s.fetch(new Uint8Array(10))).toThrow(
      /100000 bytes but the buffer given to fetch\(\) holds 10/,
    );
  });

  it('copies small values into reused, unaligned and shrinking caller buffers exactly', () => {
    const s = make({ name: uniqueName() });
    const backing = new ArrayBuffer(1024);
    const aligned = new Uint8Array(backing, 8, 512);
    const unaligned = new Uint8Array(backing, 3, 301);
    // Every length from 0 to 300, alternating buffers: a stale cached view or a word copy past the value shows.
    for (let len = 0; len <= 300; len++) {
      const v = randomBytes(len);
      s.store(v);
      for (const into of [aligned, unaligned, aligned]) {
        into.fill(0xee);
        const got = s.fetch(into);
        expect(got.byteLength).toBe(len);
        expect(got.buffer).toBe(backing);
        expect(Buffer.from(got).equals(v)).toBe(true);
        // Bytes past the value are untouched.
        if (len < into.byteLength) expect(into[len]).toBe(0xee);
      }
    }
    // A length-tracking view over a resizable buffer that shrinks between fetches.
    type Resizable = ArrayBuffer & { resize(n: number): void };
    const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(
      256,
      {
        maxByteLength: 256,
      },
    );
    const tracking = new Uint8Array(rab);
    s.store(Buffer.alloc(100, 1));
    expect(Buffer.from(s.fetch(tracking)).equals(Buffer.alloc(100, 1))).toBe(true);
    rab.resize(130);
    s.store(Buffer.alloc(120, 2));
    expect(Buffer.from(s.fetch(tracking)).equals(Buffer.alloc(120, 2))).toBe(true);
    rab.resize(10);
    expect(() => s.fetch(tracking)).toThrow(/120 bytes but the buffer given to fetch\(\) holds 10/);
  });
  it('refuses a value larger than an anonymous store with the sizes, and keeps the previous value', () => {
    const s = make({ inlineCapacity: 1024 });
    s.store(Buffer.from('keep me'));
    let err: unknown;
    try {
      s.store(new Uint8Array(5000));
    } catch (e) {
      err = e;
    }
    expect(ShmError.isInstance(err) && err.code).toBe('ERR_SHM_TOO_LARGE');
    expect((err as Error).message).toMatch(/5000 bytes.*at most 1024 bytes/);
    expect(Buffer.from(s.fetch()).toString()).toBe('keep me');
  });

  it('records the serializer with the value and refuses to decode it with another one', () => {
    const opts = { name: uniqueName() };
    const s = make({ ...opts, serializer: 'v8' });
    s.setValue(new Map([['a', 1]]));
    expect(s.getValue()).toEqual(new Map([['a', 1]]));
    const other = Store.open({ ...opts, serializer: json });
    cleanups.push(() => other.close());
    expect(() => other.getValue()).toThrow(/written with 'v8'.*read with 'json'/);
  });

  it('decodes an unchanged value once, however often it is read', () => {
    const s = make({ name: uniqueName(), serializer: 'json' });
    s.setValue({ big: 'x'.repeat(10_000) });
    for (let i = 0; i < 1000; i++) s.getValue();
    expect(s.stats.decodes).toBe(1);
    s.setValue({ big: 'y' });
    expect(s.getValue()).toEqual({ big: 'y' });
    expect(s.stats.decodes).toBe(2);
  });

  it('lets readers fetch the last committed value while a writer in another process holds the lock', async () => {
    const opts = { name: uniqueName() };
    const s = make(opts);
    s.store(Buffer.from('committed'));
    const p = peer(opts);
    await p.next((m) => m.ready);
    p.send({ op: 'hold' });
    await p.next((m) => m.op === 'hold');
    expect(Buffer.from(s.fetch()).toString()).toBe('committed');
    expect(s.lock.tryLock()).toBe(0);
  });

  it('runs update() as an atomic read-modify-write across processes', () => {
    const s = make({ name: uniqueName(), serializer: 'json' });
    s.setValue({ n: 1 });
    s.update<{ n: number }>((v) => ({ n: v!.n + 1 }));
    expect(s.getValue()).toEqual({ n: 2 });
  });

  it('removes every segment it created when destroyed', () => {
    const name = uniqueName();
    const s = Store.create({ name, maxSegmentSize: 64 * 1024, register: false });
    s.store(randomBytes(1_000_000));
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(name)).length).toBeGreaterThan(10);
    s.destroy();
    expect(readdirSync('/dev/shm').filter((f) => f.startsWith(name))).toEqual([]);
    const key = uniqueKey();
    const before = listSysv().length;
    const k = Store.create({ key, maxSegmentSize: 64 * 1024, register: false });
    k.store(randomBytes(500_000));
    expect(listSysv().length).toBeGreaterThan(before + 5);
    k.destroy();
    expect(listSysv().length).toBe(before);
  });

  it('gives clear errors for missing stores and foreign segments', () => {
    expect(() => Store.open({ name: uniqueName() })).toThrow(/ENOENT/);
    const r = Region.create({ name: uniqueName(), size: 8192, register: false });
    cleanups.push(() => r.destroy());
    new Uint8Array(r.buffer).fill(0x41);
    expect(() => Store.open({ name: r.name! })).toThrow(/not an @shm store: bad magic/);
  });
});
