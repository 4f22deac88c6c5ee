// The encoder keeps state between calls (an identity table of ordinals, an output chunk whose views stay
// valid): sharing must come out right in every call, however calls follow or nest.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

/** Whether `a` and `b` are the same graph: equal scalars, and objects that correspond one to one. */
function sameGraph(
  a: unknown,
  b: unknown,
  ab = new Map<object, object>(),
  ba = new Map<object, object>(),
): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  const mapped = ab.get(a);
  if (mapped !== undefined || ba.has(b)) return mapped === b && ba.get(b) === a;
  ab.set(a, b);
  ba.set(b, a);
  if (Array.isArray(a) !== Array.isArray(b) || a instanceof PerlRef !== b instanceof PerlRef) return false;
  if (a instanceof PerlRef) return sameGraph(a.value, (b as PerlRef).value, ab, ba);
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length || ka.some((k, i) => k !== kb[i])) return false;
  return ka.every((k) => sameGraph((a as any)[k], (b as any)[k], ab, ba));
}

/** Resolves when the event loop has turned (setImmediate callbacks queued before have run). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('identity between large encodes (the last one held until the event loop turns)', () => {
  it('a large structure edited between encodes comes out as the graph it is, and as a cold encode writes it', async () => {
    const seed = Number(process.env.STORABLE_SEED ?? Date.now() % 1_000_000);
    let state = seed;
    const rand = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const root: any[] = Array.from({ length: 1500 }, (_, i) => ({ i, tags: [`t${i}`] }));
    const pick = () => root[rand(root.length)];
    const edits: (() => void)[] = [
      () => {
        const i = rand(root.length);
        const j = rand(root.length);
        [root[i], root[j]] = [root[j], root[i]];
      },
      () => {
        root[rand(root.length)] = pick(); // the same object twice
      },
      () => root.splice(rand(root.length), 0, { fresh: rand(1000), tags: [] }),
      () => root.splice(rand(root.length), 1),
      () => root.splice(rand(root.length), 0, root), // a cycle through the root
      () => {
        const o = pick();
        if (typeof o === 'object' && o !== null && 'tags' in o) o.tags = pick()?.tags ?? [];
      },
      () => root.splice(rand(root.length), 0, new PerlRef(pick())),
      () => {}, // unchanged: the shortcut all the way
    ];
    let prev = nfreeze(root); // held: encoded just now, no turn since
    expect(prev.byteLength).toBeGreaterThan(0);
    for (let step = 0; step < 120; step++) {
      for (let k = rand(3); k >= 0; k--) edits[rand(edits.length)]!();
      const hot = Buffer.from(nfreeze(root)); // after an encode of the structure before the edits
      await turn();
      const cold = Buffer.from(nfreeze(root)); // nothing held: every object looked up
      if (Buffer.compare(hot, cold) !== 0 || !sameGraph(thaw(hot), root)) {
        throw new Error(
          `step ${step}: the encode after an edit differs (seed ${seed}: STORABLE_SEED=${seed})`,
        );
      }
      prev = cold;
    }
    expect(sameGraph(thaw(prev), root)).toBe(true);
  });

  it('the objects of a large encode are let go when the event loop turns', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let ref: WeakRef<object> | undefined;
    (() => {
      const big = Array.from({ length: 2000 }, (_, i) => ({ i }));
      ref = new WeakRef(big[7]!);
      nfreeze(big);
    })();
    await turn();
    gc();
    await turn();
    gc();
    expect(ref!.deref()).toBeUndefined();
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
