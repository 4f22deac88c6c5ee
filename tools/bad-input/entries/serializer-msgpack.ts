// Bad inputs for @shm/serializer-msgpack (see ../src/table.ts): the serializer object and its factory.
import { bad, definePackage } from '../src/table.js';

type M = typeof import('@shm/serializer-msgpack');

export default definePackage<M, Record<string, never>>((m) => ({
  setup: () => ({}),
  teardown() {},
  snapshot: () => null,
  entries: {
    'msgpack.encode': [
      bad('type', 'a function', 'ERR_SHM_UNSERIALIZABLE', () => m.msgpack.encode(() => 1)),
      bad('type', 'a symbol', 'ERR_SHM_UNSERIALIZABLE', () => m.msgpack.encode(Symbol('s'))),
      bad('range', 'an own __proto__ key (its decoder would rename it)', 'ERR_SHM_UNSERIALIZABLE', () =>
        m.msgpack.encode(JSON.parse('{"__proto__": 1}')),
      ),
    ],
    'msgpack.encodeView': [
      bad('type', 'a function', 'ERR_SHM_UNSERIALIZABLE', () => m.msgpack.encodeView!(() => 1)),
      bad('type', 'a symbol', 'ERR_SHM_UNSERIALIZABLE', () => m.msgpack.encodeView!(Symbol('s'))),
      bad('range', 'an own __proto__ key (its decoder would rename it)', 'ERR_SHM_UNSERIALIZABLE', () =>
        m.msgpack.encodeView!(JSON.parse('{"__proto__": 1}')),
      ),
    ],
    'msgpack.decode': [
      bad('type', 'a string', 'bytes', () => m.msgpack.decode('x' as never)),
      bad('type', 'null (was "Cannot read properties of null")', 'bytes', () =>
        m.msgpack.decode(null as never),
      ),
      bad('range', 'no bytes', 'ERR_SHM_BAD_FORMAT', () => m.msgpack.decode(new Uint8Array(0))),
      bad('range', 'bytes with trailing garbage', 'ERR_SHM_BAD_FORMAT', () =>
        m.msgpack.decode(Buffer.from([0, 0])),
      ),
    ],
    createMsgpackSerializer: [
      bad('type', 'a string', 'options', () => m.createMsgpackSerializer('x' as never)),
      bad('type', 'null', 'options', () => m.createMsgpackSerializer(null as never)),
      bad('type', 'shared structures (other processes could not decode)', 'options.structures', () =>
        m.createMsgpackSerializer({ structures: [] } as never),
      ),
      bad('type', 'an empty name', 'options.name', () => m.createMsgpackSerializer({ name: '' })),
      bad('range', 'id 0', 'options.id', () => m.createMsgpackSerializer({ id: 0 })),
    ],
  },
}));
