// Encodes JS values as Storable images (nfreeze or freeze layout) that Perl's thaw reads. One pass over the value
// with an explicit stack (deep values cannot overflow the JS stack), writing into a reused chunk that grows
// geometrically; each result is a view of the chunk that later encodes never overwrite (they write after it).
import { describeType, unserializableError } from '@shm/core';
import { BIN_MAJOR, BIN_WRITE_MINOR } from './opcodes.js';
import type { Resolved } from './options.js';
import { PERL_CLASS, PerlRef } from './perl-ref.js';

/** Buffer's native writers, which `write(string, offset, encoding)` calls after checking its arguments. */
interface FastBuffer extends Buffer {
  latin1Write(s: string, offset: number, length?: number): number;
  utf8Write(s: string, offset: number, length?: number): number;
}

const MACHINE_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const CHUNK = 8192;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** A character a byte string cannot hold. */
const WIDE = /[\u0100-\uffff]/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** freeze's header on this machine: a 64-bit perl with 8-byte IVs and doubles, this byte order. */
const NATIVE_HEADER = (() => {
  const is64 = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch);
  const longSize = is64 && process.platform !== 'win32' ? 8 : 4;
  const order = MACHINE_LE ? '12345678' : '87654321';
  return Uint8Array.from([
    BIN_MAJOR << 1,
    BIN_WRITE_MINOR,
    order.length,
    ...Buffer.from(order, 'latin1'),
    4, // sizeof(int)
    longSize,
    is64 ? 8 : 4, // sizeof(char *)
    8, // sizeof(NV)
  ]);
})();
const NETWORK_HEADER = Uint8Array.from([(BIN_MAJOR << 1) | 1, BIN_WRITE_MINOR]);

/**
 * The identity table of every encode, kept between calls: object -> its ordinal n among the objects of the encode
 * that last wrote it, with `written[n]` that object and `writtenTag[n]` its tag. An entry counts only if
 * `written[n]` is the object itself: `written` holds this encode's objects only (it is emptied after each), so an
 * entry of an earlier encode is stale, and is replaced only if the object's ordinal changed. Re-encoding a
 * structure (edited and stored again) visits its objects at the same ordinals: one lookup per object and no `set`,
 * where a table of generation + tag needed a `set` per object, and a Map per call cost a quarter of a large encode
 * (profiled: 1.8 ms of 7 for 21,000 objects). Weak, so it keeps nothing alive. An encode inside an encode (a
 * getter encoding) gets its own table and arrays.
 *
 * A large encode (HOLD_MIN objects or more) leaves its objects in `written` until the event loop turns (`held`
 * of them), so the next encode can skip even the lookup: while every object it has written so far is the one the
 * held encode wrote at the same ordinal, an object that is also the held one at the next ordinal is new to this
 * encode (the held encode wrote each object once, at its first ordinal, and this encode's objects so far are
 * exactly those below it), and its table entry is already that ordinal. The first object that differs ends the
 * shortcut for the rest of the encode. The lookup was an eighth of a 1 MB encode.
 */
const identity = new WeakMap<object, number>();
const written: unknown[] = [];
const writtenTag: number[] = [];
/** Objects of the last encode still in `written` (see `identity`). */
let held = 0;
let releasing = false;
const HOLD_MIN = 1024;
/** Lets the objects of the last encode go: run when the event loop turns after a large encode. */
function release(): void {
  releasing = false;
  if (encoding === 0 && held > 0) {
    written.fill(undefined, 0, held);
    held = 0;
  }
}
/** encodeImage calls in progress (a getter of an encoded object may encode too). */
let encoding = 0;

/** A value encode cannot write, with what to say about it. */
class EncodeFailure {
  constructor(
    readonly value: unknown,
    readonly why: string,
    /** `.value` hops inside a chain of PerlRefs, below the innermost container. */
    readonly hops = 0,
  ) {}
}

// Frame kinds.
const F_ARRAY = 0;
const F_HASH = 1;
const F_FLAG_HASH = 2;

