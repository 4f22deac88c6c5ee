import { readlinkSync } from 'node:fs';
import { raw } from '@shm/core';
import { describe, expect, it } from 'vitest';
import { LockStatus, MAX_SIZE, MmapShare, ShmError } from '../src/index.js';
import { track } from './helpers.js';

function thrown(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, but the call returned');
}

describe('new MmapShare(size)', () => {
  it('makes an anonymous memfd area that holds nothing yet', () => {
    const share = track(new MmapShare(1000));
    expect(share.size).toBe(1000);
    expect(share.get()).toBeUndefined();
    expect(readlinkSync(`/proc/self/fd/${share.fd}`)).toMatch(/^\/memfd:.* \(deleted\)$/);
    expect(share.serializer.name).toBe('v8');
  });

  it.each([
    [0, RangeError],
    [-1, RangeError],
    [1.5, RangeError],
    [Number.NaN, RangeError],
    [MAX_SIZE + 1, RangeError],
    ['100', TypeError],
    [undefined, TypeError],
    [100n, TypeError],
  ])('rejects size %s with %s', (size, Ctor) => {
    const e = thrown(() => new MmapShare(size as number));
    expect(e).toBeInstanceOf(Ctor);
    expect(e.message).toMatch(/^Expected .* for size but received /);
  });

  it('rejects bad options: unknown serializer names, serializer-like junk, pollMs', () => {
    expect(thrown(() => new MmapShare(64, { serializer: 'yaml' as 'json' }))).toBeInstanceOf(RangeError);
    expect(thrown(() => new MmapShare(64, { serializer: {} as never }))).toBeInstanceOf(TypeError);
    expect(thrown(() => new MmapShare(64, { pollMs: 0 })).message).toContain('options.pollMs');
    expect(thrown(() => new MmapShare(64, null as never))).toBeInstanceOf(TypeError);
  });
});

