// Decodes a Storable image (freeze, nfreeze, store, nstore) into JS values. Every length is checked against the
// bytes that remain before anything is allocated, nesting lives on an explicit stack (no recursion, so no image
// can overflow the JS stack), and every loop iteration consumes at least one byte, so no image can make it hang.
// The tag bookkeeping mirrors Storable.xs's retrieve(): every SV it SEEN()s gets the next tag.
import { isUtf8 } from 'node:buffer';
import { badFormatError, type ShmError, unserializableError } from '@shm/core';
import { BIN_MAJOR, TYPE_NAMES } from './opcodes.js';
import type { Resolved } from './options.js';
import { PERL_CLASS, PerlRef } from './perl-ref.js';

/** A malformed image (ERR_SHM_BAD_FORMAT) or a valid one holding what JS cannot (ERR_SHM_UNSERIALIZABLE). */
class DecodeFailure {
  constructor(
    readonly unsupported: boolean,
    readonly detail: string,
    readonly at: number,
  ) {}
}

const malformed = (detail: string, at: number) => new DecodeFailure(false, detail, at);
const unsupported = (what: string, at: number) => new DecodeFailure(true, what, at);

/** What the header says. */
interface Header {
  /** Offset of the first type byte. */
  start: number;
  network: boolean;
  minor: number;
  /** Lengths and native numbers are little-endian (native images only). */
  le: boolean;
  /** sizeof(IV): 4 or 8 (native images only). */
  ivSize: number;
  /** sizeof(NV) (native images only). */
  nvSize: number;
}

const MACHINE_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

/**
 * Scratch state reused by every decode (decode runs no user code, so it never re-enters): the tag table and the
 * explicit stack. Reusing them saves growing fresh arrays of 100k entries per large image. Cleared after each use.
 */
const seenScratch: any[] = [];
const stack = {
  sKind: [] as number[],
  sObj: [] as any[],
  sLeft: [] as number[],
  sTotal: [] as number[],
  sOut: [] as any[],
  sTag: [] as number[],
  sHops: [] as number[],
};

/** Tag state of an RV whose referent has not been read yet. */
const UNSET: any = { unset: true };

// Frame kinds of the explicit stack.
const K_ARRAY = 0;
const K_HASH = 1;
const K_FLAG_HASH = 2;
/** A reference whose referent is being read (a chain of references collapses into one frame). */
const K_REF = 3;

// What the root SV (tag 0) is; decode returns it by rule R (see the README's mapping).
const ROOT_SCALAR = 0;
const ROOT_CONTAINER = 1;
const ROOT_REF = 2;

/** Buffer's native slicers, which `toString(encoding, start, end)` calls after checking its arguments. */
interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/** The one Buffer view of the input, made on first need (for the native string decoders). */
let viewSrc: Uint8Array | undefined;
let viewBuf: FastBuffer | undefined;
function bufferOf(u8: Uint8Array): FastBuffer {
  if (u8 !== viewSrc) {
    viewSrc = u8;
    viewBuf = (Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength)) as FastBuffer;
  }
  return viewBuf!;
}

function parseHeader(u8: Uint8Array, n: number): Header {
  let p = 0;
  if (n === 0) throw malformed('empty', 0);
  if (n >= 4 && u8[0] === 0x70 && u8[1] === 0x73 && u8[2] === 0x74 && u8[3] === 0x30)
    p = 4; // "pst0"
  else if (n >= 10 && u8[0] === 0x70 && latin1(u8, 0, 10) === 'perl-store') {
    throw malformed('an image of Storable before 0.6 (magic "perl-store"), which only Storable 0.5 reads', 0);
  }
  if (p + 2 > n) throw malformed('truncated header', p);
  const b = u8[p++]!;
  const major = b >> 1;
  const network = (b & 1) === 1;
  if (major !== BIN_MAJOR) {
    throw malformed(
      `binary format version ${major} (first byte 0x${b.toString(16).padStart(2, '0')}): only version 2 ` +
        '(Storable 0.7 to 3.x) is read; is this a Storable image?',
      p - 1,
    );
  }
  const minor = u8[p++]!;
  if (network) return { start: p, network, minor, le: false, ivSize: 8, nvSize: 8 };
  if (p >= n) throw malformed('truncated header', p);
  const c = u8[p++]!;
  const rest = c + 3 + (minor >= 2 ? 1 : 0);
  if (p + rest > n) throw malformed('truncated header', p);
  // "12345678" / "1234" little-endian, "87654321" / "4321" big-endian (compared as bytes: this runs per decode).
  let le: boolean;
  if (c === 8 || c === 4) {
    let asc = true;
    let desc = true;
    for (let i = 0; i < c; i++) {
      if (u8[p + i] !== 0x31 + i) asc = false;
      if (u8[p + i] !== 0x30 + c - i) desc = false;
    }
    if (!asc && !desc) throw malformed(`native byte order ${JSON.stringify(latin1(u8, p, p + c))}`, p);
    le = asc;
  } else
    throw malformed(
      `native byte order ${JSON.stringify(latin1(u8, p, p + c))} (only 1234, 12345678, 4321, 87654321)`,
      p,
    );
  p += c;
  const intSize = u8[p++]!;
  if (intSize !== 4) throw malformed(`native int size ${intSize} (only 4)`, p - 1);
  p += 2; // sizeof(long), sizeof(char *): nothing in the image depends on them
  const nvSize = minor >= 2 ? u8[p++]! : 8;
  return { start: p, network, minor, le, ivSize: c, nvSize };
}

