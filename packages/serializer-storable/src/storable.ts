import type { Serializer } from '@shm/core';
import { createStorableSerializer } from './create-storable-serializer.js';
import type { StorableOptions } from './options.js';

/**
 * The Storable serializer with the defaults: encodes as Perl's `nfreeze`, decodes any image, byte strings as
 * latin1 JS strings, undef as null (name `'storable'`).
 */
export const storable: Serializer = createStorableSerializer();

const nativeStorable = createStorableSerializer({ byteOrder: 'native' });

/** Perl's `nfreeze`: the image of `value` in network order, with the default options. Same as `storable.encode`. */
export function nfreeze(value: unknown): Uint8Array {
  return storable.encode(value);
}

/** Perl's `freeze`: the image of `value` in this machine's order (for a 64-bit perl on this platform). */
export function freeze(value: unknown): Uint8Array {
  return nativeStorable.encode(value);
}

/**
 * Perl's `thaw`: the value of an image of `freeze`, `nfreeze`, `store` or `nstore`. Without options, as
 * `storable.decode`; options other than the defaults make a serializer per call (keep one with
 * `createStorableSerializer` when calling often).
 */
export function thaw(bytes: Uint8Array, options?: StorableOptions): unknown {
  return (options === undefined ? storable : createStorableSerializer(options)).decode(bytes);
}
