// The Storable binary format: the type bytes (Storable.xs's SX_* markers) and the header, as Storable 3.26
// (Debian's perl 5.36) writes and reads them. docs/decisions/0006-storable-mapping.md says what maps to what.

/** An already stored SV, by tag: a 4-byte big-endian tag follows, in both byte orders. */
export const SX_OBJECT = 0;
/** A byte string longer than 255 bytes: 4-byte length, bytes. */
export const SX_LSCALAR = 1;
/** An array: 4-byte element count, then each element. */
export const SX_ARRAY = 2;
/** A hash: 4-byte pair count, then each value followed by its key (4-byte length, bytes). */
export const SX_HASH = 3;
/** A reference: the referent follows. */
export const SX_REF = 4;
/** An undefined scalar. */
export const SX_UNDEF = 5;
/** A native integer (IV): as many bytes as the header's byte-order string has digits, in that order. */
export const SX_INTEGER = 6;
/** A native double (NV): the header's NV size, native order. */
export const SX_DOUBLE = 7;
/** A small integer: one byte, value + 128. */
export const SX_BYTE = 8;
/** A 32-bit integer in network order (nfreeze). */
export const SX_NETINT = 9;
/** A byte string of at most 255 bytes: 1-byte length, bytes. */
export const SX_SCALAR = 10;
export const SX_TIED_ARRAY = 11;
export const SX_TIED_HASH = 12;
export const SX_TIED_SCALAR = 13;
/** Perl's immortal undef (&PL_sv_undef); in an array, an element that does not exist. */
export const SX_SV_UNDEF = 14;
/** Perl's immortal true (&PL_sv_yes). */
export const SX_SV_YES = 15;
/** Perl's immortal false (&PL_sv_no). */
export const SX_SV_NO = 16;
/** The next SV is blessed into a new class: length (1 byte, or 0x80 then 4 bytes), name. */
export const SX_BLESS = 17;
/** The next SV is blessed into an already named class: index (1 byte, or 0x80 then 4 bytes). */
export const SX_IX_BLESS = 18;
/** An object frozen by its class's STORABLE_freeze hook. */
export const SX_HOOK = 19;
/** A reference to an object of a class with overloaded operators (read as SX_REF). */
export const SX_OVERLOAD = 20;
export const SX_TIED_KEY = 21;
export const SX_TIED_IDX = 22;
/** A UTF-8 string of at most 255 bytes: 1-byte length, bytes. */
export const SX_UTF8STR = 23;
/** A UTF-8 string longer than 255 bytes: 4-byte length, bytes. */
export const SX_LUTF8STR = 24;
/** A hash with flags (UTF-8 keys, restricted hashes): hash flags byte, count, then value, key flags, key. */
export const SX_FLAG_HASH = 25;
/** A code reference as Perl source ($Storable::Deparse). */
export const SX_CODE = 26;
/** A weak reference (read as SX_REF). */
export const SX_WEAKREF = 27;
/** A weak reference to an overloaded object (read as SX_REF). */
export const SX_WEAKOVERLOAD = 28;
/** v-string magic (1-byte length) attached to the string that follows. */
export const SX_VSTRING = 29;
/** v-string magic (4-byte length) attached to the string that follows. */
export const SX_LVSTRING = 30;
/** An array element set to &PL_sv_undef (an undef that exists). */
export const SX_SVUNDEF_ELEM = 31;
/** A qr// regexp (Storable 3.08+). */
export const SX_REGEXP = 32;
/** A string, array or hash of more than 2^31 - 1 elements or bytes: type byte, 8-byte length. */
export const SX_LOBJECT = 33;
/** A boolean true (Storable 3.32+, binary minor 12). */
export const SX_BOOLEAN_TRUE = 34;
/** A boolean false (Storable 3.32+, binary minor 12). */
export const SX_BOOLEAN_FALSE = 35;

/** Per-key flags of SX_FLAG_HASH. */
export const SHV_K_UTF8 = 0x01;
export const SHV_K_WASUTF8 = 0x02;
export const SHV_K_LOCKED = 0x04;
export const SHV_K_ISSV = 0x08;
export const SHV_K_PLACEHOLDER = 0x10;

/** SX_HOOK flag bits. */
export const SHF_LARGE_CLASSLEN = 0x04;
export const SHF_IDX_CLASSNAME = 0x20;
export const SHF_NEED_RECURSE = 0x40;

/** The binary major version every Storable since 0.7 writes. */
export const BIN_MAJOR = 2;
/** The binary minor this package writes: what Storable 3.x on perl 5.19+ writes (3.26 included). */
export const BIN_WRITE_MINOR = 11;
/** The highest binary minor whose type bytes this package knows (Storable 3.32 added the booleans). */
export const BIN_MINOR = 12;

/** The magic that `store`/`nstore` put before the header in files (`freeze` and `nfreeze` do not). */
export const FILE_MAGIC = [0x70, 0x73, 0x74, 0x30] as const; // "pst0"
/** The magic of Storable before 0.6 ("perl-store"), refused. */
export const OLD_FILE_MAGIC = 'perl-store';

/** A human-readable name per type byte, for error messages. */
export const TYPE_NAMES: readonly string[] = [
  'SX_OBJECT',
  'SX_LSCALAR',
  'SX_ARRAY',
  'SX_HASH',
  'SX_REF',
  'SX_UNDEF',
  'SX_INTEGER',
  'SX_DOUBLE',
  'SX_BYTE',
  'SX_NETINT',
  'SX_SCALAR',
  'SX_TIED_ARRAY',
  'SX_TIED_HASH',
  'SX_TIED_SCALAR',
  'SX_SV_UNDEF',
  'SX_SV_YES',
  'SX_SV_NO',
  'SX_BLESS',
  'SX_IX_BLESS',
  'SX_HOOK',
  'SX_OVERLOAD',
  'SX_TIED_KEY',
  'SX_TIED_IDX',
  'SX_UTF8STR',
  'SX_LUTF8STR',
  'SX_FLAG_HASH',
  'SX_CODE',
  'SX_WEAKREF',
  'SX_WEAKOVERLOAD',
  'SX_VSTRING',
  'SX_LVSTRING',
  'SX_SVUNDEF_ELEM',
  'SX_REGEXP',
  'SX_LOBJECT',
  'SX_BOOLEAN_TRUE',
  'SX_BOOLEAN_FALSE',
];
