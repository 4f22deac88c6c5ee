// The values every contender carries: one small object and four byte sizes. Each value carries a sequence number
// (the object's `id`; the first and last 4 bytes of a byte value, little-endian) so that a reader can tell which
// write it sees without comparing the whole value. perl-sharelite-side.pl builds the same values.

/** The payloads, in the order tables and charts show them. */
export const PAYLOADS = ['object', '64B', '4KB', '64KB', '1MB'] as const;
export type PayloadKind = (typeof PAYLOADS)[number];

/** The small object: a few scalars, an array and a nested object (about 100 bytes as JSON). */
export interface SmallObject {
  id: number;
  name: string;
  tags: string[];
  nested: { price: number; stock: { warehouse: number; shelf: number }; active: boolean };
}

export type Value = Uint8Array | SmallObject;

/** A sequence number no workload reaches: the value that tells a ping-pong partner to stop. */
export const STOP_SEQ = 0x7fffffff;

const BYTES: Record<Exclude<PayloadKind, 'object'>, number> = {
  '64B': 64,
  '4KB': 4096,
  '64KB': 65536,
  '1MB': 1 << 20,
};

/** Byte length of a byte payload; 0 for the object. */
export function byteLength(kind: PayloadKind): number {
  return kind === 'object' ? 0 : BYTES[kind];
}

/** What a table calls the payload. */
export function payloadLabel(kind: PayloadKind): string {
  return kind === 'object' ? 'small object' : kind.replace(/(\d)([KM]?B)$/, '$1 $2');
}

/** A fresh value of `kind` carrying `seq`. Bytes are a fixed pattern, byte i = (i * 31 + 7) & 0xff. */
export function makeValue(kind: PayloadKind, seq: number): Value {
  if (kind === 'object') {
    return {
      id: seq,
      name: 'widget-42',
      tags: ['alpha', 'beta', 'gamma'],
      nested: { price: 9.99, stock: { warehouse: 3, shelf: 12 }, active: true },
    };
  }
  const n = BYTES[kind];
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  return setSeq(b, seq);
}

/** Writes `seq` into `value` in place (cheap: a store loop reuses one value) and returns it. */
export function setSeq<V extends Value>(value: V, seq: number): V {
  if (value instanceof Uint8Array) {
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    dv.setUint32(0, seq, true);
    dv.setUint32(value.byteLength - 4, seq, true);
  } else {
    value.id = seq;
  }
  return value;
}

/**
 * The sequence number a value carries. For bytes, the first and last words must agree (a torn read gives -1).
 * @throws TypeError when the value is neither bytes nor an object with a numeric id.
 */
export function seqOf(value: unknown): number {
  if (value instanceof Uint8Array) {
    if (value.byteLength < 8) return -1;
    const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const a = dv.getUint32(0, true);
    return a === dv.getUint32(value.byteLength - 4, true) ? a : -1;
  }
  const id = (value as SmallObject | null)?.id;
  if (typeof id !== 'number') {
    throw new TypeError(`Expected a payload value for seqOf() but received ${String(value)}`);
  }
  return id;
}

/** A value in a form that survives JSON (and process.send): bytes as base64. */
export type WireValue = { bytes: string } | { object: SmallObject };

export function toWire(value: Value): WireValue {
  return value instanceof Uint8Array
    ? { bytes: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
    : { object: value };
}

export function fromWire(w: WireValue): Value {
  return 'bytes' in w ? Buffer.from(w.bytes, 'base64') : w.object;
}
