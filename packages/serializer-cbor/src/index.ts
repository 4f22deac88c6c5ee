export { cbor } from './cbor.js';
export { type CborSerializerOptions, createCborSerializer } from './create-cbor-serializer.js';
