import type { EncodedView, Serializer } from '@shm/core';

// The lean write of a ScalarRef (docs/decisions: "Lean scalar writes"): when a serializer encodes a scalar's
// envelope as a prefix (its `t`, `l`, `h` and the `v` key) followed by the value's own encoding, a ScalarRef that
// is given a primitive or bytes writes that prefix, kept per variable, and the value encoded alone. The bytes are
// exactly those the serializer gives for the whole envelope: readers, old and new, see no difference.

/** The values the lean path writes: primitives, and byte views of the classes probed below. */
const VIEW_PROTOS = new Set<object>(
  [
    Buffer,
    Uint8Array,
    Uint8ClampedArray,
    Int8Array,
    Uint16Array,
    Int16Array,
    Uint32Array,
    Int32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
    DataView,
  ].map((C) => C.prototype),
);

/** A value the lean path may write: a primitive other than a function or symbol, or a typed array / DataView. */
export function isLeanValue(v: unknown): boolean {
  const t = typeof v;
  if (t === 'object') return v === null || VIEW_PROTOS.has(Object.getPrototypeOf(v));
  return t !== 'function' && t !== 'symbol';
}

/** What the reader's cache may keep as the decoded value (as Prep.exact decides for the same values). */
export function isExactLean(v: unknown): boolean {
  const t = typeof v;
  return (
    t === 'string' ||
    t === 'boolean' ||
    v === null ||
    (t === 'number' && Number.isFinite(v) && !Object.is(v, -0))
  );
}

/** A value to write, with the envelope prefix to write before it (what LeanSerializer.encodeView takes). */
class LeanValue {
  constructor(
    public prefix: Uint8Array,
    public v: unknown,
  ) {}
}

const EMPTY = new Uint8Array(0);

/**
 * The serializer tied opens its core stores with: `inner` in every respect (same name and id, same bytes), whose
 * encodeView also takes a LeanValue, which it encodes as its prefix followed by the value's own encoding.
 */
export interface LeanSerializer extends Serializer {
  readonly inner: Serializer;
  /** The bytes before the value in the encoding of `{ t: 'scalar', l, h, v }`. */
  prefix(l: number, h: readonly number[]): Uint8Array | undefined;
  /** The argument for Store.setValueLocked() that writes `{ t: 'scalar', l, h, v }` with `prefix` = prefix(l, h). */
  value(prefix: Uint8Array, v: unknown): unknown;
}

const cache = new WeakMap<Serializer, LeanSerializer | null>();

/** The lean wrapper of `s`, or undefined if its encodings of scalar envelopes do not split (then: the full path). */
export function leanSerializer(s: Serializer): LeanSerializer | undefined {
  let w = cache.get(s);
  if (w === undefined) {
    w = splits(s) ? wrap(s) : null;
    cache.set(s, w);
  }
  return w ?? undefined;
}

function wrap(inner: Serializer): LeanSerializer {
  const view: EncodedView = { head: EMPTY, body: EMPTY };
  const marker = new LeanValue(EMPTY, undefined);
  const w: LeanSerializer = {
    name: inner.name,
    inner,
    encode: (value) => inner.encode(value),
    decode: (bytes) => inner.decode(bytes),
    encodeView(value: unknown): EncodedView {
      if (!(value instanceof LeanValue)) {
        if (inner.encodeView !== undefined) return inner.encodeView(value);
        view.head = EMPTY;
        view.body = inner.encode(value);
        return view;
      }
      const { prefix, v } = value;
      value.v = undefined; // never keeps the caller's value alive
      if (inner.encodeView === undefined) {
        view.head = prefix;
        view.body = inner.encode(v);
        return view;
      }
      const e = inner.encodeView(v);
      const body = e.body;
      view.head = e.head.byteLength === 0 ? prefix : Buffer.concat([prefix, e.head]);
      view.body = body;
      return view;
    },
    prefix(l, h) {
      return prefixOf(inner, l, h);
    },
    value(prefix, v) {
      marker.prefix = prefix;
      marker.v = v;
      return marker;
    },
  };
  if (inner.id !== undefined) Object.defineProperty(w, 'id', { value: inner.id, enumerable: true });
  return w;
}

