import { createHash } from 'node:crypto';

/**
 * A torture value carries its own serial and checksum, so a reader can tell a torn value (checksum), a value
 * reported with another serial than its own (fetch's info.serial), and an old value (serials per reader).
 *
 *   +0 u32 'TORT'  +4 u32 serial  +8 u32 writer slot  +12 u32 length  +16 u32 body seed  +20 20 B SHA-1  +40 body
 * The SHA-1 covers bytes 0-19 and the body.
 */
export const RECORD_MAGIC = 0x54524f54;
export const RECORD_HEADER = 40;

/** A small seeded PRNG (mulberry32): the torture's schedule and values replay from one seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function digest(b: Uint8Array): Buffer {
  const h = createHash('sha1');
  h.update(b.subarray(0, 20));
  h.update(b.subarray(RECORD_HEADER));
  return h.digest();
}

/** A record of `len` bytes (at least the header) for `serial`, written by `slot`. */
export function makeRecord(serial: number, slot: number, len: number, seed: number): Buffer {
  const n = Math.max(len, RECORD_HEADER);
  const b = Buffer.allocUnsafe(n);
  b.writeUInt32LE(RECORD_MAGIC, 0);
  b.writeUInt32LE(serial >>> 0, 4);
  b.writeUInt32LE(slot >>> 0, 8);
  b.writeUInt32LE(n, 12);
  b.writeUInt32LE(seed >>> 0, 16);
  // Cheap body: a seed-dependent pattern with a few random bytes, so two values never share a body.
  b.fill(seed & 0xff, RECORD_HEADER);
  const rnd = prng(seed);
  for (let i = RECORD_HEADER; i < n; i += 4093) b[i] = (rnd() * 256) | 0;
  digest(b).copy(b, 20);
  return b;
}

/** Why `b` is not an intact record of serial `serial` (undefined if it is). */
export function recordProblem(b: Uint8Array, serial: number): string | undefined {
  if (b.byteLength < RECORD_HEADER) return `torn: ${b.byteLength} bytes, less than a record header`;
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (v.readUInt32LE(0) !== RECORD_MAGIC) return `torn: bad magic 0x${v.readUInt32LE(0).toString(16)}`;
  if (v.readUInt32LE(12) !== b.byteLength)
    return `torn: length ${v.readUInt32LE(12)} recorded, ${b.byteLength} read`;
  if (!digest(v).equals(v.subarray(20, 40))) return 'torn: checksum mismatch';
  const own = v.readUInt32LE(4);
  if (own !== serial >>> 0) return `fetch() reported serial ${serial} for the value of serial ${own}`;
  return undefined;
}
