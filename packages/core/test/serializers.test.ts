import { describeSerializer } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import {
  getSerializer,
  json,
  raw,
  type Serializer,
  ShmError,
  serializerId,
  serializerMismatchError,
  serializerName,
  v8,
} from '../src/index.js';

describeSerializer(raw, { bytesAndStringsOnly: true });

describeSerializer(json, {
  maps: 'lossy',
  sets: 'lossy',
  dates: 'lossy',
  typedArrays: 'lossy',
  buffers: 'lossy',
  cycles: false,
  undefined: false,
  bigint: false,
  negativeZero: 'lossy',
  nonFinite: 'lossy',
  nestedFunctions: 'lossy',
});

describeSerializer(v8, {
  maps: true,
  sets: true,
  dates: true,
  typedArrays: true,
  buffers: true,
  cycles: true,
  undefined: true,
  bigint: true,
  negativeZero: true,
  nonFinite: true,
});

function catchError(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('serializerId', () => {
  it('is the FNV-1a hash of the name when no id is set', () => {
    // Reference values of 32-bit FNV-1a: '' -> 0x811c9dc5, 'a' -> 0xe40c292c, 'foobar' -> 0xbf9cf968.
    expect(serializerId({ name: 'a' })).toBe(0xe40c292c);
    expect(serializerId({ name: 'foobar' })).toBe(0xbf9cf968);
    expect(serializerId({ name: '' })).toBe(0x811c9dc5);
  });

  it('is stable, unsigned and different for the built-ins', () => {
    const ids = [raw, json, v8].map((s) => serializerId(s));
    for (const id of ids) {
      expect(Number.isInteger(id)).toBe(true);
      expect(id).toBeGreaterThan(0);
      expect(id).toBeLessThanOrEqual(0xffffffff);
    }
    expect(new Set(ids).size).toBe(3);
    expect(serializerId(json)).toBe(serializerId({ name: 'json' }));
  });

  it('hashes the UTF-8 bytes of the name', () => {
    expect(serializerId({ name: 'é' })).not.toBe(serializerId({ name: 'e' }));
  });

  it('uses an explicit id as is and rejects ids outside 1..0xffffffff', () => {
    expect(serializerId({ name: 'x', id: 7 })).toBe(7);
    expect(serializerId({ name: 'x', id: 0xffffffff })).toBe(0xffffffff);
    for (const id of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
      expect(() => serializerId({ name: 'x', id })).toThrow(RangeError);
    }
  });
});

describe('getSerializer', () => {
  it('resolves the built-in names', () => {
    expect(getSerializer('raw')).toBe(raw);
    expect(getSerializer('json')).toBe(json);
    expect(getSerializer('v8')).toBe(v8);
  });

  it('passes serializer objects through', () => {
    const custom: Serializer<string> = {
      name: 'upper',
      encode: (v) => Buffer.from(v),
      decode: (b) => `${b}`,
    };
    expect(getSerializer(custom)).toBe(custom);
  });

  it('rejects unknown names with a RangeError that points at the packages', () => {
    expect(() => getSerializer('msgpack')).toThrow(RangeError);
    expect(() => getSerializer('msgpack')).toThrow(/@shm\/serializer-msgpack/);
    expect(() => getSerializer('toString')).toThrow(RangeError);
  });

  it('rejects objects without name, encode and decode', () => {
    for (const bad of [
      null,
      42,
      {},
      { name: 'x', encode() {} },
      { name: '', encode() {}, decode() {} },
      [json],
    ]) {
      expect(() => getSerializer(bad as any)).toThrow(TypeError);
      expect(() => getSerializer(bad as any)).toThrow(
        /^Expected a serializer \(name, encode, decode\) for serializer but received /,
      );
    }
  });

  it('rejects a serializer with an invalid id', () => {
    expect(() =>
      getSerializer({ name: 'x', id: 0, encode: () => new Uint8Array(), decode: () => 0 }),
    ).toThrow(RangeError);
  });

  it('remembers the serializers it has seen so mismatch errors can name them', () => {
    const custom = { name: 'my-format-1', encode: () => new Uint8Array(), decode: () => 0 };
    expect(serializerName(serializerId(custom))).toBeUndefined();
    getSerializer(custom);
    expect(serializerName(serializerId(custom))).toBe('my-format-1');
  });
});

describe('serializerMismatchError', () => {
  it('names both serializers when they are known', () => {
    const e = serializerMismatchError(serializerId(json), serializerId({ name: 'msgpack' }), {
      target: 'key 42',
    });
    expect(ShmError.isInstance(e)).toBe(true);
    expect(e.code).toBe('ERR_SHM_SERIALIZER_MISMATCH');
    expect(e.target).toBe('key 42');
    expect(e.message).toMatch(/value was written with 'msgpack' \(id 0x[0-9a-f]{8}\), read with 'json'/);
  });

  it('shows the id of an unknown serializer in hex', () => {
    const e = serializerMismatchError(serializerId(v8), 0xdeadbeef);
    expect(e.message).toContain('written with an unknown serializer (id 0xdeadbeef)');
    expect(e.message).toContain("read with 'v8'");
    expect(e.target).toBeUndefined();
  });
});

describe('raw', () => {
  it('stores a 1-byte tag and then the bytes or UTF-8 unchanged', () => {
    expect([...raw.encode('é')]).toEqual([3, 0xc3, 0xa9]);
    expect([...raw.encode(new Uint8Array([5, 6]))]).toEqual([1, 5, 6]);
    expect([...raw.encode(Buffer.from([5, 6]))]).toEqual([2, 5, 6]);
  });

  it('rejects strings with lone surrogates instead of replacing them', () => {
    expect(catchError(() => raw.encode('a\ud800b')).code).toBe('ERR_SHM_UNSERIALIZABLE');
  });

  it('rejects an unknown tag and invalid UTF-8 with ERR_SHM_BAD_FORMAT', () => {
    expect(catchError(() => raw.decode(new Uint8Array([9, 1]))).code).toBe('ERR_SHM_BAD_FORMAT');
    expect(catchError(() => raw.decode(new Uint8Array([3, 0xff, 0xfe]))).code).toBe('ERR_SHM_BAD_FORMAT');
  });
});

describe('json', () => {
  it('writes plain UTF-8 JSON any language can read', () => {
    expect(Buffer.from(json.encode({ a: [1, 'é'] })).toString('utf8')).toBe('{"a":[1,"é"]}');
  });

  it('names the problem when it rejects a value', () => {
    expect(catchError(() => json.encode(undefined)).message).toContain('top-level undefined');
    expect(catchError(() => json.encode({ n: 1n })).message).toContain('BigInt');
    const cyclic: any = {};
    cyclic.me = cyclic;
    expect(catchError(() => json.encode(cyclic)).message).toMatch(/circular/i);
  });

  it('rejects a value whose toJSON() gives undefined', () => {
    expect(catchError(() => json.encode({ toJSON: () => undefined })).code).toBe('ERR_SHM_UNSERIALIZABLE');
  });

  it('keeps the documented JSON conversions', () => {
    expect(
      json.decode(json.encode({ d: new Date(0), m: new Map([[1, 2]]), u: undefined, n: Number.NaN })),
    ).toEqual({
      d: '1970-01-01T00:00:00.000Z',
      m: {},
      n: null,
    });
  });

  it('reports invalid UTF-8 as ERR_SHM_BAD_FORMAT', () => {
    expect(catchError(() => json.decode(new Uint8Array([0x22, 0xff, 0x22]))).code).toBe('ERR_SHM_BAD_FORMAT');
  });
});

describe('v8', () => {
  it('copies typed arrays out of the input even when they are aligned within it', () => {
    const value = { f: new Float64Array([1, 2, 3]), u: new Uint8Array([7]), b: Buffer.from('x') };
    const bytes = v8.encode(value);
    for (let offset = 0; offset < 8; offset++) {
      const backing = new Uint8Array(bytes.byteLength + offset);
      backing.set(bytes, offset);
      const decoded = v8.decode(backing.subarray(offset)) as typeof value;
      expect(decoded.f.buffer).not.toBe(backing.buffer);
      expect(decoded.u.buffer).not.toBe(backing.buffer);
      expect(decoded.b.buffer).not.toBe(backing.buffer);
      backing.fill(0);
      expect(decoded).toStrictEqual(value);
    }
  });

  it('keeps DataViews and shared references', () => {
    const shared = { n: 1 };
    const decoded = v8.decode(
      v8.encode({ a: shared, b: shared, dv: new DataView(new ArrayBuffer(4)) }),
    ) as any;
    expect(decoded.a).toBe(decoded.b);
    expect(decoded.dv).toBeInstanceOf(DataView);
    expect(decoded.dv.byteLength).toBe(4);
  });

  it('names the unclonable value in its error', () => {
    const e = catchError(() => v8.encode({ f: () => 1 }));
    expect(e.code).toBe('ERR_SHM_UNSERIALIZABLE');
    expect(e.message).toMatch(/could not be cloned/);
  });
});
