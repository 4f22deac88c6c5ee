import { describeValue } from '@shm/native';
import type { Serializer } from '../serializer.js';
import { json } from './json.js';
import { rememberSerializer } from './known-serializers.js';
import { raw } from './raw.js';
import { v8 } from './v8.js';

/** The names getSerializer() resolves. */
export type BuiltinSerializerName = 'raw' | 'json' | 'v8';

const builtins: Record<BuiltinSerializerName, Serializer<any>> = { raw, json, v8 };

/**
 * Resolves a serializer option: 'raw' | 'json' | 'v8', or a serializer object, which is checked (name, encode,
 * decode, optional id) and returned as is. Either way it is remembered so mismatch errors can name it.
 * @throws TypeError for anything else, RangeError for an unknown name or a bad id.
 */
export function getSerializer<T = unknown>(nameOrSerializer: string | Serializer<T>): Serializer<T> {
  if (typeof nameOrSerializer === 'string') {
    if (Object.hasOwn(builtins, nameOrSerializer)) return builtins[nameOrSerializer as BuiltinSerializerName];
    throw new RangeError(
      `Expected 'raw', 'json', 'v8' or a serializer object for serializer but received ${describeValue(nameOrSerializer)}` +
        ' (other formats are objects from their package, e.g. msgpack from @shm/serializer-msgpack)',
    );
  }
  const s = nameOrSerializer as Partial<Serializer<T>> | null;
  if (
    typeof s !== 'object' ||
    s === null ||
    typeof s.name !== 'string' ||
    s.name === '' ||
    typeof s.encode !== 'function' ||
    typeof s.decode !== 'function'
  ) {
    throw new TypeError(
      `Expected a serializer (name, encode, decode) for serializer but received ${describeValue(nameOrSerializer)}`,
    );
  }
  rememberSerializer(s as Serializer<T>); // also validates s.id
  return s as Serializer<T>;
}
