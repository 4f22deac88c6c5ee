/**
 * Turns values into bytes and back. The store records `id` (or a hash of `name`) with every value, so a reader
 * using another serializer gets ERR_SHM_SERIALIZER_MISMATCH instead of garbage.
 */
export interface Serializer<T = unknown> {
  /** Stable, unique name: 'raw', 'json', 'v8', 'msgpack', 'cbor', ... */
  readonly name: string;
  /** Optional fixed id (1..0xffffffff) recorded with each value; defaults to a hash of `name`. */
  readonly id?: number;
  /** Encodes a value; throws ShmError ERR_SHM_UNSERIALIZABLE for values it cannot carry. */
  encode(value: T): Uint8Array;
  /** Decodes bytes produced by encode(). The bytes may be a view into a reused buffer: copy what you keep. */
  decode(bytes: Uint8Array): T;
}