/** The output chunk of one serializer: results are views of it, so it is only ever written after `start`. */
export interface Output {
  buf: FastBuffer;
  /** A view of `buf`'s bytes for the 4- and 8-byte fields: one store each, where bytes one by one took four or eight. */
  dv: DataView;
  start: number;
  /** Size of the last encoding: a chunk with less room than this is replaced before the next encode. */
  last: number;
  /** An encode is writing into it (a getter may encode again: that call writes elsewhere). */
  busy: boolean;
}

export function newOutput(): Output {
  const buf = Buffer.allocUnsafe(CHUNK) as FastBuffer;
  return { buf, dv: viewOf(buf), start: 0, last: 0, busy: false };
}

function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A chunk with room for `need` more bytes after [start, pos), the bytes so far copied to its beginning. */
function grow(out: Output, pos: number, need: number): FastBuffer {
  const used = pos - out.start;
  const size = Math.max(CHUNK, 2 * (used + need));
  const next = Buffer.allocUnsafe(size) as FastBuffer;
  next.set(out.buf.subarray(out.start, pos), 0);
  out.buf = next;
  out.dv = viewOf(next);
  out.start = 0;
  return next;
}

/** Whether every character of `s` is below U+0100 (a Perl byte string can hold it). */
function isLatin1(s: string): boolean {
  const n = s.length;
  if (n > 32) return !WIDE.test(s);
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

/** Writes `s` as UTF-8 at `p` (lone surrogates as U+FFFD, as Buffer does); returns the byte count. */
function utf8Into(buf: FastBuffer, p: number, s: string): number {
  const n = s.length;
  if (n > 48) return buf.utf8Write(s, p);
  const p0 = p;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) buf[p++] = c;
    else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          buf[p++] = 0xf0 | (c >> 18);
          buf[p++] = 0x80 | ((c >> 12) & 0x3f);
          buf[p++] = 0x80 | ((c >> 6) & 0x3f);
          buf[p++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p - p0;
}

/** Writes `s` (every character below U+0100) as one byte per character at `p`. */
function latin1Into(buf: FastBuffer, p: number, s: string): void {
  const n = s.length;
  if (n > 32) buf.latin1Write(s, p, n);
  else for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
}

/**
 * Writes a string scalar at `p`: a byte string (SX_SCALAR/SX_LSCALAR) or, with `flagged`, a UTF-8 one
 * (SX_UTF8STR/SX_LUTF8STR). `utf8` says whether the bytes are the UTF-8 of `s` (else its latin1). Room for
 * 5 + 3 * s.length bytes must exist. Returns the new position.
 */
function stringInto(
  buf: FastBuffer,
  dv: DataView,
  p: number,
  s: string,
  utf8: boolean,
  flagged: boolean,
  be: boolean,
): number {
  const n = s.length;
  const small = flagged ? 23 : 10;
  const large = flagged ? 24 : 1;
  if (!utf8) {
    if (n <= 255) {
      buf[p] = small;
      buf[p + 1] = n;
      latin1Into(buf, p + 2, s);
      return p + 2 + n;
    }
    buf[p] = large;
    dv.setUint32(p + 1, n, !be);
    latin1Into(buf, p + 5, s);
    return p + 5 + n;
  }
  if (n > 255) {
    const w = utf8Into(buf, p + 5, s);
    buf[p] = large;
    dv.setUint32(p + 1, w, !be);
    return p + 5 + w;
  }
  const w = utf8Into(buf, p + 2, s);
  if (w <= 255) {
    buf[p] = small;
    buf[p + 1] = w;
    return p + 2 + w;
  }
  buf.copyWithin(p + 5, p + 2, p + 2 + w);
  buf[p] = large;
  dv.setUint32(p + 1, w, !be);
  return p + 5 + w;
}

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];
const digits = new Uint8Array(24);

/**
 * Writes the double `x` as an SX_SCALAR decimal string at `p` when some m / 10^k (k = 1..6, m an integer below
 * 2^53) is exactly x: then the text "m with a point k digits from the right" reads back as x (division is
 * correctly rounded, so x is the double nearest to that decimal). Returns the new position, or 0 for any other x.
 * Needs room for 2 + 23 bytes.
 */
