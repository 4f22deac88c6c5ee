// The store's on-memory format: the head's layout, the bank descriptors, the chained-segment header, and the
// functions that write, check and describe a head. docs/architecture/store.md draws the layout; nothing here takes
// a lock or maps a chained segment (store-chain.ts does that, store-io.ts reads and commits).
import { expected, processId, ShmError } from '@shm/native';
import type { Backend, Region } from './region.js';
import { LOCK_BYTES, RwLock } from './rw-lock.js';
import type { StoreOptions } from './store.js';

// Head segment layout (bytes).
export const H_MAGIC = 0; // u32 'SHMS'
export const H_VERSION = 4; // u16 format version, u16 flags
export const H_DATA_OFFSET = 8; // u32 where the inline banks start
export const H_INLINE = 12; // u32 inline capacity of each bank
export const H_BACKEND = 16; // u32 backend code
export const H_MAX_SEG = 20; // u32 largest chained segment
export const H_PUB = 24; // i32 (serial << 1) | current bank: the one word a commit changes
export const H_SEGGEN = 28; // u32 generation counter naming new chained segments
export const H_CREATED = 32; // f64 ms since the epoch
export const H_CREATOR = 40; // u32 creator pid
export const H_STORE_ID = 44; // u32 random id, repeated in each chained segment's header
export const H_STARVED = 48; // i32 readers that gave up copying optimistically and want a turn under the lock
// +52 i32 waiters sleeping on H_PUB, +56 u32 destroyed mark, +60 i32 their sleep claim: see store-watch.ts.
export const BANK0 = 64; // two bank descriptors
export const BANK_BYTES = 256;
export const LOCK_OFFSET = BANK0 + 2 * BANK_BYTES; // 576, 64-aligned
export const DATA_OFFSET = Math.ceil((LOCK_OFFSET + LOCK_BYTES) / 64) * 64; // 1664

// Bank descriptor (bytes from its start).
export const D_LEN_LO = 0;
export const D_LEN_HI = 4;
export const D_SERIALIZER = 8; // u32 serializer id, 0 for raw bytes
export const D_NSEGS = 12; // u32 segments the value uses (0: inline)
export const D_ALLOC = 16; // u32 segment entries allocated (>= nsegs); the rest are kept for reuse
export const D_SEQ = 20; // i32 odd while a writer is rewriting this bank: a reader that saw it change copies again
export const D_PEND_PID = 24; // u32 SysV: pid of a writer between shmget() and recording the id (0: none)
export const D_PEND_TIME = 28; // u32 SysV: when it started, seconds since the epoch (low 32 bits)
export const D_SEGS = 32; // MAX_SEGS x { u32 gen (shmid for SysV), u32 size }
export const MAX_SEGS = 28;

// Chained segment header.
export const C_MAGIC = 0; // u32 'SHMC'
export const C_STORE_ID = 4;
export const C_GEN = 8;
export const C_SIZE = 12;
export const C_DATA = 64;

export const STORE_MAGIC = 0x534d4853; // 'SHMS'
export const CHAIN_MAGIC = 0x434d4853; // 'SHMC'
export const FORMAT_VERSION = 1;
export const BACKEND_CODES: Record<Backend, number> = { memfd: 1, posix: 2, file: 3, sysv: 4, win32: 5 };
export const MIN_SEG = 64 * 1024;
export const SERIAL_MASK = 0x3fffffff;

// Plain loads may pass an acquire load on weakly ordered CPUs: there the copy is fenced by an RMW.
if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
  throw new ShmError(
    'ERR_SHM_NOT_SUPPORTED',
    '@shm/core needs a little-endian CPU (its formats are little-endian)',
  );
}

/** Bytes of header before the inline banks (for sizing a memfd area). */
export const STORE_HEADER_BYTES = DATA_OFFSET;

/** Bytes of a head whose banks hold `inline` bytes each. */
export const headSize = (inline: number) => DATA_OFFSET + 2 * inline;

/** The inline capacity of each bank a new store gets from `opts`, rounded up to 8 bytes. */
export function inlineFor(opts: StoreOptions): number {
  const backend =
    opts.backend ?? (opts.key !== undefined ? 'sysv' : opts.path ? 'file' : opts.name ? 'posix' : 'memfd');
  const v = opts.inlineCapacity ?? (backend === 'memfd' ? 64 * 1024 : 32 * 1024 - DATA_OFFSET / 2);
  if (!Number.isInteger(v) || v < 0 || v > 2 ** 31) {
    throw expected('a size from 0 to 2 GiB (bytes)', 'options.inlineCapacity', v, RangeError);
  }
  return Math.ceil(v / 8) * 8;
}

/** Writes the header of a head this process just created (its lock included); the magic is published last. */
export function initHead(region: Region, inline: number, maxSeg: number, storeId: number): void {
  const dv = new DataView(region.buffer);
  dv.setUint32(H_DATA_OFFSET, DATA_OFFSET, true);
  dv.setUint32(H_INLINE, inline, true);
  dv.setUint32(H_BACKEND, BACKEND_CODES[region.backend], true);
  dv.setUint32(H_MAX_SEG, maxSeg, true);
  dv.setFloat64(H_CREATED, Date.now(), true);
  dv.setUint32(H_CREATOR, processId(), true);
  dv.setUint32(H_STORE_ID, storeId, true);
  dv.setUint16(H_VERSION, FORMAT_VERSION, true);
  RwLock.init(region, LOCK_OFFSET);
  // Published last: an opener that sees the magic sees a complete header.
  Atomics.store(region.i32, H_MAGIC / 4, STORE_MAGIC | 0);
}

