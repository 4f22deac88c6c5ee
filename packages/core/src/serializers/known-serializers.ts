import { nameHash, serializerId } from './serializer-id.js';

/**
 * id -> name for every serializer this process has seen, plus the names the @shm packages define, so that a
 * mismatch error can name the writer's serializer even when the reader never loaded it.
 */
const names = new Map<number, string>();

// Built-ins and the variants @shm/serializer-msgpack and @shm/serializer-cbor can produce.
for (const name of [
  'raw',
  'json',
  'v8',
  'msgpack',
  'msgpack-records',
  'msgpack-sc',
  'msgpack-sc-norecords',
  'cbor',
  'cbor-records',
  'cbor-sc',
  'cbor-records-sc',
]) {
  names.set(nameHash(name), name);
}

/** Remembers `s` so errors about its id can name it. Returns its id. */
export function rememberSerializer(s: { name: string; id?: number }): number {
  const id = serializerId(s);
  if (!names.has(id)) names.set(id, s.name);
  return id;
}

/** The name of a known serializer id, or undefined. */
export function serializerName(id: number): string | undefined {
  return names.get(id);
}
