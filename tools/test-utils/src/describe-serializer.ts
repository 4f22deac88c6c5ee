import { describe, expect, it } from 'vitest';

/** The shape of @shm/core's Serializer, repeated here so test-utils needs no dependency on core. */
export interface SerializerUnderTest {
  readonly name: string;
  readonly id?: number;
  encode(value: any): Uint8Array;
  decode(bytes: Uint8Array): any;
}

/**
 * How a format handles a kind of value. `true`: round-trips exactly. `false`: encode() throws ShmError
 * ERR_SHM_UNSERIALIZABLE. `'lossy'`: the format converts it in a documented way (JSON turns a Map into {}); the suite
 * only checks that encoding and decoding do not throw.
 */
export type Support = boolean | 'lossy';

/** What a format supports; describeSerializer() derives its expectations from this. */
export interface SerializerCapabilities {
  /** Only Uint8Array/Buffer and strings (the raw serializer): every other value must be rejected. */
  bytesAndStringsOnly?: boolean;
  maps?: Support;
  sets?: Support;
  dates?: Support;
  /** Uint8Array, Int16Array, Float64Array... come back with their own class. */
  typedArrays?: Support;
  /** A Buffer comes back as a Buffer. */
  buffers?: Support;
  /** Self-references; `false` means encode() must throw ERR_SHM_UNSERIALIZABLE. */
  cycles?: Support;
  /** undefined at the top level and as a property/array element. */
  undefined?: Support;
  bigint?: Support;
  negativeZero?: Support;
  /** NaN, Infinity, -Infinity. */
  nonFinite?: Support;
  /**
   * Functions and symbols inside objects and arrays. Default `false`: encode() throws ERR_SHM_UNSERIALIZABLE
   * instead of silently dropping them. `'lossy'`: dropped (or nulled in arrays) as JSON does.
   */
  nestedFunctions?: false | 'lossy';
  /**
   * An own property named `__proto__` (as `JSON.parse` makes). Default `true`: it round-trips as an own property.
   * `false`: encode() throws ERR_SHM_UNSERIALIZABLE naming it (for decoders that would rename it).
   */
  protoKeys?: boolean;
}

const MARKER = Symbol.for('@shm/error');

function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && (e as any)[MARKER] === true ? (e as any).code : undefined;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw, but the call returned');
}

/** Copies `bytes` into a larger buffer at an odd offset and returns the view; the rest is filled with 0xee. */
function embedded(bytes: Uint8Array, offset = 7): { view: Uint8Array; backing: Uint8Array } {
  const backing = new Uint8Array(bytes.byteLength + offset + 13).fill(0xee);
  backing.set(bytes, offset);
  return { view: backing.subarray(offset, offset + bytes.byteLength), backing };
}

/** A deterministic pseudo-random byte sequence (xorshift32). */
function pseudoRandomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * The conformance suite every serializer runs: round trips, the value kinds `capabilities` declares (and the
 * rejection or documented loss of the others), views with a non-zero byteOffset, decoded values not aliasing the
 * input, encodings that stay valid across later encodes, recovery after a rejected value, and garbage input giving
 * ShmError ERR_SHM_BAD_FORMAT rather than a crash or a silent value.
 */