/**
 * Bytes [s, e) as the JS string of the same code points (U+0000..U+00FF). Short ones with one fromCharCode call
 * (a loop of `+=` made a string per character: most of the decode time went to collecting them), longer ones
 * natively (measured: Buffer#latin1Slice costs ~70 ns at any length, fromCharCode.apply of a view 2-3x more).
 */
function latin1(u8: Uint8Array, s: number, e: number): string {
  const f = String.fromCharCode;
  const len = e - s;
  switch (len) {
    case 0:
      return '';
    case 1:
      return f(u8[s]!);
    case 2:
      return f(u8[s]!, u8[s + 1]!);
    case 3:
      return f(u8[s]!, u8[s + 1]!, u8[s + 2]!);
    case 4:
      return f(u8[s]!, u8[s + 1]!, u8[s + 2]!, u8[s + 3]!);
    case 5:
      return f(u8[s]!, u8[s + 1]!, u8[s + 2]!, u8[s + 3]!, u8[s + 4]!);
    case 6:
      return f(u8[s]!, u8[s + 1]!, u8[s + 2]!, u8[s + 3]!, u8[s + 4]!, u8[s + 5]!);
    case 7:
      return f(u8[s]!, u8[s + 1]!, u8[s + 2]!, u8[s + 3]!, u8[s + 4]!, u8[s + 5]!, u8[s + 6]!);
    case 8:
      return f(u8[s]!, u8[s + 1]!, u8[s + 2]!, u8[s + 3]!, u8[s + 4]!, u8[s + 5]!, u8[s + 6]!, u8[s + 7]!);
    case 9:
      return f(
        u8[s]!,
        u8[s + 1]!,
        u8[s + 2]!,
        u8[s + 3]!,
        u8[s + 4]!,
        u8[s + 5]!,
        u8[s + 6]!,
        u8[s + 7]!,
        u8[s + 8]!,
      );
    case 10:
      return f(
        u8[s]!,
        u8[s + 1]!,
        u8[s + 2]!,
        u8[s + 3]!,
        u8[s + 4]!,
        u8[s + 5]!,
        u8[s + 6]!,
        u8[s + 7]!,
        u8[s + 8]!,
        u8[s + 9]!,
      );
    case 11:
      return f(
        u8[s]!,
        u8[s + 1]!,
        u8[s + 2]!,
        u8[s + 3]!,
        u8[s + 4]!,
        u8[s + 5]!,
        u8[s + 6]!,
        u8[s + 7]!,
        u8[s + 8]!,
        u8[s + 9]!,
        u8[s + 10]!,
      );
    case 12:
      return f(
        u8[s]!,
        u8[s + 1]!,
        u8[s + 2]!,
        u8[s + 3]!,
        u8[s + 4]!,
        u8[s + 5]!,
        u8[s + 6]!,
        u8[s + 7]!,
        u8[s + 8]!,
        u8[s + 9]!,
        u8[s + 10]!,
        u8[s + 11]!,
      );
    default:
      return bufferOf(u8).latin1Slice(s, e);
  }
}

/** Whether bytes [s, e) are all ASCII. */
function ascii(u8: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (u8[i]! >= 0x80) return false;
  return true;
}