function decimalInto(buf: Uint8Array, p: number, x: number): number {
  const a = x < 0 ? -x : x;
  if (!(a < 9e9) || a === 0) return 0; // NaN, infinities, large values, -0: not here
  let k = 1;
  let m = 0;
  for (; k <= 6; k++) {
    m = Math.round(a * POW10[k]!);
    if (m / POW10[k]! === a) break;
  }
  if (k > 6) return 0;
  // Digits of m, least significant first, with at least k + 1 of them (a leading "0." when a < 1).
  let n = 0;
  do {
    digits[n++] = 0x30 + (m % 10);
    m = Math.floor(m / 10);
  } while (m > 0 || n <= k);
  // Trailing zeros of the fraction are dropped ("2.50" -> "2.5"); at least one fraction digit stays.
  let lo = 0;
  while (lo < k - 1 && digits[lo] === 0x30) lo++;
  const len = (x < 0 ? 1 : 0) + (n - lo) + 1;
  buf[p] = 10; // SX_SCALAR
  buf[p + 1] = len;
  let q = p + 2;
  if (x < 0) buf[q++] = 0x2d;
  for (let i = n - 1; i >= lo; i--) {
    if (i === k - 1) buf[q++] = 0x2e;
    buf[q++] = digits[i]!;
  }
  return q;
}

/**
 * The pairs of the hashes being written, value and key at one index, each hash's pairs after its parent's: a
 * hash frame walks its own range, and a hash inside it pushes its pairs above that range and pops them when done.
 * Reused between encodes (and emptied after each, so they keep nothing alive); an encode inside an encode gets
 * its own. Read with one `for...in` per hash: V8 then loads each value by its field index, where
 * `Object.keys(x)` then `x[key]` is a generic keyed load per value (profiled: a fifth of a large encode).
 */
const pairKeys: string[] = [];
const pairValues: unknown[] = [];

