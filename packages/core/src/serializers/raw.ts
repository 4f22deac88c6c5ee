import { isUtf8 } from 'node:buffer';
import type { Serializer } from '../serializer.js';
import { badFormatError, describeType, notBytes, unserializableError } from './serializer-errors.js';

// ES2024 (Node >= 20); not in the ES2023 lib this repo compiles against.
type WellFormed = { isWellFormed(): boolean };

/** What `raw` carries: bytes (a Buffer comes back as a Buffer, any other Uint8Array as a Uint8Array) or a string. */
export type RawValue = Uint8Array | string;

// Layout: one tag byte, then the payload (the bytes, or the string's UTF-8).
const TAG_UINT8ARRAY = 1;
const TAG_BUFFER = 2;
const TAG_STRING = 3;

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
      if (!(value as unknown as WellFormed).isWellFormed()) {
        throw unserializableError(
          'raw',
          value,
          'cannot encode a string with lone surrogates (not valid UTF-16)',
        );
      }
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
    throw unserializableError(
      'raw',
      value,
      `carries only Uint8Array, Buffer or string, not ${describeType(value)}; use 'json', 'v8' or msgpack for other values`,
    );
  },
  decode(bytes: Uint8Array): RawValue {
    if (!(bytes instanceof Uint8Array)) throw notBytes(bytes);
    if (bytes.byteLength === 0) throw badFormatError('raw', 'empty (a raw value has at least a 1-byte tag)');
    const payload = view(bytes).subarray(1);
    switch (bytes[0]) {
      case TAG_STRING:
        if (!isUtf8(payload)) throw badFormatError('raw', 'the string is not valid UTF-8');
        return payload.toString('utf8');
      case TAG_UINT8ARRAY:
        return new Uint8Array(payload);
      case TAG_BUFFER:
        return Buffer.from(payload);
      default:
        throw badFormatError('raw', `unknown tag ${bytes[0]}`);
    }
  },
};