describe('set() and get()', () => {
  it('round-trips what structured clone carries: nested objects, Maps, Dates, typed arrays, cycles', () => {
    const share = track(new MmapShare(4096));
    const value: any = {
      n: 1,
      s: 'héllo',
      list: [1, [2, { three: 3 }]],
      map: new Map([['k', new Set([1, 2])]]),
      at: new Date(0),
      bytes: new Uint8Array([1, 2, 3]),
      big: 2n ** 70n,
    };
    value.self = value;
    share.set(value);
    const back = share.get<any>();
    expect(back.self).toBe(back);
    const { self: _a, ...rest } = back;
    const { self: _b, ...expectedRest } = value;
    expect(rest).toStrictEqual(expectedRest);
    for (const scalar of [0, '', null, false, 'text', -1.5]) {
      share.set(scalar);
      expect(share.get()).toBe(scalar);
    }
  });

  it('returns a fresh copy on every get(): mutating one changes neither the share nor the next get()', () => {
    const share = track(new MmapShare(256));
    share.set({ list: [1, 2] });
    const a = share.get<{ list: number[] }>()!;
    a.list.push(3);
    const b = share.get<{ list: number[] }>()!;
    expect(b).toEqual({ list: [1, 2] });
    expect(b).not.toBe(a);
  });

  it("with 'raw', get() gives what raw.decode() gives: a Buffer, a Uint8Array or a string, each a fresh copy", () => {
    const share = track(new MmapShare(64, { serializer: 'raw' }));
    const cases: (Uint8Array | string)[] = [
      Buffer.from('buffer bytes'),
      Buffer.alloc(0),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
      'a string',
      '',
    ];
    for (const value of cases) {
      share.set(value);
      const back = share.get<Uint8Array | string>()!;
      expect(back).toStrictEqual(raw.decode(raw.encode(value)));
      expect(Buffer.isBuffer(back)).toBe(Buffer.isBuffer(value));
    }
    // A Buffer of its own: writing into it changes neither the share nor the next get().
    share.set(Buffer.from([9, 9, 9, 9]));
    const a = share.get<Buffer>()!;
    a.fill(0);
    expect(share.get()).toStrictEqual(Buffer.from([9, 9, 9, 9]));
    expect(share.get()).not.toBe(a);
  });

  it("with 'raw', get() after each set() gives that set()'s bytes, for lengths that repeat and change", () => {
    // get() keeps its view of the payload while the value's view repeats: the banks alternate, lengths repeat.
    const share = track(new MmapShare(300, { serializer: 'raw' }));
    const other = track(MmapShare.fromWorkerData(share.transferable(), { serializer: 'raw' }));
    const lengths = [5, 5, 5, 7, 7, 5, 0, 0, 299, 5, 299, 299, 1, 1, 5];
    lengths.forEach((n, i) => {
      const value = Buffer.alloc(n, i + 1);
      (i % 3 === 2 ? other : share).set(value);
      for (let k = 0; k < 2; k++) {
        expect(share.get()).toStrictEqual(value);
        expect(other.get()).toStrictEqual(value);
      }
    });
  });

  it('accepts a value whose encoding is exactly size bytes and refuses one more byte', () => {
    const share = track(new MmapShare(100, { serializer: 'raw' }));
    const overhead = share.serializer.encode(new Uint8Array(0)).byteLength; // raw records the kind: 1 byte
    const fits = new Uint8Array(100 - overhead).fill(1);
    share.set(fits);
    expect(share.get()).toEqual(fits);
    const e = thrown(() => share.set(new Uint8Array(101 - overhead)));
    expect(e.code).toBe('ERR_SHM_TOO_LARGE');
    expect(e.message).toContain('101 bytes');
    expect(e.message).toContain('100 bytes');
  });

  it('setAsync() refuses a value one byte too large as set() does, and keeps the previous one', async () => {
    const share = track(new MmapShare(100, { serializer: 'raw' }));
    const overhead = share.serializer.encode(new Uint8Array(0)).byteLength;
    const fits = new Uint8Array(100 - overhead).fill(2);
    await share.setAsync(fits);
    const e = await share.setAsync(new Uint8Array(101 - overhead)).then(
      () => undefined,
      (err) => err,
    );
    expect(e?.code).toBe('ERR_SHM_TOO_LARGE');
    expect(e.message).toContain('101 bytes');
    expect(e.message).toContain('new MmapShare(100)');
    expect(share.get()).toEqual(fits);
  });

  describe('bad input gives its error and the share keeps its previous value', () => {
    const cases: [string, (s: MmapShare) => unknown, (e: any) => void][] = [
      [
        'set(undefined)',
        (s) => s.set(undefined),
        (e) => {
          expect(e).toBeInstanceOf(TypeError);
          expect(e.message).toBe(
            'Expected a value other than undefined (store null to clear it) for value but received undefined',
          );
        },
      ],
      [
        'set() with no argument',
        (s) => (s.set as (...a: unknown[]) => void)(),
        (e) => expect(e).toBeInstanceOf(TypeError),
      ],
      [
        'set() with two arguments (Perl would ignore the second)',
        (s) => (s.set as (...a: unknown[]) => void)(1, 2),
        (e) => {
          expect(e).toBeInstanceOf(TypeError);
          expect(e.message).toContain('received 2 arguments');
        },
      ],
      [
        'a value too large for the area',
        (s) => s.set('x'.repeat(5000)),
        (e) => {
          expect(ShmError.isInstance(e)).toBe(true);
          expect(e.code).toBe('ERR_SHM_TOO_LARGE');
          expect(e.message).toMatch(/encodes to 500\d bytes .* more than the 1024 bytes this share holds/);
          expect(e.message).toContain('previous value is kept');
        },
      ],
      [
        'a function (not cloneable)',
        (s) => s.set({ f: () => 1 }),
        (e) => expect(e.code).toBe('ERR_SHM_UNSERIALIZABLE'),
      ],
      ['a symbol', (s) => s.set(Symbol('x')), (e) => expect(e.code).toBe('ERR_SHM_UNSERIALIZABLE')],
    ];
    it.each(cases)('%s', (_name, act, check) => {
      const share = track(new MmapShare(1024));
      share.set({ previous: [1, 2, 3] });
      check(thrown(() => act(share)));
      expect(share.get()).toEqual({ previous: [1, 2, 3] });
    });

    it('with the json serializer, a BigInt is refused and the value kept', () => {
      const share = track(new MmapShare(1024, { serializer: 'json' }));
      share.set({ a: 1 });
      expect(thrown(() => share.set({ b: 1n })).code).toBe('ERR_SHM_UNSERIALIZABLE');
      expect(share.get()).toEqual({ a: 1 });
    });

    it('with the raw serializer, an object is refused and the bytes kept', () => {
      const share = track(new MmapShare(1024, { serializer: 'raw' }));
      share.set(Buffer.from('bytes'));
      expect(thrown(() => share.set({ a: 1 })).code).toBe('ERR_SHM_UNSERIALIZABLE');
      expect(Buffer.from(share.get() as Uint8Array).toString()).toBe('bytes');
    });

    it('a too-large set inside an explicit lock leaves the lock held and the value kept', () => {
      const share = track(new MmapShare(16));
      share.set(1);
      share.lock();
      expect(thrown(() => share.set('y'.repeat(64))).code).toBe('ERR_SHM_TOO_LARGE');
      expect(share.locked).toBe(true);
      expect(share.get()).toBe(1);
      share.unlock();
      expect(share.locked).toBe(false);
    });
  });
});

