// A ScalarRef given a primitive or bytes commits its envelope's prefix and the value encoded alone (issue 18):
// these check that the bytes are exactly the envelope's encoding, and that the write keeps every other duty.
import { getSerializer, Store } from '@shm/core';
import { msgpack } from '@shm/serializer-msgpack';
import { describe, expect, it } from 'vitest';
import { ScalarRef, tie, tied, untie } from '../src/index.js';
import { isLeanValue, leanSerializer } from '../src/lean-envelope.js';
import { segments, useNamespace } from './helpers.js';

const { ns, extra } = useNamespace();

const VALUES: unknown[] = [
  null,
  undefined,
  true,
  7,
  -0,
  1.5,
  2n ** 40n,
  'hello',
  'x'.repeat(70000),
  Buffer.alloc(64, 7),
  Buffer.alloc(100_000, 3),
  new Uint8Array(Buffer.from('0123456789').buffer, 0, 4),
  new Float64Array([1, Number.NaN]),
];

describe('lean scalar writes', () => {
  it('msgpack splits; json and v8 do not, and keep the full path', () => {
    expect(leanSerializer(msgpack)).toBeDefined();
    expect(leanSerializer(getSerializer('json'))).toBeUndefined();
    expect(leanSerializer(getSerializer('v8'))).toBeUndefined();
  });

  it('commits exactly the bytes of the whole envelope, and another reader decodes each value', () => {
    const ref = tie(new ScalarRef<unknown>(), 'lean', { namespace: ns() });
    extra.push(() => untie(ref));
    const seg = tied(ref).debug().segment;
    const raw = Store.open({ name: seg, serializer: 'raw' });
    extra.push(() => raw.close());
    for (const v of VALUES) {
      expect(isLeanValue(v)).toBe(true);
      ref.value = v;
      const stored = raw.fetch();
      expect(Buffer.from(stored).equals(Buffer.from(msgpack.encode({ t: 'scalar', l: 0, h: [], v })))).toBe(
        true,
      );
      const back = msgpack.decode(stored) as { v: unknown };
      // msgpack itself writes -0 as 0 (so Prep.exact leaves it out of the reader's cache): bytes are what count.
      if (!Object.is(v, -0)) expect(back.v).toEqual(v);
    }
  });

  it("keeps an anonymous root's holders and count, and releases a nested variable it replaces", () => {
    const ref = tie(new ScalarRef<unknown>(), { namespace: ns() });
    extra.push(() => untie(ref));
    const base = segments(ns()).length;
    ref.value = { nested: 1 };
    expect(segments(ns()).length).toBe(base + 1);
    ref.value = 5; // lean: the nested variable goes
    expect(segments(ns()).length).toBe(base);
    expect(tied(ref).debug().holders).toEqual([process.pid]);
    ref.value = Buffer.from('b');
    expect(tied(ref).debug().holders).toEqual([process.pid]);
    expect(Buffer.from(ref.value as Uint8Array).toString()).toBe('b');
  });

  it('leaves functions, symbols, objects and class instances to the full path', () => {
    for (const v of [() => 1, Symbol('s'), {}, [], new Date(0), new (class extends Uint8Array {})(2)])
      expect(isLeanValue(v)).toBe(false);
  });
});
