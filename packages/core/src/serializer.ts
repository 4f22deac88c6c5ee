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
  /**
   * Optional fast path for a writer that copies the encoding at once (`Store.setValue`, `MmapShare.set`): the
   * bytes encode(value) gives, as `head` followed by `body`, without a fresh buffer. Either may be a view of memory
   * the serializer reuses, or of the value itself, and the object returned may be reused too: they are valid until
   * the next call to this serializer, so copy them before calling it again and never hand them on. Throws what
   * encode() throws.
   */
  encodeView?(value: T): EncodedView;
}

/** An encoding in two pieces, `head` then `body` (see `Serializer.encodeView`): views, valid only briefly. */
export interface EncodedView {
  /** The first bytes of the encoding (often empty, or a tag). */
  head: Uint8Array;
  /** The rest of the encoding. */
  body: Uint8Array;
}
