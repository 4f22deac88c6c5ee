// The value methods of ShareLite (storeValue, fetchValue and their async variants): a serializer around store()
// and fetch(), so that Perl's `$share->store(freeze(\%h))` and a Node value meet in one share. Kept apart from
// share-lite.ts, which only delegates here.
import { type BuiltinSerializerName, getSerializer, type Serializer } from '@shm/core';

/** A serializer object, or the name of a built-in one ('raw', 'json', 'v8'). */
export type ValueSerializer<T = unknown> = Serializer<T> | BuiltinSerializerName;

/** `serializer.encode(value)`, after checking the serializer. */
export function encodeValue(value: unknown, serializer: ValueSerializer): Uint8Array {
  return getSerializer(serializer).encode(value);
}

/**
 * The decoded value of a share's bytes; undefined when the share is empty (nothing stored yet, or an empty store),
 * without calling the serializer. The serializer is checked either way.
 */
export function decodeValue<T>(bytes: Uint8Array, serializer: ValueSerializer<T>): T | undefined {
  const s = getSerializer(serializer);
  return bytes.byteLength === 0 ? undefined : s.decode(bytes);
}
