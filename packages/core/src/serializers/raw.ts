import { isUtf8 } from 'node:buffer';
import type { EncodedView, Serializer } from '../serializer.js';
import { badFormatError, describeType, notBytes, unserializableError } from './serializer-errors.js';

// ES2024 (Node >= 20); not in the ES2023 lib this repo compiles against.
type WellFormed = { isWellFormed(): boolean };

/** What `raw` carries: bytes (a Buffer comes back as a Buffer, any other Uint8Array as a Uint8Array) or a string. */
export type RawValue = Uint8Array | string;

// Layout: one tag byte, then the payload (the bytes, or the string's UTF-8).
const TAG_UINT8ARRAY = 1;
const TAG_BUFFER = 2;
const TAG_STRING = 3;

// encodeView()'s pieces: a tag in front of the caller's own bytes, or a string's encoding in a reused buffer.
const HEAD_UINT8ARRAY = new Uint8Array([TAG_UINT8ARRAY]);
const HEAD_BUFFER = new Uint8Array([TAG_BUFFER]);
const NO_HEAD = new Uint8Array(0);
let scratch = Buffer.allocUnsafe(256);
const SCRATCH_MAX = 1 << 20;
const encoded: EncodedView = { head: NO_HEAD, body: NO_HEAD };

function checkString(value: string): void {
  if (!(value as unknown as WellFormed).isWellFormed()) {
    throw unserializableError('raw', value, 'cannot encode a string with lone surrogates (not valid UTF-16)');
  }
}

function notRaw(value: unknown): Error {
  return unserializableError(
    'raw',
    value,
    `carries only Uint8Array, Buffer or string, not ${describeType(value)}; use 'json', 'v8' or msgpack for other values`,
  );
}

function view(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Bytes and strings, stored as they are behind a 1-byte tag so decode() returns the same kind. Anything else
 * throws ERR_SHM_UNSERIALIZABLE. Strings must be well-formed UTF-16 (no lone surrogates, which UTF-8 cannot hold).
 * Decoded bytes are a copy: they never alias the buffer handed to decode().
 */
export const raw: Serializer<RawValue> = {
  name: 'raw',
  encode(value: RawValue): Uint8Array {
    if (typeof value === 'string') {
      checkString(value);
      const out = Buffer.allocUnsafe(1 + Buffer.byteLength(value, 'utf8'));
      out[0] = TAG_STRING;
      out.write(value, 1, 'utf8');
      return out;
    }
    if (value instanceof Uint8Array) {
      const out = Buffer.allocUnsafe(1 + value.byteLength);
      out[0] = Buffer.isBuffer(value) ? TAG_BUFFER : TAG_UINT8ARRAY;
      out.set(value, 1);
      return out;
    }
    throw notRaw(value);
  },
  // Bytes: the tag, then the caller's own bytes (no copy here; the store copies them once). A string: its tag and
  // UTF-8 in a buffer reused from call to call.
  encodeView(value: RawValue): EncodedView {
    if (value instanceof Uint8Array) {
      encoded.head = Buffer.isBuffer(value) ? HEAD_BUFFER : HEAD_UINT8ARRAY;
      encoded.body = value;
      return encoded;
    }
    if (typeof value !== 'string') throw notRaw(value);
    checkString(value);
    // At most 3 bytes of UTF-8 per UTF-16 unit: sized without measuring the string first. Kept up to 1 MiB.
    const most = 1 + 3 * value.length;
    let out = scratch;
    if (out.byteLength < most) {
      out = Buffer.allocUnsafe(most > SCRATCH_MAX ? 1 + Buffer.byteLength(value, 'utf8') : most);
      if (most <= SCRATCH_MAX) scratch = out;
    }
    out[0] = TAG_STRING;
    const n = out.write(value, 1, 'utf8');
    encoded.head = NO_HEAD;
    encoded.body = out.subarray(0, 1 + n);
    return encoded;
  },
  decode(bytes: Uint8Array): RawValue {
    if (!(bytes instanceof Uint8Array)) throw notBytes(bytes);
    const n = bytes.byteLength;
    if (n === 0) throw badFormatError('raw', 'empty (a raw value has at least a 1-byte tag)');
    switch (bytes[0]) {
      case TAG_STRING: {
        const payload = view(bytes).subarray(1);
        if (!isUtf8(payload)) throw badFormatError('raw', 'the string is not valid UTF-8');
        return payload.toString('utf8');
      }
      case TAG_UINT8ARRAY: {
        const out = new Uint8Array(n - 1);
        if (n > 1) out.set(bytes.subarray(1));
        return out;
      }
      case TAG_BUFFER: {
        // allocUnsafe: small results come from Node's pool, as fetch()'s do; every byte is written below.
        const out = Buffer.allocUnsafe(n - 1);
        if (n > 1) out.set(bytes.subarray(1));
        return out;
      }
      default:
        throw badFormatError('raw', `unknown tag ${bytes[0]}`);
    }
  },
};