export function describeSerializer(
  serializer: SerializerUnderTest,
  capabilities: SerializerCapabilities = {},
): void {
  const s = serializer;
  const roundTrip = (value: unknown): unknown => s.decode(s.encode(value));
  const expectRejected = (value: unknown): void => {
    const e = thrown(() => s.encode(value));
    expect(codeOf(e), `encode() threw ${String(e)}`).toBe('ERR_SHM_UNSERIALIZABLE');
    expect((e as Error).message).toContain(s.name);
  };

  describe(`serializer '${s.name}' (conformance)`, () => {
    it('has a non-empty name and encode() returns a Uint8Array', () => {
      expect(typeof s.name).toBe('string');
      expect(s.name.length).toBeGreaterThan(0);
      expect(s.encode(capabilities.bytesAndStringsOnly ? 'x' : { a: 1 })).toBeInstanceOf(Uint8Array);
    });

    it('round-trips strings with non-ASCII characters, NUL and astral code points', () => {
      for (const str of [
        '',
        'plain ascii',
        'héllo wörld',
        'Ελληνικά',
        '日本語テキスト',
        '👍🏽 family: 👨‍👩‍👧',
        'nul\u0000inside',
      ]) {
        expect(roundTrip(str)).toBe(str);
      }
    });

    it('round-trips a ~1 MB string', () => {
      const big = 'abcdé€𝄞'.repeat(110_000);
      expect(roundTrip(big)).toBe(big);
    });

    it('rejects functions and symbols with ERR_SHM_UNSERIALIZABLE', () => {
      expectRejected(() => 1);
      expectRejected(Symbol('s'));
    });

    it('keeps working after a failed encode', () => {
      // Rejected part-way through where the format rejects a symbol inside an object (an encoder that reuses one
      // buffer must not be left mid-write); at the top level where it drops those.
      const bad = capabilities.nestedFunctions === 'lossy' ? Symbol('x') : { s: Symbol('x') };
      expectRejected(bad);
      const ok = capabilities.bytesAndStringsOnly ? 'ok' : { ok: true };
      expect(roundTrip(ok)).toEqual(ok);
    });

    it('returns encodings that stay valid after later encodes reuse its buffer', () => {
      const value = capabilities.bytesAndStringsOnly ? 'first value' : { first: 'value', n: 1 };
      const first = s.encode(value);
      for (let i = 0; i < 5000; i++) {
        const filler = 'x'.repeat(i % 200);
        s.encode(capabilities.bytesAndStringsOnly ? `${i}${filler}` : { i, filler });
      }
      expect(s.decode(first)).toEqual(value);
    });

    it('decodes a view with a non-zero byteOffset into a larger buffer', () => {
      const value = capabilities.bytesAndStringsOnly
        ? 'view ✓'
        : { a: [1, 2, 3], b: 'view ✓', c: { d: true } };
      const { view } = embedded(s.encode(value));
      expect(view.byteOffset).toBe(7);
      expect(s.decode(view)).toEqual(value);
    });

    it('decodes a Uint8Array that is not a Buffer', () => {
      const value = capabilities.bytesAndStringsOnly ? 'plain' : { a: 'plain' };
      expect(s.decode(new Uint8Array(s.encode(value)))).toEqual(value);
    });

    it('decoded values do not alias the input bytes (a reused buffer may be overwritten)', () => {
      const bytes = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 250, 251]);
      const value = capabilities.bytesAndStringsOnly
        ? bytes
        : capabilities.typedArrays === true
          ? { bytes, f64: new Float64Array([1.5, 2.5]), list: [1, 2] }
          : { text: 'not aliased', list: [1, 2] };
      const { view, backing } = embedded(s.encode(value), 8);
      const decoded = s.decode(view);
      backing.fill(0);
      expect(decoded).toEqual(value);
    });

    it('throws ERR_SHM_BAD_FORMAT for empty input', () => {
      expect(codeOf(thrown(() => s.decode(new Uint8Array(0))))).toBe('ERR_SHM_BAD_FORMAT');
    });

    it('throws ERR_SHM_BAD_FORMAT for a truncated encoding', () => {
      const value = capabilities.bytesAndStringsOnly
        ? 'x'
        : { key: 'a string long enough to cut', n: [1, 2, 3] };
      const bytes = s.encode(value);
      const cut = capabilities.bytesAndStringsOnly ? 0 : Math.floor(bytes.byteLength / 2);
      expect(codeOf(thrown(() => s.decode(bytes.subarray(0, cut))))).toBe('ERR_SHM_BAD_FORMAT');
    });

    it('decoding garbage throws ERR_SHM_BAD_FORMAT or returns a value, never anything else', () => {
      const samples = [
        new Uint8Array(64).fill(0xff),
        new Uint8Array([0xc1]),
        new Uint8Array([0xdb, 0xff, 0xff, 0xff, 0x7f, 0x00]),
        new Uint8Array([0xff, 0x0f, 0x6f, 0x22, 0x03]),
        ...Array.from({ length: 200 }, (_, i) => pseudoRandomBytes(1 + (i % 97), i + 1)),
      ];
      for (const g of samples) {
        try {
          s.decode(g);
        } catch (e) {
          expect(codeOf(e), `decode(${Buffer.from(g).toString('hex')}) threw ${String(e)}`).toBe(
            'ERR_SHM_BAD_FORMAT',
          );
        }
      }
    });

    if (capabilities.bytesAndStringsOnly) {
      describeBytes();
    } else {
      describeValues();
    }
  });

  function describeBytes(): void {
    it('round-trips bytes, keeping Uint8Array and Buffer apart', () => {
      const u8 = new Uint8Array([0, 1, 2, 255]);
      const decoded = roundTrip(u8);
      expect(decoded).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(decoded)).toBe(false);
      expect(decoded).toEqual(u8);
      const buf = Buffer.from('buffer bytes');
      const back = roundTrip(buf);
      expect(Buffer.isBuffer(back)).toBe(true);
      expect(back).toEqual(buf);
    });

    it('round-trips empty bytes and a 1 MB Uint8Array', () => {
      expect(roundTrip(new Uint8Array(0))).toEqual(new Uint8Array(0));
      const big = pseudoRandomBytes(1 << 20, 42);
      const back = roundTrip(big) as Uint8Array;
      expect(back).toBeInstanceOf(Uint8Array);
      expect(Buffer.compare(back, big)).toBe(0); // toEqual walks 1M elements one by one: seconds
      expect(back.byteLength).toBe(1 << 20);
    });

    it('encodes a subarray view, not its whole backing buffer', () => {
      const { view } = embedded(new Uint8Array([9, 8, 7]));
      expect(roundTrip(view)).toEqual(new Uint8Array([9, 8, 7]));
    });

    it('keeps a string and its UTF-8 bytes apart', () => {
      expect(roundTrip('abc')).toBe('abc');
      expect(roundTrip(Buffer.from('abc'))).not.toBe('abc');
    });

    it('rejects every other type with ERR_SHM_UNSERIALIZABLE naming the type', () => {
      const others: [unknown, string][] = [
        [42, 'number'],
        [{ a: 1 }, 'Object'],
        [[1], 'Array'],
        [null, 'null'],
        [undefined, 'undefined'],
        [true, 'boolean'],
        [10n, 'BigInt'],
        [new Uint16Array(2), 'Uint16Array'],
        [new ArrayBuffer(4), 'ArrayBuffer'],
        [new Map(), 'Map'],
      ];
      for (const [value, type] of others) {
        const e = thrown(() => s.encode(value));
        expect(codeOf(e)).toBe('ERR_SHM_UNSERIALIZABLE');
        expect((e as Error).message).toContain(type);
      }
    });
  }

  function describeKind(
    kind: string,
    support: Support | undefined,
    value: () => unknown,
    check?: (v: any) => void,
  ) {
    if (support === true) {
      it(`round-trips ${kind}`, () => {
        const v = value();
        const decoded = roundTrip(v);
        if (check) check(decoded);
        else expect(decoded).toStrictEqual(v);
      });
    } else if (support === 'lossy') {
      it(`converts ${kind} as the format documents (lossy, no error)`, () => {
        expect(() => roundTrip(value())).not.toThrow();
      });
    } else {
      it(`rejects ${kind} with ERR_SHM_UNSERIALIZABLE`, () => {
        expectRejected(value());
      });
    }
  }

  function describeValues(): void {
    it('round-trips nested objects and arrays', () => {
      const value = {
        str: 'text',
        int: 42,
        neg: -7,
        float: 3.25,
        large: 2 ** 53 - 1,
        small: -(2 ** 31),
        tiny: 1e-300,
        t: true,
        f: false,
        nil: null,
        list: [1, 'two', [3, [4, { five: 5 }]], { six: [6] }],
        nested: { a: { b: { c: { d: { e: 'deep' } } } } },
        'key with spaces & ünïcode': 1,
      };
      expect(roundTrip(value)).toStrictEqual(value);
    });

    it('round-trips top-level scalars', () => {
      for (const v of [0, 1, -1, 255, 65_536, 2 ** 32, -(2 ** 40), 0.1, 1.5e300, true, false, null]) {
        expect(roundTrip(v)).toBe(v);
      }
    });

    it('round-trips empty values', () => {
      expect(roundTrip({})).toStrictEqual({});
      expect(roundTrip([])).toStrictEqual([]);
      expect(roundTrip('')).toBe('');
      expect(roundTrip({ a: [], b: {}, c: '' })).toStrictEqual({ a: [], b: {}, c: '' });
    });

    it(`${capabilities.protoKeys === false ? 'refuses' : 'round-trips'} an own property named __proto__, never renaming it`, () => {
      const value = JSON.parse('{"a":{"list":[1,{"__proto__":{"x":1},"y":2}]}}');
      if (capabilities.protoKeys === false) {
        const e = thrown(() => s.encode(value));
        expect(codeOf(e)).toBe('ERR_SHM_UNSERIALIZABLE');
        expect((e as Error).message).toMatch(/__proto__ at value\.a\.list\[1\]/);
      } else {
        const inner = (roundTrip(value) as any).a.list[1];
        expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
        expect(Object.getOwnPropertyDescriptor(inner, '__proto__')?.value).toStrictEqual({ x: 1 });
        expect(inner.y).toBe(2);
      }
      // The text itself is an ordinary string: as a value, and as a Map key where Maps round-trip.
      expect(roundTrip({ k: '__proto__', l: ['__proto__'] })).toStrictEqual({
        k: '__proto__',
        l: ['__proto__'],
      });
      if (capabilities.maps === true) {
        const m = roundTrip(new Map([['__proto__', 1]])) as Map<string, number>;
        expect([...m.keys()]).toEqual(['__proto__']);
      }
    });

    it('round-trips a ~1 MB array of objects', () => {
      const big = Array.from({ length: 12_000 }, (_, i) => ({
        id: i,
        name: `item-${i}`,
        tags: ['x', 'y'],
        v: i / 3,
      }));
      const bytes = s.encode(big);
      expect(bytes.byteLength).toBeGreaterThan(300_000);
      expect(s.decode(bytes)).toStrictEqual(big);
    });

    it('is deterministic enough to decode its own output twice', () => {
      const bytes = s.encode({ a: 1, b: [2, 3] });
      expect(s.decode(bytes)).toStrictEqual(s.decode(bytes));
    });

    describeKind(
      'Maps',
      capabilities.maps,
      () =>
        new Map<unknown, unknown>([
          ['a', 1],
          [2, { b: 'c' }],
          ['empty', new Map()],
        ]),
    );
    describeKind('functions inside objects', capabilities.nestedFunctions ?? false, () => ({
      a: 1,
      f: () => 1,
    }));
    describeKind('Sets', capabilities.sets, () => new Set([1, 'two', 3.5]));
    describeKind('Dates', capabilities.dates, () => ({
      at: new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 123)),
    }));
    describeKind('typed arrays', capabilities.typedArrays, () => ({
      u8: new Uint8Array([1, 2, 255]),
      i16: new Int16Array([-1, 2, -32768]),
      f64: new Float64Array([1.5, -0.25, 1e300]),
      empty: new Uint8Array(0),
      big: new Float64Array(1 << 12).map((_, i) => i / 7),
    }));
    describeKind('Buffers', capabilities.buffers, () => ({ buf: Buffer.from('buffer ✓') }));
    describeKind('BigInts', capabilities.bigint, () => ({
      big: 2n ** 64n + 1n,
      neg: -(2n ** 70n),
      small: 1n,
    }));
    describeKind(
      '-0',
      capabilities.negativeZero,
      () => -0,
      (v) => expect(Object.is(v, -0)).toBe(true),
    );
    describeKind('NaN and ±Infinity', capabilities.nonFinite, () => [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    describeKind('undefined at the top level', capabilities.undefined, () => undefined);
    if (capabilities.undefined === true) {
      it('round-trips undefined properties and array elements', () => {
        const decoded = roundTrip({ a: undefined, list: [undefined, 1] }) as any;
        expect('a' in decoded).toBe(true);
        expect(decoded.a).toBeUndefined();
        expect(decoded.list).toHaveLength(2);
      });
    }
    describeKind(
      'cycles',
      capabilities.cycles,
      () => {
        const a: any = { name: 'a', list: [] };
        a.self = a;
        a.list.push(a);
        return a;
      },
      (v) => {
        expect(v.name).toBe('a');
        expect(v.self).toBe(v);
        expect(v.list[0]).toBe(v);
      },
    );
  }
}
