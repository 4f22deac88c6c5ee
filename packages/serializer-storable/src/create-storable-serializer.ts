import { badFormatError, type EncodedView, expected, type Serializer } from '@shm/core';
import { decodeImage } from './decode.js';
import { encodeImage, newOutput } from './encode.js';
import { resolveOptions, type StorableOptions } from './options.js';

/**
 * A Serializer for Perl's Storable format. `encode` writes an image that Perl's `thaw` reads (nfreeze layout
 * by default, freeze with `byteOrder: 'native'`); `decode` reads images of `freeze`, `nfreeze` and, with their
 * "pst0" file magic, `store` and `nstore`. The README's mapping table says what becomes what.
 *
 * @throws TypeError/RangeError for bad options.
 */
export function createStorableSerializer(options?: StorableOptions): Serializer {
  const o = resolveOptions(options);
  const id = options?.id;
  if (id !== undefined && !(Number.isInteger(id) && id >= 1 && id <= 0xffffffff))
    throw expected('an integer in 1..0xffffffff', 'options.id', id, RangeError);
  const out = newOutput();
  // encodeView's own chunk, written from its start every call: a writer that copies the image at once (a store's
  // setValue) then reuses one buffer instead of taking a fresh chunk every other large encode.
  const scratch = newOutput();
  const view: EncodedView = { head: new Uint8Array(0), body: new Uint8Array(0) };
  const serializer: Serializer = {
    name: o.name,
    encode(value: unknown): Uint8Array {
      return encodeImage(value, o, out);
    },
    encodeView(value: unknown): EncodedView {
      if (!scratch.busy) scratch.start = 0;
      view.body = encodeImage(value, o, scratch);
      return view;
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array)) throw expected('a Uint8Array', 'bytes', bytes);
      if (bytes.byteLength === 0) throw badFormatError(o.name, 'empty');
      return decodeImage(bytes, o);
    },
  };
  if (id !== undefined) Object.defineProperty(serializer, 'id', { value: id, enumerable: true });
  return serializer;
}
