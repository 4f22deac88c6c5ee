import { createMsgpackSerializer } from './create-msgpack-serializer.js';

/** Plain MessagePack (name 'msgpack'): no records, moreTypes on, decoded binaries copied. See the README. */
export const msgpack = createMsgpackSerializer();