// Hash keys repeat (an array of records has the same few keys thousands of times): short keys go through a cache
// indexed by a hash of their bytes, so each is made once per decode and V8 sees the same key strings every time.
const KEY_SLOTS = 4096;
const MAX_CACHED_KEY = 24;
const cacheKeys: (string | undefined)[] = new Array(KEY_SLOTS).fill(undefined);
const cacheBytes = new Uint8Array(KEY_SLOTS * MAX_CACHED_KEY);
const cacheLens = new Uint8Array(KEY_SLOTS);

/** A latin1 (or, with `asUtf8`, UTF-8) hash key, through the cache when short. */
function cachedKey(u8: Uint8Array, s: number, e: number, asUtf8: boolean): string {
  const len = e - s;
  if (len > MAX_CACHED_KEY) return asUtf8 ? utf8(u8, s, e) : latin1(u8, s, e);
  let h = len;
  for (let i = s; i < e; i++) h = Math.imul(h ^ u8[i]!, 0x9e3779b1);
  const slot = ((h >>> 19) ^ (asUtf8 ? 0x800 : 0)) & (KEY_SLOTS - 1);
  const cached = cacheKeys[slot];
  if (cached !== undefined && cacheLens[slot] === len) {
    const base = slot * MAX_CACHED_KEY;
    let i = 0;
    while (i < len && cacheBytes[base + i] === u8[s + i]) i++;
    if (i === len) return cached;
  }
  const key = asUtf8 ? utf8(u8, s, e) : latin1(u8, s, e);
  cacheKeys[slot] = key;
  cacheLens[slot] = len;
  cacheBytes.set(u8.subarray(s, e), slot * MAX_CACHED_KEY);
  return key;
}

/** Bytes [s, e) decoded as UTF-8 (ill-formed sequences become U+FFFD, as Buffer#toString does). */
function utf8(u8: Uint8Array, s: number, e: number): string {
  if (e - s <= 32 && ascii(u8, s, e)) return latin1(u8, s, e);
  return bufferOf(u8).utf8Slice(s, e);
}

/** A copy of bytes [s, e) as a Buffer (decoded values never alias the input). */
function bytesOf(u8: Uint8Array, s: number, e: number): Buffer {
  const b = Buffer.allocUnsafe(e - s);
  b.set(u8.subarray(s, e));
  return b;
}

/** A string without the UTF-8 flag, as `mode` maps it. */
function byteString(u8: Uint8Array, s: number, e: number, mode: number): string | Buffer {
  if (mode === 0) return latin1(u8, s, e);
  if (mode === 2) return bytesOf(u8, s, e);
  for (let i = s; i < e; i++) {
    if (u8[i]! >= 0x80) return isUtf8(u8.subarray(s, e)) ? bufferOf(u8).utf8Slice(s, e) : bytesOf(u8, s, e);
  }
  return latin1(u8, s, e);
}

/** A hash key without the UTF-8 flag: latin1, or UTF-8 when valid in mode 'utf8'. */
function byteKey(u8: Uint8Array, s: number, e: number, mode: number): string {
  if (mode === 1 && !ascii(u8, s, e) && isUtf8(u8.subarray(s, e))) return cachedKey(u8, s, e, true);
  return cachedKey(u8, s, e, false);
}

/** A class name: UTF-8 when valid (how perl keeps non-ASCII package names), else latin1. */
function className(u8: Uint8Array, s: number, e: number): string {
  for (let i = s; i < e; i++) {
    if (u8[i]! >= 0x80) return isUtf8(u8.subarray(s, e)) ? bufferOf(u8).utf8Slice(s, e) : latin1(u8, s, e);
  }
  return latin1(u8, s, e);
}

