// msgpack.encodeView packs into msgpackr's rewound buffer (issue 18): the same bytes as encode(), and never a
// buffer that a result of encode() shares.
import { describe, expect, it } from 'vitest';
import { createMsgpackSerializer, msgpack } from '../src/index.js';

const values: unknown[] = [
  null,
  42,
  'text ✓',
  Buffer.alloc(100, 3),
  new Uint8Array(70_000).fill(5), // past msgpackr's first 8 KB buffer
  { id: 1, tags: ['a', 'b'], nested: { on: true } },
  Array.from({ length: 2000 }, (_, i) => ({ i, s: `item ${i}` })),
  new Map([['k', 1]]),
];

describe('msgpack.encodeView', () => {
  for (const [label, s] of [
    ['msgpack', msgpack],
    ['records', createMsgpackSerializer({ useRecords: true })],
    ['structured clone', createMsgpackSerializer({ structuredClone: true })],
  ] as const) {
    it(`gives the bytes encode() gives, and decodes back (${label})`, () => {
      for (const v of values) {
        const e = s.encodeView!(v);
        const viewBytes = Buffer.concat([e.head, e.body]);
        expect(viewBytes.equals(Buffer.from(s.encode(v)))).toBe(true);
        expect(s.decode(viewBytes)).toEqual(s.decode(s.encode(v)));
      }
    });
  }

  it('never overwrites what encode() returned, however many views and growths come after it', () => {
    const kept = msgpack.encode({ keep: 'me', n: 1 });
    const copy = Buffer.from(kept);
    msgpack.encodeView!('first');
    for (let i = 0; i < 200; i++) msgpack.encodeView!({ i, pad: 'x'.repeat(i * 50) });
    msgpack.encode(Buffer.alloc(300_000, 1)); // grows msgpackr's buffer
    expect(Buffer.from(kept).equals(copy)).toBe(true);
    const second = msgpack.encodeView!('other');
    expect(msgpack.decode(Buffer.from(second.body))).toBe('other');
  });
});