/** The backend a head's code names; `fallback` (the region's own) for a code this library does not know. */
export function backendOf(code: number, fallback: Backend): Backend {
  return (Object.keys(BACKEND_CODES) as Backend[]).find((k) => BACKEND_CODES[k] === code) ?? fallback;
}

/** ERR_SHM_BAD_FORMAT for a store whose memory says something impossible. */
export function corruptStore(name: string, what: string): ShmError {
  return new ShmError('ERR_SHM_BAD_FORMAT', `${name}: corrupt store: ${what}`, { target: name });
}

/** Checks that a mapped head is one of our stores, bounds included, waiting briefly for a creator to finish. */
export function validateHead(region: Region): void {
  const bad = (what: string) =>
    new ShmError('ERR_SHM_BAD_FORMAT', `${region.id} is not an @shm store: ${what}`, { target: region.id });
  if (region.size < DATA_OFFSET) throw bad(`it has ${region.size} bytes, less than a store header`);
  let magic = Atomics.load(region.i32, H_MAGIC / 4);
  for (let i = 0; magic === 0 && i < 200; i++) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    magic = Atomics.load(region.i32, H_MAGIC / 4);
  }
  if (magic !== (STORE_MAGIC | 0)) throw bad(`bad magic 0x${(magic >>> 0).toString(16)}`);
  const dv = new DataView(region.buffer);
  const version = dv.getUint16(H_VERSION, true);
  if (version !== FORMAT_VERSION)
    throw bad(`format version ${version}, this library reads ${FORMAT_VERSION}`);
  if (dv.getUint32(H_DATA_OFFSET, true) !== DATA_OFFSET) throw bad('unexpected data offset');
  const inline = dv.getUint32(H_INLINE, true);
  if (headSize(inline) > region.size)
    throw bad(`inline capacity ${inline} does not fit in ${region.size} bytes`);
  const maxSeg = dv.getUint32(H_MAX_SEG, true);
  if (maxSeg < MIN_SEG) throw bad(`segment size ${maxSeg}`);
}

/** The segment entries both bank descriptors hold, as debug() lists them (`p`: the pub word read by the caller). */
export function listSegments(
  dv: DataView,
  p: number,
): { bank: number; id: number; size: number; used: boolean }[] {
  const segments = [];
  for (let bank = 0; bank < 2; bank++) {
    const d = BANK0 + bank * BANK_BYTES;
    const alloc = Math.min(dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
    const used = bank === (p & 1) ? dv.getUint32(d + D_NSEGS, true) : 0;
    for (let j = 0; j < alloc; j++) {
      segments.push({
        bank,
        id: dv.getUint32(d + D_SEGS + 8 * j, true),
        size: dv.getUint32(d + D_SEGS + 8 * j + 4, true),
        used: j < used,
      });
    }
  }
  return segments;
}

/** What `shm inspect` shows: the head of a store parsed read-only (nothing is written, no lock is taken). */
export function inspectStore(region: Region): {
  format: string;
  version: number;
  inlineCapacity: number;
  maxSegmentSize: number;
  serial: number;
  currentBank: number;
  createdAt: string;
  creatorPid: number;
  banks: {
    length: number;
    serializerId: number;
    segmentsUsed: number;
    segments: { id: number; size: number }[];
  }[];
  lock: { exclusiveOwner: number; sharedHolders: number };
} {
  validateHead(region);
  const dv = new DataView(region.buffer);
  const pub = dv.getInt32(H_PUB, true);
  const banks = [0, 1].map((bank) => {
    const d = BANK0 + bank * BANK_BYTES;
    const alloc = Math.min(dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
    return {
      length: dv.getUint32(d + D_LEN_LO, true) + dv.getUint32(d + D_LEN_HI, true) * 2 ** 32,
      serializerId: dv.getUint32(d + D_SERIALIZER, true),
      segmentsUsed: dv.getUint32(d + D_NSEGS, true),
      segments: Array.from({ length: alloc }, (_, j) => ({
        id: dv.getUint32(d + D_SEGS + 8 * j, true),
        size: dv.getUint32(d + D_SEGS + 8 * j + 4, true),
      })),
    };
  });
  let readers = 0;
  for (let w = 0; w < 4; w++) {
    let bits = dv.getUint32(LOCK_OFFSET + 32 + 4 * w, true);
    while (bits) {
      bits &= bits - 1;
      readers++;
    }
  }
  return {
    format: '@shm store',
    version: dv.getUint16(H_VERSION, true),
    inlineCapacity: dv.getUint32(H_INLINE, true),
    maxSegmentSize: dv.getUint32(H_MAX_SEG, true),
    serial: pub >>> 1,
    currentBank: pub & 1,
    createdAt: new Date(dv.getFloat64(H_CREATED, true)).toISOString(),
    creatorPid: dv.getUint32(H_CREATOR, true),
    banks,
    lock: { exclusiveOwner: dv.getInt32(LOCK_OFFSET, true), sharedHolders: readers },
  };
}
