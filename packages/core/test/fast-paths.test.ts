// The fast paths of issue 18: commits that publish with plain stores on x86, setValue through
// Serializer.encodeView (a reused buffer, or the caller's own bytes behind a tag), and storeParts.
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { spawnPeer, uniqueName } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { type FetchInfo, raw, type Serializer, Store, type StoreOptions } from '../src/index.js';

const peerScript = fileURLToPath(new URL('./fixtures/store-peer.ts', import.meta.url));

let cleanups: (() => void)[] = [];
afterEach(() => {
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

/** The peer's churn values: the last 20 bytes are the SHA-1 of the rest. */
function intact(b: Uint8Array): boolean {
  if (b.length === 0) return true;
  if (b.length < 20) return false;
  const body = b.subarray(0, b.length - 20);
  return Buffer.from(createHash('sha1').update(body).digest()).equals(Buffer.from(b.subarray(b.length - 20)));
}

const joined = (e: { head: Uint8Array; body: Uint8Array }) => Buffer.concat([e.head, e.body]);

describe('raw.encodeView', () => {
  it('gives the bytes encode() gives, for bytes, Buffers and strings of every size', () => {
    const values = [
      new Uint8Array(0),
      new Uint8Array([1, 2, 3]),
      Buffer.from('a buffer'),
      new Uint8Array(70_000).fill(9),
      '',
      'plain',
      'héllo wörld ✓ 𝄞',
      'x'.repeat(400_000), // over the reused buffer's cap: a buffer of its own
      '€'.repeat(10_000),
    ];
    for (const v of values) {
      expect(joined(raw.encodeView!(v)).equals(Buffer.from(raw.encode(v)))).toBe(true);
    }
  });

  it('refuses what encode() refuses, with the same error', () => {
    for (const bad of [5, {}, null, 'lone \ud800 surrogate']) {
      let a: unknown;
      let b: unknown;
      try {
        raw.encode(bad as never);
      } catch (e) {
        a = e;
      }
      try {
        raw.encodeView!(bad as never);
      } catch (e) {
        b = e;
      }
      expect(a).toBeDefined();
      expect(String(b)).toBe(String(a));
    }
  });
});

describe('Store.setValue through encodeView', () => {
  it('never lets a value read back alias the buffer the next encoding reuses', () => {
    const s = make({ name: uniqueName(), serializer: 'raw' });
    s.setValue('first value');
    const first = s.getValue<string>();
    const firstBytes = s.fetch();
    const copy = Buffer.from(firstBytes);
    s.setValue('the second, longer value, written over the reused buffer');
    expect(first).toBe('first value');
    expect(Buffer.from(firstBytes).equals(copy)).toBe(true);
    const bytes = Buffer.from('bytes now');
    s.setValue(bytes);
    bytes.fill(0); // the caller's buffer changes after the commit: the stored value does not
    expect(Buffer.from(s.getValue<Buffer>()!).toString()).toBe('bytes now');
  });

  it('commits the same bytes as store(encode(v)), inline and across chained segments', () => {
    const opts = { name: uniqueName(), serializer: 'raw', inlineCapacity: 1024, maxSegmentSize: 64 * 1024 };
    const s = make(opts);
    const other = make({ name: uniqueName(), serializer: 'raw', inlineCapacity: 1024 });
    for (const len of [0, 1, 1023, 1024, 65_535, 65_472, 65_473, 200_000]) {
      const v = Buffer.alloc(len);
      for (let i = 0; i < len; i++) v[i] = (i * 31 + len) & 0xff;
      s.setValue(v);
      other.store(raw.encode(v), other.serializerId);
      const info: FetchInfo = { serial: 0, serializerId: 0 };
      expect(Buffer.from(s.fetch(undefined, info)).equals(Buffer.from(other.fetch()))).toBe(true);
      expect(info.serializerId).toBe(s.serializerId);
      expect(Buffer.from(s.getValue<Buffer>()!).equals(v)).toBe(true);
    }
  });

  it('uses encode() for a serializer without encodeView, and in setValueAsync', async () => {
    let views = 0;
    const counting: Serializer = {
      name: 'counting-raw',
      encode: (v) => raw.encode(v as never),
      decode: (b) => raw.decode(b),
      encodeView: (v) => {
        views++;
        return raw.encodeView!(v as never);
      },
    };
    const s = make({ name: uniqueName(), serializer: counting });
    s.setValue('sync');
    expect(views).toBe(1);
    await s.setValueAsync('async');
    expect(views).toBe(1);
    expect(s.getValue()).toBe('async');
    s.lock.lock();
    try {
      s.setValueLocked('locked');
    } finally {
      s.lock.unlock();
    }
    expect(views).toBe(2);
    expect(s.getValue()).toBe('locked');
  });
});

describe('Store.storeParts', () => {
  it('stores head then body, checks both, and keeps the value on a bad argument or one too large', () => {
    const s = make({
      name: uniqueName(),
      inlineCapacity: 64,
      maxSegmentSize: 64 * 1024,
      maxValueSize: 70_000,
    });
    s.storeParts(Buffer.from([1, 2]), Buffer.from([3, 4, 5]), 7);
    const info: FetchInfo = { serial: 0, serializerId: 0 };
    expect([...s.fetch(undefined, info)]).toEqual([1, 2, 3, 4, 5]);
    expect(info.serializerId).toBe(7);
    // A head that spans into a chained segment's data together with its body.
    const body = Buffer.alloc(66_000, 0x5a);
    s.storeParts(Buffer.from('head'), body);
    expect(Buffer.from(s.fetch()).equals(Buffer.concat([Buffer.from('head'), body]))).toBe(true);
    expect(() => s.storeParts('x' as never, body)).toThrow(TypeError);
    expect(() => s.storeParts(body, 5 as never)).toThrow(TypeError);
    expect(() => s.storeParts(Buffer.alloc(5000), body)).toThrow(/does not fit/);
    expect(Buffer.from(s.fetch()).subarray(0, 4).toString()).toBe('head');
  });
});

describe('Readers against a writer in another process', () => {
  it('never see a torn small value, nor a serial going back, while the writer commits back to back', async () => {
    const opts: StoreOptions = { name: uniqueName(), inlineCapacity: 8192 };
    const s = make(opts);
    const p = spawnPeer(peerScript, [JSON.stringify(opts)]);
    try {
      await p.next((m) => m.ready);
      p.send({ op: 'churn', maxLen: 4096 });
      await p.next((m) => m.op === 'churn');
      const into = new Uint8Array(8192);
      const info: FetchInfo = { serial: 0, serializerId: 0 };
      let last = 0;
      let changes = 0;
      // Until the reader saw 300 commits, or 6 s on a loaded machine.
      const until = Date.now() + 6000;
      while (Date.now() < until && changes < 300) {
        for (let i = 0; i < 1000; i++) {
          const b = s.fetch(into, info);
          if (!intact(b)) throw new Error(`torn value of ${b.length} bytes at serial ${info.serial}`);
          if (info.serial < last) throw new Error(`serial went back from ${last} to ${info.serial}`);
          if (info.serial !== last) changes++;
          last = info.serial;
        }
      }
      // The writer really ran alongside: the reader saw many commits.
      expect(changes).toBeGreaterThan(20);
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
});

describe('Store.viewLocked', () => {
  it('shows the current value in place under the lock, undefined when it is chained, and refuses without the lock', () => {
    const s = make({ name: uniqueName(), inlineCapacity: 1024, maxSegmentSize: 64 * 1024 });
    s.store(Buffer.from('in place'), 9);
    expect(() => s.viewLocked()).toThrow(/needs this handle's lock/);
    const info: FetchInfo = { serial: 0, serializerId: 0 };
    s.lock.lockShared();
    try {
      const v = s.viewLocked(info)!;
      expect(Buffer.from(v).toString()).toBe('in place');
      expect(info).toEqual({ serial: s.serial, serializerId: 9 });
      // It is the shared memory itself: the region holds the same bytes at the same place.
      expect(v.buffer).toBe(s.region.buffer);
    } finally {
      s.lock.unlockShared();
    }
    s.store(Buffer.alloc(5000, 1));
    s.lock.lock();
    try {
      expect(s.viewLocked()).toBeUndefined();
    } finally {
      s.lock.unlock();
    }
  });
});
