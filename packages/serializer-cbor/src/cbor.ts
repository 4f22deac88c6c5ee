import { createCborSerializer } from './create-cbor-serializer.js';

/** Standard CBOR (name 'cbor'): no records, decoded binaries copied. See the README. */
export const cbor = createCborSerializer();
