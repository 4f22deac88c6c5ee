// encodeView writes into a chunk of its own, from its start every call, for writers that copy the image at once
// (Store.setValue, MmapShare.set): the bytes encode() gives, no fresh chunk per large value, and never memory an
// encode() result is a view of.
import { Store } from '@shm/core';
import { uniqueName } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import { bless, createStorableSerializer, PerlRef, storable } from '../src/index.js';

const shared = { n: 1 };
const cyclic: any = { name: 'loop' };
cyclic.self = cyclic;
const values: unknown[] = [
  null,
  -5,
  2 ** 40,
  3.25,
  'caf\u00e9 \u263a',
  Buffer.alloc(300, 7),
  { a: shared, b: [shared], r: new PerlRef(shared) },
  cyclic,
  bless({ x: 1 }, 'My::Class'),
  Array.from({ length: 3000 }, (_, i) => ({ i, s: `item ${i}`, tags: ['t'] })), // held between calls
];

describe('storable.encodeView', () => {
  for (const [label, s] of [
    ['nfreeze', storable],
    ['freeze', createStorableSerializer({ byteOrder: 'native' })],
  ] as const) {
    it(`gives the bytes encode() gives (${label})`, () => {
      for (const v of values) {
        const e = s.encodeView!(v);
        expect(e.head.byteLength).toBe(0);
        const viewBytes = Buffer.from(e.body);
        expect(viewBytes.equals(Buffer.from(s.encode(v)))).toBe(true);
        expect(s.decode(viewBytes)).toEqual(s.decode(s.encode(v)));
      }
    });
  }

  it('reuses one buffer for large values, never one an encode() result uses', () => {
    const s = createStorableSerializer();
    const big = values.at(-1);
    const kept = s.encode(big);
    const keptCopy = Buffer.from(kept);
    const first = s.encodeView!(big).body;
    const buffer = first.buffer;
    for (let i = 0; i < 20; i++) expect(s.encodeView!(big).body.buffer).toBe(buffer);
    expect(buffer).not.toBe(kept.buffer);
    expect(Buffer.from(kept).equals(keptCopy)).toBe(true); // encodeView never wrote over it
  });

  it('throws what encode() throws, and the next call works', () => {
    const s = createStorableSerializer();
    expect(() => s.encodeView!({ ok: 1, bad: new Map() })).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_UNSERIALIZABLE' }),
    );
    expect(s.decode(Buffer.from(s.encodeView!({ ok: 2 }).body))).toEqual({ ok: 2 });
  });

  it('carries setValue() of a Store to another handle', () => {
    const name = uniqueName();
    const w = Store.create({ name, serializer: storable, register: false });
    try {
      const r = Store.open({ name, serializer: storable, register: false });
      try {
        for (const v of values.slice(6)) {
          w.setValue(v);
          expect(r.getValue()).toEqual(storable.decode(storable.encode(v)));
        }
      } finally {
        r.close();
      }
    } finally {
      w.destroy();
    }
  });
});
