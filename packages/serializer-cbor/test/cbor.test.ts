import { getSerializer, serializerId, serializerMismatchError } from '@shm/core';
import { describeSerializer } from '@shm/test-utils';
import { Decoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { cbor, createCborSerializer } from '../src/index.js';

const capabilities = {
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
} as const;

describeSerializer(cbor, capabilities);
describeSerializer(createCborSerializer({ structuredClone: true }), { ...capabilities, cycles: true });
describeSerializer(createCborSerializer({ useRecords: true }), capabilities);

function catchError(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('cbor', () => {
  it('writes standard CBOR that a plain decoder reads', () => {
    // {"a": 1} = map with a 16-bit length (cbor-x's fixed-size header unless variableMapSize), "a", 1
    expect([...cbor.encode({ a: 1 })]).toEqual([0xb9, 0x00, 0x01, 0x61, 0x61, 0x01]);
    expect([...createCborSerializer({ variableMapSize: true }).encode({ a: 1 })]).toEqual([
      0xa1, 0x61, 0x61, 0x01,
    ]);
    expect(new Decoder({ useRecords: false }).decode(cbor.encode({ a: [1, 'é'] }))).toEqual({ a: [1, 'é'] });
  });

  it('is found by getSerializer and has a stable id', () => {
    expect(getSerializer(cbor)).toBe(cbor);
    expect(serializerId(cbor)).toBe(serializerId({ name: 'cbor' }));
  });

  it('explains a cycle and points at structuredClone', () => {
    const a: any = {};
    a.a = a;
    expect(catchError(() => cbor.encode(a)).message).toContain('structuredClone: true');
  });
});

describe('createCborSerializer', () => {
  it('names variants after the options that change the wire format', () => {
    expect(createCborSerializer().name).toBe('cbor');
    expect(createCborSerializer({ useRecords: true }).name).toBe('cbor-records');
    expect(createCborSerializer({ structuredClone: true }).name).toBe('cbor-sc');
    expect(createCborSerializer({ name: 'mine', id: 5 })).toMatchObject({ name: 'mine', id: 5 });
  });

  it('gives a mismatch error that names both formats', () => {
    const e = serializerMismatchError(serializerId({ name: 'json' }), serializerId(cbor));
    expect(e.message).toContain("written with 'cbor'");
  });

  it('writes self-describing records: a separate instance decodes any single message', () => {
    const writer = createCborSerializer({ useRecords: true });
    for (let i = 0; i < 50; i++) writer.encode({ [`k${i % 7}`]: i, shared: [i] });
    const last = writer.encode({ k3: 'again', shared: [] });
    expect(createCborSerializer({ useRecords: true }).decode(last)).toEqual({ k3: 'again', shared: [] });
  });

  it('refuses options that keep structures outside the message', () => {
    for (const key of [
      'structures',
      'getStructures',
      'saveStructures',
      'sequential',
      'maxSharedStructures',
    ]) {
      expect(() => createCborSerializer({ [key]: key === 'sequential' ? true : [] } as any)).toThrow(
        TypeError,
      );
    }
  });
});
