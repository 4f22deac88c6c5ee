export { type BuiltinSerializerName, getSerializer } from './get-serializer.js';
export { json } from './json.js';
export { serializerName } from './known-serializers.js';
export { type RawValue, raw } from './raw.js';
export {
  badFormatError,
  describeType,
  messageOf,
  protoKeyError,
  unserializableError,
} from './serializer-errors.js';
export { serializerId } from './serializer-id.js';
export { serializerMismatchError } from './serializer-mismatch-error.js';
export { v8 } from './v8.js';