function setProto(obj: object, key: string, value: unknown): void {
  // A plain assignment would call the __proto__ setter and change the object's prototype.
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

function blessInto(target: object, cls: string): void {
  Object.defineProperty(target, PERL_CLASS, { value: cls, writable: true, configurable: true });
}

// What each tag is, for refTo(): a reference to a container is the container, to anything else a PerlRef. A
// scratch array reused by every decode (it only grows), since tags never outnumber the image's bytes.
const T_SCALAR = 0;
const T_CONTAINER = 1;
const T_RV = 2;
let kindsScratch = new Uint8Array(1024);

/** A reference to the SV with tag u: its container, or its PerlRef (made on first need, then kept in `refs`). */
function refTo(
  seen: any[],
  kinds: Uint8Array,
  refs: Map<number, PerlRef>,
  classes: Map<number, string> | undefined,
  u: number,
): any {
  if (kinds[u] === T_CONTAINER) return seen[u];
  let r = refs.get(u);
  if (r === undefined) {
    const v = seen[u];
    r = new PerlRef(v === UNSET ? undefined : v);
    const c = classes?.get(u);
    if (c !== undefined) blessInto(r, c);
    refs.set(u, r);
  }
  return r;
}

function typeName(t: number): string {
  return TYPE_NAMES[t] ?? `0x${t.toString(16).padStart(2, '0')}`;
}

/**
 * Decodes one Storable image. `o` are the serializer's resolved options.
 * @throws ShmError ERR_SHM_BAD_FORMAT (malformed, truncated, trailing bytes, too deep) or ERR_SHM_UNSERIALIZABLE
 *   (code refs, tied variables, STORABLE_freeze hooks, regexps...), naming the byte offset and the path.
 */
export function decodeImage(bytes: Uint8Array, o: Resolved): unknown {
  const u8 = bytes;
  const n = u8.length;
  const mode = o.strings;
  const undef = o.undefValue;
  const maxDepth = o.maxDepth;
  // Tag -> the SV as an element (container, scalar value, or for an RV what it refers to).
  const seen = seenScratch;
  let ntags = 0;
  // Tag -> what a reference to that SV is in JS: the container itself, or a PerlRef (made on first need).
  const refs = new Map<number, PerlRef>();
  // PerlRefs made for references whose referent was not read yet (a reference cycle): resolved later.
  let pending = 0;
  if (kindsScratch.length <= n) kindsScratch = new Uint8Array(Math.max(2 * kindsScratch.length, n + 1));
  const kinds = kindsScratch;
  let classes: Map<number, string> | undefined;
  const classNames: string[] = [];
  let pendingClass: string | undefined;
  // The explicit stack.
  const { sKind, sObj, sLeft, sTotal, sOut, sTag, sHops } = stack;
  let maxSp = 0;
  let sp = 0;
  let depth = 0;
  let rootKind = ROOT_SCALAR;
  let pos = 0;
  let le = false;
  let network = true;
  let ivSize = 8;
  let nvSize = 8;
  let minor = 0;

  try {
    const h = parseHeader(u8, n);
    pos = h.start;
    le = h.le;
    network = h.network;
    ivSize = h.ivSize;
    nvSize = h.nvSize;
    minor = h.minor;
    const lenLE = !network && le;

    main: for (;;) {
      if (pos >= n) throw malformed('truncated: the image ends inside a value', pos);
      let t = u8[pos++]!;
      let big = -1; // a length given by SX_LOBJECT
      if (t === 33) {
        // SX_LOBJECT <type> [<hash flags>] <8-byte length>
        if (pos >= n) throw malformed('truncated SX_LOBJECT', pos);
        t = u8[pos++]!;
        if (t === 19) throw unsupported('an object frozen by a STORABLE_freeze hook (SX_HOOK)', pos - 1);
        if (t !== 1 && t !== 24 && t !== 2 && t !== 3 && t !== 25 && t !== 0) {
          throw malformed(`SX_LOBJECT of ${typeName(t)}`, pos - 1);
        }
        const flagBytes = t === 25 ? 1 : 0;
        if (pos + 8 + flagBytes > n) throw malformed('truncated SX_LOBJECT', pos);
        const p = pos + flagBytes;
        let hi: number;
        let lo: number;
        if (lenLE) {
          lo = (u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24)) >>> 0;
          hi = (u8[p + 4]! | (u8[p + 5]! << 8) | (u8[p + 6]! << 16) | (u8[p + 7]! << 24)) >>> 0;
        } else {
          hi = ((u8[p]! << 24) | (u8[p + 1]! << 16) | (u8[p + 2]! << 8) | u8[p + 3]!) >>> 0;
          lo = ((u8[p + 4]! << 24) | (u8[p + 5]! << 16) | (u8[p + 6]! << 8) | u8[p + 7]!) >>> 0;
        }
        big = hi * 4294967296 + lo;
        if (hi >= 0x200000 || big > n) {
          throw malformed(`SX_LOBJECT length ${hi >= 0x200000 ? 'above 2^53' : big} exceeds the image`, p);
        }
        if (t === 25) {
          // The flags byte sits before the length; the hash reads it below from pos - 1.
          pos = p + 8;
        } else pos += 8;
      }

      let v: any;
      let scalar = true; // a new scalar SV (it takes a tag); else an element without a new tag
      switch (t) {
        case 8: // SX_BYTE
          if (pos >= n) throw malformed('truncated SX_BYTE', pos);
          v = u8[pos++]! - 128;
          break;
        case 10: // SX_SCALAR
        case 23: {
          // SX_UTF8STR
          if (pos >= n) throw malformed(`truncated ${typeName(t)}`, pos);
          const len = u8[pos++]!;
          if (pos + len > n) throw malformed(`${typeName(t)} of ${len} bytes exceeds the image`, pos - 1);
          v = t === 10 ? byteString(u8, pos, pos + len, mode) : utf8(u8, pos, pos + len);
          pos += len;
          break;
        }
        case 1: // SX_LSCALAR
        case 24: {
          // SX_LUTF8STR
          let len = big;
          if (len < 0) {
            if (pos + 4 > n) throw malformed(`truncated ${typeName(t)}`, pos);
            len = lenLE
              ? (u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24)) >>> 0
              : ((u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!) >>> 0;
            pos += 4;
          }
          if (len > n - pos) throw malformed(`${typeName(t)} of ${len} bytes exceeds the image`, pos - 4);
          v = t === 1 ? byteString(u8, pos, pos + len, mode) : utf8(u8, pos, pos + len);
          pos += len;
          break;
        }
        case 9: // SX_NETINT
          if (pos + 4 > n) throw malformed('truncated SX_NETINT', pos);
          v = (u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!;
          pos += 4;
          break;
        case 6: {
          // SX_INTEGER: a native IV
          if (network) throw malformed('SX_INTEGER (a native integer) in a network-order image', pos - 1);
          if (pos + ivSize > n) throw malformed('truncated SX_INTEGER', pos);
          const p = pos;
          pos += ivSize;
          if (ivSize === 4) {
            v = le
              ? u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24)
              : (u8[p]! << 24) | (u8[p + 1]! << 16) | (u8[p + 2]! << 8) | u8[p + 3]!;
            break;
          }
          let lo: number;
          let hi: number;
          if (le) {
            lo = (u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24)) >>> 0;
            hi = u8[p + 4]! | (u8[p + 5]! << 8) | (u8[p + 6]! << 16) | (u8[p + 7]! << 24);
          } else {
            hi = (u8[p]! << 24) | (u8[p + 1]! << 16) | (u8[p + 2]! << 8) | u8[p + 3]!;
            lo = ((u8[p + 4]! << 24) | (u8[p + 5]! << 16) | (u8[p + 6]! << 8) | u8[p + 7]!) >>> 0;
          }
          // Safe integers (|v| < 2^53) are numbers; anything else a BigInt, never rounded.
          if (hi > -0x200000 && hi < 0x200000) v = hi * 4294967296 + lo;
          else if (hi === -0x200000 && lo !== 0) v = hi * 4294967296 + lo;
          else v = (BigInt(hi) << 32n) + BigInt(lo);
          break;
        }
        case 7: {
          // SX_DOUBLE: a native NV
          if (network) throw malformed('SX_DOUBLE (a native double) in a network-order image', pos - 1);
          if (nvSize !== 8) {
            throw unsupported(`a ${nvSize}-byte native double (a perl built with long doubles)`, pos - 1);
          }
          if (pos + 8 > n) throw malformed('truncated SX_DOUBLE', pos);
          if (le === MACHINE_LE) for (let i = 0; i < 8; i++) f64b[i] = u8[pos + i]!;
          else for (let i = 0; i < 8; i++) f64b[i] = u8[pos + 7 - i]!;
          v = f64[0];
          pos += 8;
          break;
        }
        case 5: // SX_UNDEF
        case 14: // SX_SV_UNDEF
        case 31: // SX_SVUNDEF_ELEM
          v = undef;
          break;
        case 15: // SX_SV_YES
        case 34: // SX_BOOLEAN_TRUE
          v = true;
          break;
        case 16: // SX_SV_NO
        case 35: // SX_BOOLEAN_FALSE
          v = false;
          break;
        case 4: // SX_REF
        case 27: // SX_WEAKREF
        case 20: // SX_OVERLOAD
        case 28: {
          // SX_WEAKOVERLOAD
          const tag = ntags++;
          if (tag < seen.length) seen[tag] = UNSET;
          else seen.push(UNSET);
          kinds[tag] = T_RV;
          if (pendingClass !== undefined) {
            (classes ??= new Map()).set(tag, pendingClass);
            pendingClass = undefined;
          }
          if (tag === 0) rootKind = ROOT_REF;
          if (sp > 0 && sKind[sp - 1] === K_REF) {
            // A reference to a reference: the outer one is a PerlRef around this one; one frame for the chain.
            const f = refTo(seen, kinds, refs, classes, tag);
            pending++;
            const outer = sTag[sp - 1]!;
            seen[outer] = f;
            const pr = refs.get(outer);
            if (pr !== undefined) pr.value = f;
            sTag[sp - 1] = tag;
            if (sOut[sp - 1] === undefined) sOut[sp - 1] = f;
            sHops[sp - 1]!++;
          } else {
            sKind[sp] = K_REF;
            sObj[sp] = undefined;
            sLeft[sp] = 1;
            sTotal[sp] = 1;
            sTag[sp] = tag;
            sOut[sp] = undefined;
            sHops[sp] = 0;
            if (++sp > maxSp) maxSp = sp;
          }
          continue main;
        }
        case 2: // SX_ARRAY
        case 3: // SX_HASH
        case 25: {
          // SX_FLAG_HASH
          if (t === 25) {
            // The hash flags byte (restricted or not) changes nothing here.
            if (big < 0) {
              if (pos >= n) throw malformed('truncated SX_FLAG_HASH', pos);
              pos++;
            }
          }
          let len = big;
          if (len < 0) {
            if (pos + 4 > n) throw malformed(`truncated ${typeName(t)}`, pos);
            len = lenLE
              ? u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24)
              : (u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!;
            pos += 4;
          }
          // Each element takes at least one byte; each hash pair a value byte, a 4-byte key length (+1 flags).
          const min = t === 2 ? 1 : t === 3 ? 5 : 6;
          if (len < 0 || len * min > n - pos) {
            throw malformed(`${typeName(t)} of ${len} elements exceeds the image`, pos - 4);
          }
          const c: any = t === 2 ? [] : {};
          const tag = ntags++;
          if (tag < seen.length) seen[tag] = c;
          else seen.push(c);
          kinds[tag] = T_CONTAINER;
          if (pendingClass !== undefined) {
            blessInto(c, pendingClass);
            pendingClass = undefined;
          }
          if (tag === 0) rootKind = ROOT_CONTAINER;
          if (++depth > maxDepth) {
            throw malformed(`arrays and hashes nested deeper than maxDepth (${maxDepth})`, pos - 5);
          }
          const kind = t === 2 ? K_ARRAY : t === 3 ? K_HASH : K_FLAG_HASH;
          let out: any = c;
          let hops = 0;
          if (sp > 0 && sKind[sp - 1] === K_REF) {
            // The reference's referent: this container. The frame takes the reference's place.
            sp--;
            const rt = sTag[sp]!;
            seen[rt] = c;
            if (pending !== 0) {
              const pr = refs.get(rt);
              if (pr !== undefined) pr.value = c;
            }
            if (sOut[sp] !== undefined) out = sOut[sp];
            hops = sHops[sp]!;
          }
          if (len === 0) {
            // Complete already: an element of its parent (below), like a scalar but without a new tag.
            depth--;
            v = out;
            scalar = false;
            break;
          }
          sKind[sp] = kind;
          sObj[sp] = c;
          sLeft[sp] = len;
          sTotal[sp] = len;
          sOut[sp] = out;
          sTag[sp] = tag;
          sHops[sp] = hops;
          if (++sp > maxSp) maxSp = sp;
          continue main;
        }
        case 0: {
          // SX_OBJECT <4-byte big-endian tag> (or SX_LOBJECT's 8-byte tag)
          let u = big;
          if (u < 0) {
            if (pos + 4 > n) throw malformed('truncated SX_OBJECT', pos);
            u = ((u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!) >>> 0;
            pos += 4;
          }
          if (u >= ntags) {
            throw malformed(`SX_OBJECT refers to object #${u}, but only ${ntags} were read`, pos - 4);
          }
          pendingClass = undefined; // Storable blesses nothing it has already seen
          if (sp > 0 && sKind[sp - 1] === K_REF) {
            if (seen[u] === UNSET) pending++;
            const f = refTo(seen, kinds, refs, classes, u);
            sp--;
            const rt = sTag[sp]!;
            seen[rt] = f;
            if (pending !== 0) {
              const pr = refs.get(rt);
              if (pr !== undefined) pr.value = f;
            }
            v = sOut[sp] !== undefined ? sOut[sp] : f;
          } else {
            v = seen[u];
            if (v === UNSET) throw malformed(`SX_OBJECT refers to the unfinished reference #${u}`, pos - 4);
          }
          scalar = false;
          break;
        }
        case 17: {
          // SX_BLESS <len> <classname>: the next SV is blessed
          if (pos >= n) throw malformed('truncated SX_BLESS', pos);
          let len = u8[pos++]!;
          if (len & 0x80) {
            if (pos + 4 > n) throw malformed('truncated SX_BLESS', pos);
            len = lenLE
              ? (u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24)) >>> 0
              : ((u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!) >>> 0;
            pos += 4;
          }
          if (len > n - pos) throw malformed(`SX_BLESS class name of ${len} bytes exceeds the image`, pos);
          pendingClass = className(u8, pos, pos + len);
          classNames.push(pendingClass);
          pos += len;
          continue main;
        }
        case 18: {
          // SX_IX_BLESS <index>
          if (pos >= n) throw malformed('truncated SX_IX_BLESS', pos);
          let ix = u8[pos++]!;
          if (ix & 0x80) {
            if (pos + 4 > n) throw malformed('truncated SX_IX_BLESS', pos);
            ix = lenLE
              ? (u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24)) >>> 0
              : ((u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!) >>> 0;
            pos += 4;
          }
          if (ix >= classNames.length) {
            throw malformed(`SX_IX_BLESS names class #${ix}, but only ${classNames.length} were named`, pos);
          }
          pendingClass = classNames[ix];
          continue main;
        }
        case 29: // SX_VSTRING <1-byte len> <vstring>, then the string itself
        case 30: {
          // SX_LVSTRING <4-byte len>
          let len: number;
          if (t === 29) {
            if (pos >= n) throw malformed('truncated SX_VSTRING', pos);
            len = u8[pos++]!;
          } else {
            if (pos + 4 > n) throw malformed('truncated SX_LVSTRING', pos);
            len = lenLE
              ? (u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24)) >>> 0
              : ((u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!) >>> 0;
            pos += 4;
          }
          if (len > n - pos) throw malformed(`${typeName(t)} of ${len} bytes exceeds the image`, pos);
          pos += len; // the v-string magic is dropped; the string that follows is the value
          continue main;
        }
        case 19:
          throw unsupported(hookDescription(u8, pos, n, lenLE, classNames), pos - 1);
        case 26:
          throw unsupported('a code reference (SX_CODE, frozen with $Storable::Deparse)', pos - 1);
        case 11:
          throw unsupported('a tied array (SX_TIED_ARRAY)', pos - 1);
        case 12:
          throw unsupported('a tied hash (SX_TIED_HASH)', pos - 1);
        case 13:
          throw unsupported('a tied scalar (SX_TIED_SCALAR)', pos - 1);
        case 21:
          throw unsupported('a reference to a tied hash element (SX_TIED_KEY)', pos - 1);
        case 22:
          throw unsupported('a reference to a tied array element (SX_TIED_IDX)', pos - 1);
        case 32:
          throw unsupported('a regexp (SX_REGEXP, a qr// object)', pos - 1);
        default:
          throw malformed(
            `unknown type byte 0x${t.toString(16).padStart(2, '0')} (binary v2.${minor}${minor > 12 ? ', newer than this decoder knows' : ''})`,
            pos - 1,
          );
      }

      if (scalar) {
        // A new scalar SV: record it under the next tag; a reference to it is a PerlRef.
        const tag = ntags++;
        if (tag < seen.length) seen[tag] = v;
        else seen.push(v);
        kinds[tag] = T_SCALAR;
        if (pendingClass !== undefined) {
          (classes ??= new Map()).set(tag, pendingClass);
          pendingClass = undefined;
        }
        if (sp === 0) break;
        if (sKind[sp - 1] === K_REF) {
          const f = refTo(seen, kinds, refs, classes, tag);
          sp--;
          const rt = sTag[sp]!;
          seen[rt] = f;
          if (pending !== 0) {
            const pr = refs.get(rt);
            if (pr !== undefined) pr.value = f;
          }
          v = sOut[sp] !== undefined ? sOut[sp] : f;
        }
      }
      // Hand `v` to the container on top of the stack, and each container this completes to its own parent.
      for (;;) {
        if (sp === 0) break main;
        const top = sp - 1;
        const k = sKind[top]!;
        if (k === K_ARRAY) {
          sObj[top].push(v);
        } else {
          // Hash: the key follows its value. SX_FLAG_HASH puts a flags byte before each key.
          let kf = 0;
          if (k === K_FLAG_HASH) {
            if (pos >= n) throw malformed('truncated hash key flags', pos);
            kf = u8[pos++]!;
            if (kf & 0x08) throw unsupported('a hash key stored as an SV (SHV_K_ISSV)', pos - 1);
          }
          if (pos + 4 > n) throw malformed('truncated hash key length', pos);
          const klen = lenLE
            ? u8[pos]! | (u8[pos + 1]! << 8) | (u8[pos + 2]! << 16) | (u8[pos + 3]! << 24)
            : (u8[pos]! << 24) | (u8[pos + 1]! << 16) | (u8[pos + 2]! << 8) | u8[pos + 3]!;
          pos += 4;
          if (klen < 0 || klen > n - pos)
            throw malformed(`hash key of ${klen} bytes exceeds the image`, pos - 4);
          const key = kf & 0x01 ? cachedKey(u8, pos, pos + klen, true) : byteKey(u8, pos, pos + klen, mode);
          pos += klen;
          // A placeholder is a deleted key of a restricted hash: not a key at all.
          if (!(kf & 0x10)) {
            if (key === '__proto__') setProto(sObj[top], key, v);
            else sObj[top][key] = v;
          }
        }
        if (--sLeft[top]! !== 0) continue main;
        v = sOut[top];
        depth--;
        sp = top;
      }
    }

    if (pos !== n) throw malformed(`${n - pos} bytes after the end of the value`, pos);
    if (rootKind === ROOT_CONTAINER) return seen[0];
    if (rootKind === ROOT_REF || classes?.has(0)) return refTo(seen, kinds, refs, classes, 0);
    return seen[0];
  } catch (e) {
    if (e instanceof DecodeFailure) {
      throw toShmError(e, o.name, n, rootKind, sp, sKind, sObj, sLeft, sTotal, sHops);
    }
    throw e;
  } finally {
    viewSrc = undefined;
    viewBuf = undefined;
    // The scratch arrays must not keep this value alive.
    seen.fill(undefined, 0, ntags);
    sObj.fill(undefined, 0, maxSp);
    sOut.fill(undefined, 0, maxSp);
  }
}

