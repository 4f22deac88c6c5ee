import { DefaultDeserializer, serialize } from 'node:v8';
import type { Serializer } from '../serializer.js';
import {
  badFormatError,
  describeType,
  messageOf,
  notBytes,
  unserializableError,
} from './serializer-errors.js';

/**
 * Node's DefaultDeserializer returns typed arrays and Buffers as views into the input when alignment allows.
 * Our input may be a view into shared memory or a reused buffer, so every one is copied (only that array's bytes,
 * not the whole payload).
 */
class CopyingDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    const v = (DefaultDeserializer.prototype as any)._readHostObject.call(this) as ArrayBufferView;
    if (v instanceof DataView) return new DataView(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
    if (Buffer.isBuffer(v)) return Buffer.from(v);
    return (v as unknown as Uint8Array).slice();
  }
}

/**
 * node:v8 serialize/deserialize: the structured clone algorithm. Keeps Map, Set, Date, RegExp, Error, typed
 * arrays, Buffer, BigInt, undefined, -0, NaN, cycles and shared references. Class instances come back as plain
 * objects. Functions and symbols throw ERR_SHM_UNSERIALIZABLE. The format is versioned by V8: a newer Node can
 * read what an older one wrote, not always the reverse, so mix Node majors with care.
 */
export const v8: Serializer = {
  name: 'v8',
  encode(value: unknown): Uint8Array {
    try {
      return serialize(value);
    } catch (e) {
      throw unserializableError('v8', value, `cannot encode this ${describeType(value)}: ${messageOf(e)}`, e);
    }
  },
  decode(bytes: Uint8Array): unknown {
    if (!(bytes instanceof Uint8Array)) throw notBytes(bytes);
    if (bytes.byteLength === 0) throw badFormatError('v8', 'empty');
    try {
      const d = new CopyingDeserializer(bytes);
      d.readHeader();
      return d.readValue();
    } catch (e) {
      throw badFormatError('v8', messageOf(e), e);
    }
  },
};
