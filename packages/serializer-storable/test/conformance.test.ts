// The shared serializer conformance suite, on the variants that round-trip JS values within Node: freeze's exact
// numbers, and booleans as Perl's immortals. (The default, nfreeze with Perl 5.36's boolean strings, carries doubles
// and big integers as strings and booleans as "1"/"", so it is checked value by value in mapping.test.ts.)
import { describeSerializer } from '@shm/test-utils';
import { createStorableSerializer } from '../src/index.js';

const common = {
  maps: false,
  sets: false,
  dates: false,
  typedArrays: false,
  cycles: true,
  undefined: 'lossy', // undef decodes as null (or, with undef: 'undefined', null comes back as undefined)
  bigint: 'lossy', // beyond 64 bits: decimal strings; within: numbers when safe
  negativeZero: true,
  nonFinite: true,
  protoKeys: true,
} as const;

describeSerializer(createStorableSerializer({ byteOrder: 'native', booleans: 'immortal' }), {
  ...common,
  buffers: 'lossy', // a Buffer is a byte string, which decodes as a latin1 string
});

describeSerializer(
  createStorableSerializer({
    byteOrder: 'native',
    booleans: 'immortal',
    byteStrings: 'buffer',
    name: 'storable-buffer',
  }),
  { ...common, buffers: true },
);