/** The ShmError for a failure, naming where in the value it happened (from the explicit stack). */
function toShmError(
  f: DecodeFailure,
  name: string,
  n: number,
  rootKind: number,
  sp: number,
  sKind: number[],
  sObj: any[],
  sLeft: number[],
  sTotal: number[],
  sHops: number[],
): ShmError {
  let path = rootKind === ROOT_REF ? 'value.value' : 'value';
  for (let i = 0; i < sp; i++) {
    const k = sKind[i]!;
    path += '.value'.repeat(sHops[i]! + (k === K_REF ? 1 : 0));
    if (k === K_ARRAY) path += `[${sObj[i].length}]`;
    else if (k !== K_REF) path += `{#${sTotal[i]! - sLeft[i]!}}`;
  }
  const where = `at ${path} (byte ${f.at} of ${n})`;
  if (f.unsupported) return unserializableError(name, undefined, `cannot decode ${f.detail} ${where}`);
  return badFormatError(name, `${f.detail} ${where}`);
}

/** "an object of class X frozen by its STORABLE_freeze hook", with the class when the header names it. */
function hookDescription(u8: Uint8Array, p: number, n: number, lenLE: boolean, classNames: string[]): string {
  const generic = 'an object frozen by its class\u2019s STORABLE_freeze hook (SX_HOOK)';
  if (p >= n) return generic;
  const flags = u8[p++]!;
  if (flags & 0x40 || (flags & 0x03) === 3) return generic; // recursion or a tied object come first
  let cls: string | undefined;
  const large = (flags & 0x04) !== 0;
  let len: number;
  if (large) {
    if (p + 4 > n) return generic;
    len = lenLE
      ? (u8[p]! | (u8[p + 1]! << 8) | (u8[p + 2]! << 16) | (u8[p + 3]! << 24)) >>> 0
      : ((u8[p]! << 24) | (u8[p + 1]! << 16) | (u8[p + 2]! << 8) | u8[p + 3]!) >>> 0;
    p += 4;
  } else {
    if (p >= n) return generic;
    len = u8[p++]!;
  }
  if (flags & 0x20) cls = classNames[len];
  else if (len <= n - p) cls = className(u8, p, p + len);
  return cls === undefined
    ? generic
    : `an object of class ${cls} frozen by its STORABLE_freeze hook (SX_HOOK)`;
}
