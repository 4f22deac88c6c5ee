import { expected } from '@shm/core';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE } from './constants.js';

/** A key as IPC::ShareLite accepts it: an integer, a numeric string, a string of up to four bytes, or nothing. */
export type ShareLiteKey = number | string | null | undefined;

const UV_MAX = (1n << 64n) - 1n;
const NUMERIC = /^[0-9]+\n?$/;

/**
 * Derives the SysV key exactly as ShareLite.pm does (PERL-FORMATS.md §8):
 * - a false value (undefined, null, '', '0', 0) is IPC_PRIVATE;
 * - a string matching /^\d+$/ (a trailing "\n" allowed) is a number: SvIV, then truncated to a 32-bit key_t;
 * - any other string of at most four 8-bit characters is `unpack('i', pack('A4', $s))`: padded with spaces and
 *   read as a little-endian int32 (first character = least significant byte);
 * - a Perl number is first stringified, so a negative integer such as -1 takes the string path ("-1  ").
 *
 * Deviations, all rejections of input Perl would silently turn into a surprising key: non-integer numbers,
 * and strings of Unicode (non-ASCII) digits, which Perl's \d accepts and SvIV turns into 0 (IPC_PRIVATE).
 * @throws TypeError for a value that is not a number or string; RangeError for a string longer than four
 *   characters, a character above U+00FF, or a number that is not a safe integer.
 */
export function deriveKey(key: ShareLiteKey, name = 'key'): number {
  if (key === undefined || key === null) return IPC_PRIVATE;
  let s: string;
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) {
      throw expected('a safe integer or a string of at most four characters', name, key, RangeError);
    }
    s = String(key);
  } else if (typeof key === 'string') {
    s = key;
  } else {
    throw expected('an integer or a string of at most four characters', name, key);
  }
  // Perl: $args->{key} || IPC_PRIVATE. '' and '0' are false.
  if (s === '' || s === '0') return IPC_PRIVATE;
  if (NUMERIC.test(s)) {
    const v = BigInt(s.endsWith('\n') ? s.slice(0, -1) : s);
    // SvIV saturates beyond UV_MAX (IV_MAX or UV_MAX: both truncate to -1 as an int32).
    return v > UV_MAX ? -1 : Number(BigInt.asIntN(32, v));
  }
  if (/^\p{Nd}+\n?$/u.test(s)) {
    throw expected(
      'ASCII digits (Perl would turn other digits into key 0 = IPC_PRIVATE)',
      name,
      key,
      RangeError,
    );
  }
  if (s.length > 4) {
    throw expected('a number or a string of at most four characters', name, key, RangeError);
  }
  let k = 0;
  for (let i = 0; i < 4; i++) {
    const ch = i < s.length ? s.charCodeAt(i) : 0x20;
    if (ch > 0xff) throw expected('an 8-bit clean string (characters up to U+00FF)', name, key, RangeError);
    k |= ch << (8 * i);
  }
  return k | 0;
}

/** Perl's 'yes'/'no'/1/0 flags, plus booleans. */
export function parseYesNo(v: unknown, name: string): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  if (v === 0 || v === 1) return v === 1;
  if (typeof v === 'string') {
    const l = v.toLowerCase();
    if (l === 'yes' || l === '1') return true;
    if (l === 'no' || l === '0' || l === '') return false;
  }
  throw expected("true, false, 1, 0, 'yes' or 'no'", name, v);
}

/** Options of `new ShareLite()`. Perl's `-key`, `-create`, ... spellings are accepted as well. */
export interface ShareLiteOptions {
  /**
   * The share's key: an integer, a numeric string, or a string of at most four 8-bit characters (derived as
   * Perl does: 'test' is 0x74736574). Omitted, undefined, 0, '0' or '' mean IPC_PRIVATE: a share only this
   * process can use. `glue` is a synonym, as in Perl.
   */
  key?: ShareLiteKey;
  /** Synonym for `key` (Perl's `-glue`). */
  glue?: ShareLiteKey;
  /** Create the share if it does not exist. Default false: opening a missing share throws ENOENT. */
  create?: boolean | 0 | 1 | 'yes' | 'no';
  /** Remove the share (every segment and the semaphore set) when this handle is closed. Default false. */
  destroy?: boolean | 0 | 1 | 'yes' | 'no';
  /** Fail with EEXIST if the share exists (implies create). Default false. */
  exclusive?: boolean | 0 | 1 | 'yes' | 'no';
  /** Permission bits of the semaphore set and every segment. Default 0o666 (Perl's default); 0 also means 0o666. */
  mode?: number;
  /**
   * Exact semget/shmget flags. When non-zero, `mode` is ignored and only create/exclusive are ORed in, as in
   * Perl, so include the permission bits yourself (e.g. `IPC_CREAT | 0o600`).
   */
  flags?: number;
  /**
   * Segment size in bytes, header included. Default 0, which means 65536 (as does anything up to 16). Only the
   * creator's size counts: an opener asking for less gets the real size, one asking for more gets EINVAL.
   */
  size?: number;
}

export interface ParsedOptions {
  key: number;
  destroy: boolean;
  /** The flags passed to semget and shmget. */
  flags: number;
  create: boolean;
  exclusive: boolean;
  mode: number;
  /** As requested (0 by default), like Perl's $share->size. */
  size: number;
}

const NAMES = ['key', 'create', 'destroy', 'exclusive', 'mode', 'flags', 'size', 'glue'] as const;

function normalise(opts: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(opts)) {
    const n = k.startsWith('-') ? k.slice(1).toLowerCase() : k;
    if (!(NAMES as readonly string[]).includes(n))
      throw expected(`one of ${NAMES.join(', ')}`, 'option name', k);
    out[n] = v;
  }
  return out;
}

/** Turns the named or positional constructor arguments into flags, as ShareLite.pm's _initialize does. */
export function parseArgs(args: unknown[]): ParsedOptions {
  let o: Record<string, unknown>;
  const first = args[0];
  if (args.length === 1 && typeof first === 'object' && first !== null) {
    o = normalise(first);
  } else if (args.length === 0) {
    o = {};
  } else {
    if (args.length > 7)
      throw expected('at most 7 positional arguments', 'new ShareLite()', args.length, RangeError);
    o = {};
    args.forEach((v, i) => {
      o[NAMES[i]!] = v;
    });
  }
  const create = parseYesNo(o.create, 'create');
  const exclusive = parseYesNo(o.exclusive, 'exclusive');
  const destroy = parseYesNo(o.destroy, 'destroy');
  // $args->{key} || $args->{glue} || IPC_PRIVATE
  const k = deriveKey(o.key as ShareLiteKey);
  const key = k !== IPC_PRIVATE ? k : deriveKey(o.glue as ShareLiteKey, 'glue');
  const flagsIn = intOpt(o.flags, 'flags', 0, 0x7fffffff);
  const modeIn = intOpt(o.mode, 'mode', 0, 0o777);
  const size = intOpt(o.size, 'size', 0, 0x7fffffff);
  const mode = flagsIn ? 0 : modeIn || 0o666;
  const flags = flagsIn | (exclusive ? IPC_EXCL | IPC_CREAT : 0) | (create ? IPC_CREAT : 0) | mode;
  return {
    key,
    destroy,
    flags,
    create: create || exclusive,
    exclusive,
    mode: flagsIn ? flagsIn & 0o777 : mode,
    size,
  };
}

function intOpt(v: unknown, name: string, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw expected('an integer', name, v);
  if (v < min || v > max) throw expected(`an integer from ${min} to ${max}`, name, v, RangeError);
  return v;
}
