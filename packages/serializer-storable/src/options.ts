import { expected } from '@shm/core';

/** Options of {@link createStorableSerializer} (and of `freeze`, `nfreeze` and `thaw`). */
export interface StorableOptions {
  /**
   * What `encode` writes: `'network'` (default) is `nfreeze`: portable, the header carries no sizes, and doubles
   * and integers beyond 32 bits are decimal strings, as Perl's nfreeze writes them. `'native'` is `freeze` on a
   * 64-bit perl: exact 8-byte integers and doubles, readable by a perl with this machine's byte order, 8-byte
   * integers and pointers (Debian's, for instance). `decode` reads both, whatever this option says.
   */
  byteOrder?: 'network' | 'native';
  /**
   * How Perl's byte strings (strings without the UTF-8 flag) map to JS. Default `'latin1'`.
   * - `'latin1'`: a byte string is the JS string of the same characters, U+0000 to U+00FF (Perl's own view:
   *   `"caf\xe9" eq "café"`). Encode writes a JS string as a byte string when every character is below U+0100,
   *   else as a UTF-8 string.
   * - `'utf8'`: byte strings hold UTF-8 text (Perl code that never decodes its input): decode reads them as
   *   UTF-8, and a byte string that is not valid UTF-8 comes back as a Buffer. Encode writes every JS string as
   *   its UTF-8 bytes without the flag, keys included.
   * - `'buffer'`: byte strings are binary data: they decode as Buffers (hash keys, always strings, as latin1).
   *   Encode writes every JS string with the UTF-8 flag, so strings and Buffers keep their type both ways.
   *
   * In every mode a Uint8Array or Buffer encodes as a byte string, and a UTF-8 string decodes as a JS string.
   */
  byteStrings?: 'latin1' | 'utf8' | 'buffer';
  /** What Perl's undef decodes to: `'null'` (default, as JSON would have it) or `'undefined'`. */
  undef?: 'null' | 'undefined';
  /**
   * How JS booleans encode. `'perl'` (default): as Perl 5.36's own freeze writes `!!1` and `!!0`, the strings
   * `"1"` and `""`, which decode as those strings. `'immortal'`: as Perl's `&PL_sv_yes`/`&PL_sv_no`, which decode
   * as `true`/`false` again, but which Perl thaws as read-only values: assigning to such a hash value or array
   * element croaks ("Modification of a read-only value attempted"). Decode always turns `&PL_sv_yes`/`&PL_sv_no`
   * and Storable 3.32's booleans into `true`/`false`.
   */
  booleans?: 'perl' | 'immortal';
  /**
   * The deepest nesting of arrays and hashes (each counts one level, references between them none) that encode
   * and decode accept. Default 10,000; deeper values throw ERR_SHM_UNSERIALIZABLE, deeper images
   * ERR_SHM_BAD_FORMAT. Both use an explicit stack, so no limit can overflow the JS stack. (Perl's own freeze
   * refuses more than 512 nested arrays or 256 nested hashes unless `$Storable::recursion_limit` is raised.)
   */
  maxDepth?: number;
  /** The serializer's name, recorded with each value by stores that record one. Default `'storable'`. */
  name?: string;
  /** A fixed id (1..0xffffffff) instead of the hash of `name`. */
  id?: number;
}

/** Options resolved once per serializer, in the form the encoder and decoder read on their hot paths. */
export interface Resolved {
  name: string;
  network: boolean;
  /** 0 latin1, 1 utf8, 2 buffer. */
  strings: 0 | 1 | 2;
  undefValue: null | undefined;
  immortalBooleans: boolean;
  maxDepth: number;
}

const DEFAULT_MAX_DEPTH = 10_000;

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  throw expected(allowed.map((a) => `'${a}'`).join(' or '), name, v);
}

/** Checks and resolves the options. @throws TypeError/RangeError naming the bad option. */
export function resolveOptions(options: StorableOptions | undefined): Resolved {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw expected('an options object', 'options', options);
  }
  const name = options.name ?? 'storable';
  if (typeof name !== 'string' || name === '') throw expected('a non-empty string', 'options.name', name);
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (typeof maxDepth !== 'number' || !Number.isInteger(maxDepth)) {
    throw expected('an integer', 'options.maxDepth', maxDepth);
  }
  if (maxDepth < 1 || maxDepth > 0x7fffffff) {
    throw expected('an integer from 1 to 2147483647', 'options.maxDepth', maxDepth, RangeError);
  }
  const strings = oneOf(options.byteStrings, 'options.byteStrings', ['latin1', 'utf8', 'buffer'], 'latin1');
  return {
    name,
    network: oneOf(options.byteOrder, 'options.byteOrder', ['network', 'native'], 'network') === 'network',
    strings: strings === 'latin1' ? 0 : strings === 'utf8' ? 1 : 2,
    undefValue:
      oneOf(options.undef, 'options.undef', ['null', 'undefined'], 'null') === 'null' ? null : undefined,
    immortalBooleans:
      oneOf(options.booleans, 'options.booleans', ['perl', 'immortal'], 'perl') === 'immortal',
    maxDepth,
  };
}
