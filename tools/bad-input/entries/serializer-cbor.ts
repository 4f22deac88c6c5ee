// Bad inputs for @shm/serializer-cbor (see ../src/table.ts): the serializer object and its factory.
import { bad, definePackage } from '../src/table.js';

type M = typeof import('@shm/serializer-cbor');

export default definePackage<M, Record<string, never>>((m) => ({
  setup: () => ({}),
  teardown() {},
  snapshot: () => null,
  entries: {
    'cbor.encode': [
      bad('type', 'a function', 'ERR_SHM_UNSERIALIZABLE', () => m.cbor.encode(() => 1)),
      bad('type', 'a symbol', 'ERR_SHM_UNSERIALIZABLE', () => m.cbor.encode(Symbol('s'))),
      bad('range', 'an own __proto__ key (its decoder would rename it)', 'ERR_SHM_UNSERIALIZABLE', () =>
        m.cbor.encode(JSON.parse('{"__proto__": 1}')),
      ),
    ],
    'cbor.decode': [
      bad('type', 'a string', 'bytes', () => m.cbor.decode('x' as never)),
      bad('type', 'null (was "Cannot read properties of null")', 'bytes', () => m.cbor.decode(null as never)),
      bad('range', 'no bytes', 'ERR_SHM_BAD_FORMAT', () => m.cbor.decode(new Uint8Array(0))),
      bad('range', 'bytes with trailing garbage', 'ERR_SHM_BAD_FORMAT', () =>
        m.cbor.decode(Buffer.from([0, 0])),
      ),
    ],
    createCborSerializer: [
      bad('type', 'a string', 'options', () => m.createCborSerializer('x' as never)),
      bad('type', 'null', 'options', () => m.createCborSerializer(null as never)),
      bad('type', 'shared structures (other processes could not decode)', 'options.structures', () =>
        m.createCborSerializer({ structures: [] } as never),
      ),
      bad('type', 'an empty name', 'options.name', () => m.createCborSerializer({ name: '' })),
      bad('range', 'id 0', 'options.id', () => m.createCborSerializer({ id: 0 })),
    ],
  },
}));
