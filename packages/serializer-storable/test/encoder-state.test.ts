// The encoder keeps state between calls (an identity table of ordinals, an output chunk whose views stay
// valid): sharing must come out right in every call, however calls follow or nest.
import { describe, expect, it } from 'vitest';
import { createStorableSerializer, nfreeze, PerlRef, storable, thaw } from '../src/index.js';

describe('identity between encodes', () => {
  it('re-encoding the same objects, hundreds of times, keeps the sharing exact', () => {
    const shared = { n: 1 };
    const value: any = { a: shared, b: [shared], r: new PerlRef(shared) };
    value.self = value;
    const first = Buffer.from(nfreeze(value));
    for (let i = 0; i < 1200; i++) {
      const img = nfreeze(i % 3 === 0 ? value : { other: [shared, { x: i }] });
      if (i % 3 === 0) expect(Buffer.compare(img, first)).toBe(0);
    }
    const back = thaw(first) as any;
    expect(back.b[0]).toBe(back.a);
    expect(back.r.value).toBe(back.a);
    expect(back.self).toBe(back);
  });

  it('an object shared with an earlier encode is written whole, not as a reference into that one', () => {
    const shared = { n: 1 };
    nfreeze({ first: shared });
    expect(thaw(nfreeze([1, shared]))).toEqual([1, { n: 1 }]);
  });

  it('objects at other ordinals than in the last encode, or after an encode that threw, are shared exactly', () => {
    const a = { a: 1 };
    const b = { b: 2 };
    nfreeze([a, b]);
    const back = thaw(nfreeze([b, a, b, a])) as any[];
    expect(back).toEqual([{ b: 2 }, { a: 1 }, { b: 2 }, { a: 1 }]);
    expect(back[2]).toBe(back[0]);
    expect(back[3]).toBe(back[1]);
    expect(back[0]).not.toBe(back[1]);
    expect(() => nfreeze([a, b, new Map()])).toThrow(/cannot encode a Map/);
    const again = thaw(nfreeze([[b], a, b])) as any[];
    expect(again[2]).toBe(again[0][0]);
    expect(again[1]).not.toBe(again[2]);
    expect(thaw(nfreeze([b, [a]]))).toEqual([{ b: 2 }, [{ a: 1 }]]);
  });

  it('an encode inside an encode (a getter) gets its own table', () => {
    const shared = { n: 1 };
    let inner: Uint8Array | undefined;
    const value = {
      a: shared,
      get b() {
        inner = storable.encode([shared, shared]);
        return shared;
      },
    };
    const back = thaw(nfreeze(value)) as any;
    expect(back.b).toBe(back.a);
    const i = thaw(inner!) as any;
    expect(i[1]).toBe(i[0]);
  });

  it('tags beyond 2^22 (millions of scalars before a shared object) still resolve', () => {
    const shared = { n: 1 };
    const big: unknown[] = new Array(4_300_000).fill(0);
    big.push(shared, shared);
    const back = createStorableSerializer({ byteOrder: 'native' }).decode(
      createStorableSerializer({ byteOrder: 'native' }).encode(big),
    ) as any[];
    expect(back.length).toBe(4_300_002);
    expect(back[4_300_001]).toBe(back[4_300_000]);
  });
});

describe('output views', () => {
  it('stay valid while later encodes, small and large, fill and replace the chunk', () => {
    const s = createStorableSerializer();
    const kept: [Uint8Array, unknown][] = [];
    for (let i = 0; i < 300; i++) {
      const v = i % 50 === 0 ? { big: 'x'.repeat(100_000 + i) } : { i, s: `v${i}` };
      kept.push([s.encode(v), v]);
    }
    for (const [img, v] of kept) expect(s.decode(img)).toEqual(v);
  });
});
