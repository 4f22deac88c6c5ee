import { getSerializer, serializerId, serializerMismatchError } from '@shm/core';
import { describeSerializer } from '@shm/test-utils';
import { Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { createMsgpackSerializer, msgpack } from '../src/index.js';

describeSerializer(msgpack, {
  maps: 'lossy',
  sets: true,
  dates: true,
  typedArrays: true,
  buffers: 'lossy',
  cycles: false,
  undefined: true,
  bigint: true,
  negativeZero: 'lossy',
  nonFinite: true,
  protoKeys: false,
});

describeSerializer(createMsgpackSerializer({ structuredClone: true }), {
  maps: true,
  sets: true,
  dates: true,
  typedArrays: true,
  buffers: 'lossy',
  cycles: true,
  undefined: true,
  bigint: true,
  negativeZero: 'lossy',
  nonFinite: true,
  protoKeys: false,
});

describeSerializer(createMsgpackSerializer({ useRecords: true }), {
  maps: true,
  sets: true,
  dates: true,
  typedArrays: true,
  buffers: 'lossy',
  cycles: false,
  undefined: true,
  bigint: true,
  negativeZero: 'lossy',
  nonFinite: true,
  protoKeys: false,
});

function catchError(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('msgpack', () => {
  it('writes standard MessagePack that a plain decoder reads', () => {
    expect(unpack(msgpack.encode({ a: [1, 'two'], b: null }))).toEqual({ a: [1, 'two'], b: null });
    // map16 header (msgpackr's fixed-size map header unless variableMapSize), then "a": 1.
    expect([...msgpack.encode({ a: 1 })]).toEqual([0xde, 0x00, 0x01, 0xa1, 0x61, 0x01]);
  });

  it('is found by getSerializer and has a stable id', () => {
    expect(getSerializer(msgpack)).toBe(msgpack);
    expect(serializerId(msgpack)).toBe(serializerId({ name: 'msgpack' }));
  });

  it('says a rejected function was inside an object (its writeFunction hook)', () => {
    expect(catchError(() => msgpack.encode({ a: 1, f: () => 1 })).message).toContain(
      'function inside this Object',
    );
  });

  it('explains a cycle and points at structuredClone', () => {
    const a: any = {};
    a.a = a;
    const e = catchError(() => msgpack.encode(a));
    expect(e.code).toBe('ERR_SHM_UNSERIALIZABLE');
    expect(e.message).toContain('structuredClone: true');
  });

  it('rejects the never-used byte 0xc1 as ERR_SHM_BAD_FORMAT', () => {
    expect(catchError(() => msgpack.decode(new Uint8Array([0xc1]))).code).toBe('ERR_SHM_BAD_FORMAT');
  });

  it('rejects trailing bytes as ERR_SHM_BAD_FORMAT', () => {
    const bytes = Buffer.concat([msgpack.encode({ a: 1 }), Buffer.from([0x01])]);
    expect(catchError(() => msgpack.decode(bytes)).code).toBe('ERR_SHM_BAD_FORMAT');
  });
});

describe('createMsgpackSerializer', () => {
  it('names variants after the options that change the wire format', () => {
    expect(createMsgpackSerializer().name).toBe('msgpack');
    expect(createMsgpackSerializer({ useRecords: true }).name).toBe('msgpack-records');
    expect(createMsgpackSerializer({ structuredClone: true }).name).toBe('msgpack-sc');
    expect(createMsgpackSerializer({ structuredClone: true, useRecords: false }).name).toBe(
      'msgpack-sc-norecords',
    );
    expect(createMsgpackSerializer({ name: 'mine', id: 99 })).toMatchObject({ name: 'mine', id: 99 });
  });

  it('gives a mismatch error that names both variants', () => {
    const sc = createMsgpackSerializer({ structuredClone: true });
    const e = serializerMismatchError(serializerId(msgpack), serializerId(sc));
    expect(e.message).toContain("written with 'msgpack-sc'");
    expect(e.message).toContain("read with 'msgpack'");
  });

  it('writes self-describing records: a separate instance decodes any single message', () => {
    const writer = createMsgpackSerializer({ useRecords: true });
    const messages = Array.from({ length: 50 }, (_, i) => writer.encode({ [`k${i % 7}`]: i, shared: [i] }));
    const last = writer.encode({ k3: 'again', shared: [] });
    const reader = createMsgpackSerializer({ useRecords: true });
    expect(reader.decode(last)).toEqual({ k3: 'again', shared: [] });
    expect(reader.decode(messages[10]!)).toEqual({ k3: 10, shared: [10] });
    expect(new Packr({ useRecords: true }).unpack(last)).toEqual({ k3: 'again', shared: [] });
  });

  it('refuses options that keep structures outside the message', () => {
    for (const key of [
      'structures',
      'getStructures',
      'saveStructures',
      'sequential',
      'maxSharedStructures',
    ]) {
      expect(() => createMsgpackSerializer({ [key]: key === 'sequential' ? true : [] } as any)).toThrow(
        TypeError,
      );
    }
    expect(() => createMsgpackSerializer({ structures: [] } as any)).toThrow(
      /other processes could not decode/,
    );
  });

  it('does not mutate the options it is given', () => {
    const options = { useRecords: true };
    createMsgpackSerializer(options);
    expect(options).toEqual({ useRecords: true });
  });

  it('rejects an empty name', () => {
    expect(() => createMsgpackSerializer({ name: '' })).toThrow(TypeError);
  });
});