/** The bytes before the value in `s`'s encoding of a scalar envelope, if it ends with the value's encoding. */
function prefixOf(s: Serializer, l: number, h: readonly number[]): Uint8Array | undefined {
  const whole = s.encode({ t: 'scalar', l, h, v: null });
  const nul = s.encode(null);
  const n = whole.byteLength - nul.byteLength;
  if (n <= 0 || !same(whole.subarray(n), nul)) return undefined;
  // A copy: the serializer may hand out views of a buffer it reuses.
  return Uint8Array.prototype.slice.call(whole, 0, n);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** The values the split is checked against: every kind isLeanValue() admits, at each size its encoding has. */
function probes(): unknown[] {
  const strings = [0, 1, 5, 31, 32, 255, 256, 65535, 65536].map((n) => 'x'.repeat(n));
  strings.push('é€😀', '\u0000', '__proto__');
  const bytes = [0, 1, 255, 256, 65535, 65536].map((n) => Buffer.alloc(n, 7));
  const backing = new Uint8Array(64).map((_, i) => i);
  return [
    undefined,
    null,
    true,
    false,
    0,
    1,
    -1,
    127,
    128,
    -32,
    -33,
    255,
    256,
    65535,
    65536,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 32,
    2 ** 53 - 1,
    -(2 ** 53) + 1,
    1.5,
    0.1,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    3.4e38,
    0n,
    1n,
    -1n,
    2n ** 63n - 1n,
    -(2n ** 63n),
    2n ** 64n - 1n,
    2n ** 70n,
    ...strings,
    ...bytes,
    new Uint8Array(backing.buffer, 3, 20),
    new Uint8Array(300),
    new Uint8ClampedArray([1, 2, 300]),
    new Int8Array([-1, 2]),
    new Uint16Array([1, 65535]),
    new Int16Array(new ArrayBuffer(8), 2, 2),
    new Uint32Array([1, 2 ** 32 - 1]),
    new Int32Array([-1]),
    new Float32Array([1.5, Number.NaN]),
    new Float64Array([0.1, -0]),
    new BigInt64Array([-1n]),
    new BigUint64Array([2n ** 64n - 1n]),
    new DataView(backing.buffer, 5, 9),
    new Float64Array(0),
  ];
}

/** What `f` gives, or the error it throws (thrown either way by both paths: they must agree on which). */
function attempt(f: () => Uint8Array): Uint8Array | 'threw' {
  try {
    return f();
  } catch {
    return 'threw';
  }
}

function joined(e: EncodedView): Uint8Array {
  return e.head.byteLength === 0 ? Uint8Array.prototype.slice.call(e.body) : Buffer.concat([e.head, e.body]);
}

/**
 * Whether `s` encodes `{ t: 'scalar', l, h, v }` as prefix(l, h) followed by the encoding of `v`, checked for every
 * probe at a few counts and holder lists (once per serializer). A serializer whose encoding of a value depends on
 * where it stands (string bundles, records, a trailer after the map) fails and keeps the full path.
 */
function splits(s: Serializer): boolean {
  try {
    const values = probes();
    for (const [l, h] of [
      [0, []],
      [1, [4242]],
      [300, [1, 70000, 0xffffffff]],
    ] as [number, number[]][]) {
      const prefix = prefixOf(s, l, h);
      if (prefix === undefined) return false;
      for (const v of values) {
        const whole = attempt(() => Uint8Array.prototype.slice.call(s.encode({ t: 'scalar', l, h, v })));
        const alone = attempt(() =>
          s.encodeView !== undefined ? joined(s.encodeView(v)) : Uint8Array.prototype.slice.call(s.encode(v)),
        );
        if (whole === 'threw' || alone === 'threw') {
          if (whole !== alone) return false;
          continue;
        }
        if (whole.byteLength !== prefix.byteLength + alone.byteLength) return false;
        if (!same(whole.subarray(0, prefix.byteLength), prefix)) return false;
        if (!same(whole.subarray(prefix.byteLength), alone)) return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}