describe('lock() and unlock()', () => {
  it('nest, and set/get inside them work', () => {
    const share = track(new MmapShare(64));
    expect(share.lock()).toBe(LockStatus.Acquired);
    expect(share.lock()).toBe(LockStatus.Acquired);
    share.set(1);
    expect(share.get()).toBe(1);
    share.unlock();
    expect(share.locked).toBe(true);
    share.unlock();
    expect(share.locked).toBe(false);
  });

  it('unlock() without lock() is an error', () => {
    const share = track(new MmapShare(64));
    expect(thrown(() => share.unlock()).code).toBe('ERR_SHM_NOT_HELD');
  });

  it('rejects a bad timeout', () => {
    const share = track(new MmapShare(64));
    expect(thrown(() => share.lock(-1))).toBeInstanceOf(RangeError);
    expect(thrown(() => share.lock('1' as never))).toBeInstanceOf(TypeError);
  });

  it('update() is a locked read-modify-write; returning undefined keeps the value', async () => {
    const share = track(new MmapShare(64));
    share.set(1);
    expect(share.update<number>((n, info) => (info.ownerDied ? -1 : n! + 1))).toBe(2);
    expect(share.update(() => undefined)).toBeUndefined();
    expect(share.get()).toBe(2);
    expect(await share.updateAsync<number>((n) => n! * 10)).toBe(20);
    expect(share.locked).toBe(false);
    expect(() =>
      share.update(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(share.locked).toBe(false);
    expect(share.get()).toBe(20);
  });

  it('async variants work without blocking', async () => {
    const share = track(new MmapShare(64));
    await share.setAsync('a');
    expect(await share.getAsync()).toBe('a');
    expect(await share.lockAsync()).toBe(LockStatus.Acquired);
    share.unlock();
  });
});

describe('close()', () => {
  it('is idempotent, and every later call throws ERR_SHM_CLOSED', async () => {
    const share = new MmapShare(64);
    share.set(1);
    share.close();
    share.close();
    expect(share.closed).toBe(true);
    expect(share.fd).toBe(-1);
    for (const call of [
      () => share.get(),
      () => share.set(2),
      () => share.lock(),
      () => share.transferable(),
    ]) {
      expect(thrown(call).code).toBe('ERR_SHM_CLOSED');
    }
    await expect(share.getAsync()).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
  });
});

describe('MmapShare.inherited()', () => {
  it('throws ERR_SHM_NOT_FOUND in a process that was not handed a share', () => {
    expect(MmapShare.hasInherited()).toBe(false);
    const e = thrown(() => MmapShare.inherited());
    expect(e.code).toBe('ERR_SHM_NOT_FOUND');
    expect(e.message).toContain('SHM_MMAP_SHARE is not set');
  });

  it('fromWorkerData() rejects anything but a handle', () => {
    expect(thrown(() => MmapShare.fromWorkerData({ fd: 3 } as never))).toBeInstanceOf(TypeError);
  });

  it('adopts only through fromWorkerData(): the constructor makes a new area for any options object', () => {
    const share = track(new MmapShare(64));
    share.set('first');
    const adopted = track(MmapShare.fromWorkerData(share.transferable()));
    expect(adopted.get()).toBe('first');
    const handle = share.transferable();
    for (const opts of [{}, handle, { ...handle }, Object.create(handle)]) {
      const fresh = track(new MmapShare(32, opts as never));
      expect(fresh.size).toBe(32);
      expect(fresh.fd).not.toBe(share.fd);
      expect(fresh.get()).toBeUndefined();
    }
  });
});
