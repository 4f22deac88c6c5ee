import { expected, ShmError } from '@shm/native';

/** A short, safe description of a value's type for error messages: 'function', 'symbol', 'Map', 'BigInt'... */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  const t = typeof value;
  if (t === 'bigint') return 'BigInt';
  if (t !== 'object') return t;
  const name = (value as object).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : Object.prototype.toString.call(value).slice(8, -1);
}

/**
 * ShmError ERR_SHM_UNSERIALIZABLE: `serializer` cannot carry `value`. `why` replaces the default explanation;
 * `cause` is the encoder's own error, kept for debugging.
 */
export function unserializableError(
  serializer: string,
  value: unknown,
  why?: string,
  cause?: unknown,
): ShmError {
  const reason = why ?? `cannot encode a value of type ${describeType(value)}`;
  return new ShmError('ERR_SHM_UNSERIALIZABLE', `Serializer '${serializer}' ${reason}`, {
    target: serializer,
    cause,
  });
}

/** ShmError ERR_SHM_BAD_FORMAT: the bytes handed to `serializer`'s decode() are not something it wrote. */
export function badFormatError(serializer: string, detail: string, cause?: unknown): ShmError {
  return new ShmError(
    'ERR_SHM_BAD_FORMAT',
    `Serializer '${serializer}' cannot decode these bytes: ${detail}`,
    {
      target: serializer,
      cause,
    },
  );
}

/** The TypeError for a decode() argument that is not bytes (decoders check it before anything else). */
export function notBytes(bytes: unknown): TypeError {
  return expected('a Uint8Array (the bytes encode() made)', 'bytes', bytes) as TypeError;
}

/** The message of an unknown thrown value. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The text of the key as msgpack and CBOR write it (a UTF-8 string); absent from the bytes, no value has it. */
const PROTO_KEY = Buffer.from('__proto__', 'latin1');

/**
 * ShmError ERR_SHM_UNSERIALIZABLE when `value` has an own property named `__proto__` (as `JSON.parse` makes),
 * for a serializer whose decoder renames that key to `__proto_` (msgpackr and cbor-x do, against prototype
 * pollution): refused when stored rather than changed when read. `bytes`, the encoding, is searched for the key's
 * text first, so a value without it costs one byte search. With `mapKeys`, a Map's `'__proto__'` key counts too
 * (for decoders that turn Maps into objects). Undefined when there is nothing to refuse.
 */
export function protoKeyError(
  serializer: string,
  value: unknown,
  bytes: Uint8Array,
  mapKeys = false,
): ShmError | undefined {
  if (!(bytes instanceof Uint8Array)) throw notBytes(bytes);
  // Only an object can own the key: bytes, strings and numbers skip the search of their encoding (for a 1 MB
  // Buffer that search cost as much as the store).
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return undefined;
  if (!hasProtoText(bytes)) return undefined;
  const at = findProtoKey(value, 'value', mapKeys, new Set());
  if (at === undefined) return undefined;
  return unserializableError(
    serializer,
    value,
    `cannot keep the own property named __proto__ at ${at}: its decoder would read it back as __proto_`,
  );
}

/** Whether `bytes` contain the text `__proto__`: a loop for short encodings, where a call into C++ costs more. */
function hasProtoText(bytes: Uint8Array): boolean {
  const n = bytes.byteLength;
  if (n < PROTO_KEY.length) return false;
  if (n > 256) {
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, n);
    return b.indexOf(PROTO_KEY) >= 0;
  }
  for (let i = 0; i + 9 <= n; i++) {
    if (bytes[i] !== 0x5f || bytes[i + 1] !== 0x5f) continue;
    let j = 2;
    while (j < 9 && bytes[i + j] === PROTO_KEY[j]) j++;
    if (j === 9) return true;
  }
  return false;
}

/** The path of the first object holding an own `__proto__` property, depth first. */
function findProtoKey(v: unknown, path: string, mapKeys: boolean, seen: Set<object>): string | undefined {
  if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v)) return undefined;
  seen.add(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const at = findProtoKey(v[i], `${path}[${i}]`, mapKeys, seen);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  if (v instanceof Map) {
    for (const [k, x] of v) {
      if (mapKeys && k === '__proto__') return path;
      const at = findProtoKey(
        x,
        `${path}.get(${typeof k === 'string' ? JSON.stringify(k) : '…'})`,
        mapKeys,
        seen,
      );
      if (at !== undefined) return at;
    }
    return undefined;
  }
  if (v instanceof Set) {
    for (const x of v) {
      const at = findProtoKey(x, `${path} (a Set member)`, mapKeys, seen);
      if (at !== undefined) return at;
    }
    return undefined;
  }
  if (Object.hasOwn(v, '__proto__')) return path;
  for (const k of Object.keys(v)) {
    const at = findProtoKey((v as Record<string, unknown>)[k], `${path}.${k}`, mapKeys, seen);
    if (at !== undefined) return at;
  }
  return undefined;
}
