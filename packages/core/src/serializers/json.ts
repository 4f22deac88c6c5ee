import { isUtf8 } from 'node:buffer';
import type { Serializer } from '../serializer.js';
import {
  badFormatError,
  describeType,
  messageOf,
  notBytes,
  unserializableError,
} from './serializer-errors.js';

/**
 * JSON as UTF-8. Readable from any language; plain data only. A top-level undefined, function or symbol, any
 * BigInt and any cycle throw ERR_SHM_UNSERIALIZABLE. Inside objects JSON's own rules apply and are NOT errors:
 * undefined/function/symbol properties are dropped (null in arrays), NaN and ±Infinity become null, -0 becomes 0,
 * Date becomes its ISO string, Map/Set/typed arrays become objects. Use `v8` or msgpack to keep those types.
 */
export const json: Serializer = {
  name: 'json',
  encode(value: unknown): Uint8Array {
    const t = typeof value;
    if (t === 'undefined' || t === 'function' || t === 'symbol') {
      throw unserializableError('json', value, `cannot encode a top-level ${t} (JSON has no representation)`);
    }
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (e) {
      // BigInt ("Do not know how to serialize a BigInt") and cycles ("Converting circular structure to JSON").
      throw unserializableError(
        'json',
        value,
        `cannot encode this ${describeType(value)}: ${messageOf(e)}`,
        e,
      );
    }
    if (text === undefined) {
      throw unserializableError(
        'json',
        value,
        `cannot encode this ${describeType(value)}: its toJSON() gave undefined`,
      );
    }
    return Buffer.from(text, 'utf8');
  },
  decode(bytes: Uint8Array): unknown {
    if (!(bytes instanceof Uint8Array)) throw notBytes(bytes);
    // A view, not a copy: the string decoder reads straight from the caller's (possibly shared) bytes.
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (!isUtf8(buf)) throw badFormatError('json', 'not valid UTF-8');
    try {
      return JSON.parse(buf.toString('utf8'));
    } catch (e) {
      throw badFormatError('json', messageOf(e), e);
    }
  },
};