/** The JS path of the value a frame is at, for error messages. */
function pathOf(sKind: number[], sI: number[], keys: string[], sp: number, hops: number): string {
  let path = 'value';
  for (let i = 0; i < sp; i++) {
    const at = sI[i]! - 1;
    if (sKind[i] === F_ARRAY) path += `[${at}]`;
    else {
      const k = String(keys[at]);
      path += IDENTIFIER.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`;
    }
  }
  return path + '.value'.repeat(hops);
}

/**
 * Encodes `value` as one Storable image into `out`'s chunk and returns a view of it.
 * @throws ShmError ERR_SHM_UNSERIALIZABLE for what Storable cannot carry, naming the type and the path.
 */
export function encodeImage(value: unknown, o: Resolved, shared: Output): Uint8Array {
  const out = shared.busy ? newOutput() : shared;
  out.busy = true;
  const network = o.network;
  const be = network || !MACHINE_LE; // 4-byte lengths: network order, or this machine's
  const mode = o.strings;
  const immortal = o.immortalBooleans;
  const maxDepth = o.maxDepth;
  if (out.buf.length - out.start < Math.max(out.last + 64, 64)) {
    // Room for two encodes of the last one's size: a large value encoded again and again takes a new chunk
    // every other time, not every time (each chunk is external memory that V8 collects with full GCs).
    out.buf = Buffer.allocUnsafe(Math.max(CHUNK, 2 * (out.last + 64))) as FastBuffer;
    out.dv = viewOf(out.buf);
    out.start = 0;
  }
  let buf = out.buf;
  let dv = out.dv;
  let cap = buf.length;
  let start = out.start;
  let pos = start;
  const header = network ? NETWORK_HEADER : NATIVE_HEADER;
  buf.set(header, pos);
  pos += header.length;

  let tag = 0;
  // Which objects were written, and under which tag: the shared table (see `identity`) unless encode re-entered
  // (a getter encoding something), then a table of this call's own.
  const nested = encoding > 0;
  encoding++;
  const table = nested ? new Map<object, number>() : identity;
  const objs = nested ? [] : written;
  const objTags = nested ? [] : writtenTag;
  // The objects of the last encode, while this one writes the same ones in the same order (see `identity`).
  const last = nested ? 0 : held;
  let same = last > 0;
  let count = 0;
  let classes: Map<string, number> | undefined;
  // The frames: kind, the array (hash frames: the pairs' values), the next index and the end (in the array, or
  // in the pairs), the index of the pair whose key is still to be written (-1: none), and where a hash's pairs
  // start. The innermost frame lives in the locals f*, the others in the arrays s* (at sp - 1 the innermost
  // one's constant fields; its index and due key are stored there only when a frame is pushed above it): one
  // element then reads and writes locals, not five arrays.
  const sKind: number[] = [];
  const sObj: any[] = [];
  const sI: number[] = [];
  const sN: number[] = [];
  const sDue: number[] = [];
  const sBase: number[] = [];
  let sp = 0;
  const keys = nested ? [] : pairKeys;
  const values = nested ? [] : pairValues;
  let fKind = F_ARRAY;
  let fObj: any;
  let fI = 0;
  let fN = 0;
  let fDue = -1;
  let fBase = 0;
  let pairs = 0;
  let pairsHigh = 0;
  // for...in also visits enumerable properties a plain object inherits: if anything made one on
  // Object.prototype, hashes are read with Object.keys (own properties only) instead.
  let inherited = false;
  for (const _ in Object.prototype) {
    inherited = true;
    break;
  }

  let v: unknown = value;
  let pending = true;
  let root = true;
  try {
    for (;;) {
      if (pending) {
        pending = false;
        emit: for (;;) {
          switch (typeof v) {
            case 'string': {
              const s = v as string;
              const room = 5 + 3 * s.length;
              if (pos + room > cap) {
                buf = grow(out, pos, room);
                pos -= start;
                start = 0;
                cap = buf.length;
                dv = out.dv;
              }
              if (mode === 0) {
                const n = s.length;
                if (n <= 32) {
                  // One pass: write the characters as bytes, and rewrite as UTF-8 if one is above U+00FF.
                  let or = 0;
                  for (let i = 0; i < n; i++) {
                    const c = s.charCodeAt(i);
                    or |= c;
                    buf[pos + 2 + i] = c;
                  }
                  if (or <= 0xff) {
                    buf[pos] = 10; // SX_SCALAR
                    buf[pos + 1] = n;
                    pos += 2 + n;
                  } else pos = stringInto(buf, dv, pos, s, true, true, be);
                } else {
                  const narrow = isLatin1(s);
                  pos = stringInto(buf, dv, pos, s, !narrow, !narrow, be);
                }
              } else pos = stringInto(buf, dv, pos, s, true, mode === 2, be);
              tag++;
              break emit;
            }
            case 'number': {
              const x = v as number;
              if (pos + 30 > cap) {
                buf = grow(out, pos, 30);
                pos -= start;
                start = 0;
                cap = buf.length;
                dv = out.dv;
              }
              if (Number.isInteger(x) && x <= MAX_SAFE && x >= -MAX_SAFE && (x !== 0 || 1 / x > 0)) {
                if (x >= -128 && x <= 127) {
                  buf[pos] = 8; // SX_BYTE
                  buf[pos + 1] = x + 128;
                  pos += 2;
                } else if (network) {
                  if (x >= -2147483648 && x <= 2147483647) {
                    buf[pos] = 9; // SX_NETINT
                    dv.setUint32(pos + 1, x);
                    pos += 5;
                  } else {
                    // nfreeze writes integers beyond 32 bits as their decimal string, as Perl's does.
                    pos = stringInto(buf, dv, pos, String(x), false, false, true);
                  }
                } else {
                  // SX_INTEGER: the 8-byte IV in this machine's order, as two 32-bit halves.
                  buf[pos] = 6;
                  if (x >= -2147483648 && x <= 2147483647) {
                    dv.setInt32(pos + (MACHINE_LE ? 1 : 5), x, MACHINE_LE);
                    dv.setInt32(pos + (MACHINE_LE ? 5 : 1), x < 0 ? -1 : 0, MACHINE_LE);
                  } else {
                    const hi = Math.floor(x / 4294967296);
                    dv.setUint32(pos + (MACHINE_LE ? 1 : 5), x - hi * 4294967296, MACHINE_LE);
                    dv.setUint32(pos + (MACHINE_LE ? 5 : 1), hi, MACHINE_LE);
                  }
                  pos += 9;
                }
              } else if (network) {
                // nfreeze writes doubles as strings. Those with up to 6 decimals (prices, measures) are written
                // digit by digit, without making a string (String(x) was a seventh of a large nfreeze); the rest
                // as the shortest string that reads back as the same double.
                const fast = decimalInto(buf, pos, x);
                if (fast > 0) {
                  pos = fast;
                  tag++;
                  break emit;
                }
                const text =
                  x === Number.POSITIVE_INFINITY
                    ? 'Inf'
                    : x === Number.NEGATIVE_INFINITY
                      ? '-Inf'
                      : Number.isNaN(x)
                        ? 'NaN'
                        : x === 0
                          ? '-0'
                          : String(x);
                const room = 5 + text.length;
                if (pos + room > cap) {
                  buf = grow(out, pos, room);
                  pos -= start;
                  start = 0;
                  cap = buf.length;
                  dv = out.dv;
                }
                pos = stringInto(buf, dv, pos, text, false, false, true);
              } else {
                buf[pos] = 7; // SX_DOUBLE, this machine's order, as the header says
                dv.setFloat64(pos + 1, x, MACHINE_LE);
                pos += 9;
              }
              tag++;
              break emit;
            }
            case 'boolean': {
              if (pos + 3 > cap) {
                buf = grow(out, pos, 3);
                pos -= start;
                start = 0;
                cap = buf.length;
                dv = out.dv;
              }
              if (immortal)
                buf[pos++] = v ? 15 : 16; // SX_SV_YES / SX_SV_NO
              else if (v) {
                buf[pos] = 10; // SX_SCALAR "1", as perl 5.36's freeze writes !!1
                buf[pos + 1] = 1;
                buf[pos + 2] = 0x31;
                pos += 3;
              } else {
                buf[pos] = 10; // SX_SCALAR "", as it writes !!0
                buf[pos + 1] = 0;
                pos += 2;
              }
              tag++;
              break emit;
            }
            case 'bigint': {
              const b = v as bigint;
              if (pos + 30 > cap) {
                buf = grow(out, pos, 30);
                pos -= start;
                start = 0;
                cap = buf.length;
                dv = out.dv;
              }
              if (b >= -128n && b <= 127n) {
                buf[pos] = 8;
                buf[pos + 1] = Number(b) + 128;
                pos += 2;
              } else if (network && b >= -2147483648n && b <= 2147483647n) {
                buf[pos] = 9;
                dv.setUint32(pos + 1, Number(b));
                pos += 5;
              } else if (!network && b >= INT64_MIN && b <= INT64_MAX) {
                const u = BigInt.asUintN(64, b);
                const hi = Number(u >> 32n);
                const lo = Number(u & 0xffffffffn);
                buf[pos] = 6;
                dv.setUint32(pos + (MACHINE_LE ? 1 : 5), lo, MACHINE_LE);
                dv.setUint32(pos + (MACHINE_LE ? 5 : 1), hi, MACHINE_LE);
                pos += 9;
              } else {
                // Beyond what the layout carries as a number: the decimal string, as Perl writes a UV > IV_MAX.
                const text = b.toString();
                const room = 5 + text.length;
                if (pos + room > cap) {
                  buf = grow(out, pos, room);
                  pos -= start;
                  start = 0;
                  cap = buf.length;
                  dv = out.dv;
                }
                pos = stringInto(buf, dv, pos, text, false, false, be);
              }
              tag++;
              break emit;
            }
            case 'undefined':
              if (pos + 1 > cap) {
                buf = grow(out, pos, 1);
                pos -= start;
                start = 0;
                cap = buf.length;
                dv = out.dv;
              }
              buf[pos++] = 5; // SX_UNDEF
              tag++;
              break emit;
            case 'object': {
              if (v === null) {
                if (pos + 1 > cap) {
                  buf = grow(out, pos, 1);
                  pos -= start;
                  start = 0;
                  cap = buf.length;
                  dv = out.dv;
                }
                buf[pos++] = 5;
                tag++;
                break emit;
              }
              // Arrays and plain objects (the common case) are told apart from bytes without `instanceof`,
              // which walks the prototype chain: only an object of another prototype can be a Uint8Array.
              let isArray = Array.isArray(v);
              let proto: unknown = null;
              if (!isArray) proto = Object.getPrototypeOf(v);
              if (!isArray && proto !== Object.prototype && proto !== null && v instanceof Uint8Array) {
                const len = v.byteLength;
                const room = 5 + len;
                if (pos + room > cap) {
                  buf = grow(out, pos, room);
                  pos -= start;
                  start = 0;
                  cap = buf.length;
                  dv = out.dv;
                }
                if (len <= 255) {
                  buf[pos] = 10;
                  buf[pos + 1] = len;
                  pos += 2;
                } else {
                  buf[pos] = 1;
                  dv.setUint32(pos + 1, len, !be);
                  pos += 5;
                }
                buf.set(v, pos);
                pos += len;
                tag++;
                break emit;
              }
              // A reference: the element is an RV (SX_REF) to the referent, except for the root, which is
              // the referent itself (thaw returns the reference).
              if (!root) {
                if (pos + 1 > cap) {
                  buf = grow(out, pos, 1);
                  pos -= start;
                  start = 0;
                  cap = buf.length;
                  dv = out.dv;
                }
                buf[pos++] = 4; // SX_REF
                tag++;
              }
              let x = v as any;
              let hops = 0;
              for (;;) {
                let n: number | undefined = count;
                let seen = false;
                if (!same || count >= last || objs[count] !== x) {
                  n = table.get(x);
                  if (n !== undefined && n < count && objs[n] === x) seen = true;
                  else same = false;
                }
                if (seen) {
                  if (pos + 5 > cap) {
                    buf = grow(out, pos, 5);
                    pos -= start;
                    start = 0;
                    cap = buf.length;
                    dv = out.dv;
                  }
                  buf[pos] = 0; // SX_OBJECT <tag, always big-endian>
                  dv.setUint32(pos + 1, objTags[n!]!);
                  pos += 5;
                  break emit;
                }
                if (hops > 0) {
                  // The referent of a PerlRef: its own kind.
                  isArray = Array.isArray(x);
                  proto = isArray ? null : Object.getPrototypeOf(x);
                }
                let isRef = false;
                if (!isArray && proto !== Object.prototype && proto !== null) {
                  isRef = x instanceof PerlRef || PerlRef.isInstance(x);
                  if (!isRef) throw new EncodeFailure(x, unsupportedObject(x), hops);
                }
                objs[count] = x;
                objTags[count] = tag;
                if (n !== count) table.set(x, count);
                count++;
                const cls = x[PERL_CLASS];
                if (cls !== undefined) {
                  if (typeof cls !== 'string' || cls === '') {
                    throw new EncodeFailure(x, `cannot bless into the class ${String(cls)}`, hops);
                  }
                  classes ??= new Map();
                  const ix = classes.get(cls);
                  const room = 6 + 3 * cls.length;
                  if (pos + room > cap) {
                    buf = grow(out, pos, room);
                    pos -= start;
                    start = 0;
                    cap = buf.length;
                    dv = out.dv;
                  }
                  if (ix !== undefined) {
                    buf[pos] = 18; // SX_IX_BLESS
                    if (ix <= 127) {
                      buf[pos + 1] = ix;
                      pos += 2;
                    } else {
                      buf[pos + 1] = 0x80;
                      dv.setUint32(pos + 2, ix, !be);
                      pos += 6;
                    }
                  } else {
                    classes.set(cls, classes.size);
                    buf[pos] = 17; // SX_BLESS
                    const w = utf8Into(buf, pos + 2, cls);
                    if (w <= 127) {
                      buf[pos + 1] = w;
                      pos += 2 + w;
                    } else {
                      buf.copyWithin(pos + 6, pos + 2, pos + 2 + w);
                      buf[pos + 1] = 0x80;
                      dv.setUint32(pos + 2, w, !be);
                      pos += 6 + w;
                    }
                  }
                }
                if (isRef) {
                  // The scalar the PerlRef stands for: a reference itself, or a plain scalar.
                  const inner = x.value;
                  if (typeof inner === 'object' && inner !== null && !(inner instanceof Uint8Array)) {
                    if (pos + 1 > cap) {
                      buf = grow(out, pos, 1);
                      pos -= start;
                      start = 0;
                      cap = buf.length;
                      dv = out.dv;
                    }
                    buf[pos++] = 4; // SX_REF
                    tag++;
                    x = inner;
                    hops++;
                    continue;
                  }
                  if (typeof inner === 'function' || typeof inner === 'symbol') {
                    throw new EncodeFailure(inner, `cannot encode a ${typeof inner}`, hops + 1);
                  }
                  v = inner;
                  root = false;
                  continue emit;
                }
                if (sp >= maxDepth) {
                  throw new EncodeFailure(
                    x,
                    `cannot encode arrays and hashes nested deeper than maxDepth (${maxDepth})`,
                    hops,
                  );
                }
                if (isArray) {
                  const len = x.length;
                  if (pos + 5 > cap) {
                    buf = grow(out, pos, 5);
                    pos -= start;
                    start = 0;
                    cap = buf.length;
                    dv = out.dv;
                  }
                  buf[pos] = 2; // SX_ARRAY
                  dv.setUint32(pos + 1, len, !be);
                  pos += 5;
                  tag++;
                  if (len > 0) {
                    if (sp > 0) {
                      sI[sp - 1] = fI;
                      sDue[sp - 1] = fDue;
                    }
                    sKind[sp] = fKind = F_ARRAY;
                    sObj[sp] = fObj = x;
                    sN[sp] = fN = len;
                    sBase[sp] = fBase = 0;
                    fI = 0;
                    fDue = -1;
                    sp++;
                  }
                  break emit;
                }
                // The pairs, above those of the hashes being written, and whether a key is beyond U+00FF: that
                // needs the UTF-8 flag, which only SX_FLAG_HASH carries.
                const base = pairs;
                let end = base;
                let wide = 0;
                if (!inherited) {
                  for (const k in x) {
                    keys[end] = k;
                    values[end++] = x[k];
                    if (wide === 0) {
                      const n = k.length;
                      if (n > 32) wide = WIDE.test(k) ? 1 : 0;
                      else for (let i = 0; i < n; i++) wide |= k.charCodeAt(i) >> 8;
                    }
                  }
                } else {
                  const own = Object.keys(x);
                  for (let j = 0; j < own.length; j++) {
                    const k = own[j]!;
                    keys[end] = k;
                    values[end++] = x[k];
                    if (wide === 0 && !isLatin1(k)) wide = 1;
                  }
                }
                const len = end - base;
                const flagged = wide !== 0 && mode !== 1;
                if (pos + 6 > cap) {
                  buf = grow(out, pos, 6);
                  pos -= start;
                  start = 0;
                  cap = buf.length;
                  dv = out.dv;
                }
                if (flagged) {
                  buf[pos] = 25; // SX_FLAG_HASH <hash flags = 0>
                  buf[pos + 1] = 0;
                  dv.setUint32(pos + 2, len, !be);
                  pos += 6;
                } else {
                  buf[pos] = 3; // SX_HASH
                  dv.setUint32(pos + 1, len, !be);
                  pos += 5;
                }
                tag++;
                if (len > 0) {
                  if (sp > 0) {
                    sI[sp - 1] = fI;
                    sDue[sp - 1] = fDue;
                  }
                  sKind[sp] = fKind = flagged ? F_FLAG_HASH : F_HASH;
                  sObj[sp] = fObj = values;
                  sN[sp] = fN = end;
                  sBase[sp] = fBase = base;
                  fI = base;
                  fDue = -1;
                  sp++;
                  pairs = end;
                  if (end > pairsHigh) pairsHigh = end;
                }
                break emit;
              }
            }
            default:
              throw new EncodeFailure(v, `cannot encode a ${typeof v}`);
          }
        }
        root = false;
      }

      // The next element of the innermost container, after the key its previous value was waiting for.
      if (sp === 0) break;
      const kind = fKind;
      if (kind !== F_ARRAY) {
        const due = fDue;
        if (due >= 0) {
          const key = keys[due]!;
          const room = 5 + 3 * key.length;
          if (pos + room > cap) {
            buf = grow(out, pos, room);
            pos -= start;
            start = 0;
            cap = buf.length;
            dv = out.dv;
          }
          if (mode === 1) {
            const w = utf8Into(buf, pos + 4, key);
            dv.setUint32(pos, w, !be);
            pos += 4 + w;
          } else {
            // Every key of an SX_HASH is below U+0100; those of an SX_FLAG_HASH are checked one by one.
            const narrow = kind === F_HASH || isLatin1(key);
            if (kind === F_FLAG_HASH) buf[pos++] = narrow ? 0 : 1; // SHV_K_UTF8
            if (narrow) {
              dv.setUint32(pos, key.length, !be);
              latin1Into(buf, pos + 4, key);
              pos += 4 + key.length;
            } else {
              const w = utf8Into(buf, pos + 4, key);
              dv.setUint32(pos, w, !be);
              pos += 4 + w;
            }
          }
          fDue = -1;
        }
      }
      const i = fI;
      if (i === fN) {
        if (kind !== F_ARRAY) pairs = fBase;
        sp--;
        if (sp > 0) {
          const t = sp - 1;
          fKind = sKind[t]!;
          fObj = sObj[t];
          fI = sI[t]!;
          fN = sN[t]!;
          fDue = sDue[t]!;
          fBase = sBase[t]!;
        }
        continue;
      }
      fI = i + 1;
      if (kind !== F_ARRAY) fDue = i;
      v = fObj[i];
      pending = true;
    }
  } catch (e) {
    if (e instanceof EncodeFailure) {
      if (sp > 0) sI[sp - 1] = fI;
      const at = pathOf(sKind, sI, keys, sp, e.hops);
      throw unserializableError(o.name, value, `${e.why} at ${at}`);
    }
    throw e;
  } finally {
    encoding--;
    out.busy = false;
    if (!nested) {
      if (pairsHigh > 0) {
        pairKeys.fill('', 0, pairsHigh);
        pairValues.fill(undefined, 0, pairsHigh);
      }
      if (last > count) written.fill(undefined, count, last);
      if (count >= HOLD_MIN) {
        held = count;
        if (!releasing) {
          releasing = true;
          setImmediate(release).unref();
        }
      } else {
        if (count > 0) written.fill(undefined, 0, count);
        held = 0;
      }
    }
  }
  out.start = pos;
  out.last = pos - start;
  return buf.subarray(start, pos);
}

function unsupportedObject(x: object): string {
  const type = describeType(x);
  if (ArrayBuffer.isView(x)) return `cannot encode a ${type} (only Uint8Array and Buffer, as byte strings)`;
  if (x instanceof Map || x instanceof Set || x instanceof Date || x instanceof RegExp) {
    return `cannot encode a ${type} (Storable has no such type: convert it to a plain object, array or string)`;
  }
  return `cannot encode an instance of ${type} (only plain objects, arrays, PerlRefs, strings, numbers, BigInts, booleans, null, bytes)`;
}
