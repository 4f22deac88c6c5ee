export { createMsgpackSerializer, type MsgpackSerializerOptions } from './create-msgpack-serializer.js';
export { msgpack } from './msgpack.js';
