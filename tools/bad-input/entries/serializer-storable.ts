// Bad inputs for @shm/serializer-storable (see ../src/table.ts): the serializer, its factory, freeze/nfreeze/thaw
// and the blessing helpers. Images are untrusted input: every malformed one is ERR_SHM_BAD_FORMAT.
import { bad, definePackage } from '../src/table.js';

type M = typeof import('@shm/serializer-storable');

export default definePackage<M, Record<string, never>>((m) => {
  const image = (...b: number[]) => Uint8Array.from(b);
  const decodes = (decode: (bytes: Uint8Array) => unknown) => [
    bad('type', 'a string', 'bytes', () => decode('x' as never)),
    bad('type', 'null', 'bytes', () => decode(null as never)),
    bad('range', 'no bytes', 'ERR_SHM_BAD_FORMAT', () => decode(new Uint8Array(0))),
    bad('range', 'a wrong major version', 'ERR_SHM_BAD_FORMAT', () => decode(image(0x0f, 0x0b, 0x05))),
    bad('range', 'a truncated image', 'ERR_SHM_BAD_FORMAT', () =>
      decode(m.nfreeze({ a: 'abc' }).subarray(0, 6)),
    ),
    bad('range', 'a scalar length of 2^31', 'ERR_SHM_BAD_FORMAT', () =>
      decode(image(0x05, 0x0b, 0x01, 0x80, 0x00, 0x00, 0x00)),
    ),
  ];
  const encodes = (encode: (value: unknown) => Uint8Array) => [
    bad('type', 'a function', 'ERR_SHM_UNSERIALIZABLE', () => encode({ f: () => 1 })),
    bad('type', 'a symbol', 'ERR_SHM_UNSERIALIZABLE', () => encode(Symbol('s'))),
    bad('type', 'a Map', 'ERR_SHM_UNSERIALIZABLE', () => encode(new Map())),
  ];
  return {
    setup: () => ({}),
    teardown() {},
    snapshot: () => null,
    entries: {
      'storable.encode': encodes((v) => m.storable.encode(v)),
      'storable.encodeView': encodes((v) => m.storable.encodeView!(v).body),
      'storable.decode': decodes((b) => m.storable.decode(b)),
      nfreeze: encodes(m.nfreeze),
      freeze: encodes(m.freeze),
      thaw: [
        ...decodes((b) => m.thaw(b)),
        bad('type', 'a string for options', 'options', () => m.thaw(m.nfreeze(1), 'x' as never)),
        bad('range', "byteStrings 'ascii'", 'options.byteStrings', () =>
          m.thaw(m.nfreeze(1), { byteStrings: 'ascii' as never }),
        ),
      ],
      createStorableSerializer: [
        bad('type', 'a string', 'options', () => m.createStorableSerializer('x' as never)),
        bad('range', "byteOrder 'little'", 'options.byteOrder', () =>
          m.createStorableSerializer({ byteOrder: 'little' as never }),
        ),
        bad('range', 'maxDepth 0', 'options.maxDepth', () => m.createStorableSerializer({ maxDepth: 0 })),
        bad('type', 'an empty name', 'options.name', () => m.createStorableSerializer({ name: '' })),
        bad('range', 'id 0', 'options.id', () => m.createStorableSerializer({ id: 0 })),
      ],
      bless: [
        bad('type', 'a number for target', 'target', () => m.bless(5 as never, 'Foo')),
        bad('type', 'an empty class name', 'className', () => m.bless({}, '')),
      ],
      blessed: { accepts: 'any value: it answers undefined for what carries no class' },
      'new PerlRef': { accepts: 'any value: a reference to it' },
      'PerlRef.isInstance': { accepts: 'any value: it answers whether it is a PerlRef' },
    },
  };
});
