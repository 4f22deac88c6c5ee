// Commit and read: how one handle writes a value into the bank that is not current and publishes it, and copies the
// current one out without a lock (retrying, then under the shared lock). docs/architecture/store.md, "Commit" and
// "Fetch". Store (store.ts) checks the arguments and calls in; values in chained segments go through store-chain.ts.
import { ShmError } from '@shm/native';
import type { Region } from './region.js';
import type { RwLock } from './rw-lock.js';
import type { FetchInfo, Store } from './store.js';
import type { SegmentChain } from './store-chain.js';
import * as format from './store-format.js';
import { H_WAITERS, wakeWaiters } from './store-watch.js';
import { wordWait, wordWake } from './word-wait.js';

// The layout as constants of this module: V8 folds a module's own const into the code that reads it, while each
// read of an imported binding is a load (measured: ~5% of a 64-byte store()). Read once, at load.
const {
  BANK0,
  BANK_BYTES,
  C_DATA,
  corruptStore,
  D_ALLOC,
  D_LEN_HI,
  D_LEN_LO,
  D_NSEGS,
  D_PEND_PID,
  D_SEGS,
  D_SEQ,
  D_SERIALIZER,
  DATA_OFFSET,
  H_PUB,
  H_STARVED,
  MAX_SEGS,
  SERIAL_MASK,
} = format;

/** Readers retry an optimistic copy this many times before taking the shared lock to read. */
const OPTIMISTIC_TRIES = 64;
/** Above this many bytes, a reader overtaken twice takes the shared lock rather than copy again. */
const LARGE_READ = 16 * 1024;
/** Above this many bytes, an overtaken reader takes the shared lock at once (a copy costs milliseconds). */
const HUGE_READ = 4 * 1024 * 1024;
/** After a huge read was overtaken, this many more huge reads take the shared lock at once. */
const LOCKED_LARGE_RUN = 3;
/** Up to this many bytes, an inline value is copied into a caller's buffer by a word loop rather than set(). */
const SMALL_COPY = 256;
/** How long a writer holds back for a starved reader, at most (ms). */
const YIELD_MS = 2;
const needsFence = process.arch !== 'x64' && process.arch !== 'ia32';
/** x86 (total store order): see store() and #tryRead() for the loads and stores that may be plain there. */
const TSO = !needsFence;
const fenceWord = new Int32Array(1);
const NO_HEAD = new Uint8Array(0);
/** The waiters word's index, a constant of this module (reading another module's constant costs more). */
const WAITERS_W = H_WAITERS >> 2;

/**
 * The commit and read side of one Store handle. It holds the head's views and the read bookkeeping itself, so that
 * store() and fetch() reach everything they touch through one object (a Store keeps one reference to it).
 */
export class StoreIo {
  readonly #region: Region;
  readonly #name: string;
  readonly #lock: RwLock;
  readonly #chain: SegmentChain;
  /** The chain's Map of mapped segments: read and commit test its size before anything else of the chain. */
  readonly #segs: Map<number, Region>;
  readonly #stats: Store['stats'];
  readonly #dv: DataView;
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array; // header fields: the formats are little-endian, and so is every supported CPU
  readonly #bytes: Uint8Array;
  readonly #inline: number;
  readonly #capacity: number;
  readonly #sysv: boolean;
  /** The inline banks start on 4-byte boundaries (a foreign head could say otherwise). */
  readonly #inlineAligned: boolean;
  /** The pub word when the chain's mappings were last pruned to the segments the two descriptors name. */
  #prunedAt = -1;
  #lastLength = 0;
  /** Large reads still to do under the shared lock since writers overtook one (see fetch()). */
  #lockedLarge = 0;
  /** The view of the caller's buffer that the last fetch(into) returned: reused while `into` and length repeat. */
  #intoBuf: Uint8Array | undefined;
  #intoView: Uint8Array | undefined;
  /** `#intoBuf` as 32-bit words, when it is 4-byte aligned: small values are copied a word at a time. */
  #intoWords: Int32Array | undefined;
  /** The chained segments the last #descError found for a value, in order (what #tryRead copies from). */
  readonly #found: Region[] = [];
  /** The data view #segData made last, of `#dataSeg`'s first `#dataLen` bytes: reused while both repeat. */
  #dataSeg: Region | undefined;
  #dataLen = 0;
  #dataView: Uint8Array | undefined;
  /** The view viewLocked() returned last: reused while the bank and the length repeat. */
  #lockedView: Uint8Array | undefined;

  constructor(
    region: Region,
    lock: RwLock,
    chain: SegmentChain,
    stats: Store['stats'],
    inline: number,
    capacity: number,
    sysv: boolean,
  ) {
    this.#region = region;
    this.#name = region.id;
    this.#lock = lock;
    this.#chain = chain;
    this.#segs = chain.segs;
    this.#stats = stats;
    this.#bytes = region.bytes;
    this.#i32 = region.i32;
    this.#u32 = new Uint32Array(region.buffer, 0, DATA_OFFSET / 4);
    this.#dv = new DataView(region.buffer);
    this.#inline = inline;
    this.#capacity = capacity;
    this.#sysv = sysv;
    this.#inlineAligned = (inline & 3) === 0;
  }

  /** Size in bytes of the current value. */
  length(): number {
    for (;;) {
      const p = Atomics.load(this.#i32, H_PUB / 4);
      const len = this.#descLength(p & 1);
      if (Atomics.load(this.#i32, H_PUB / 4) === p) return len;
    }
  }

  // ------------------------------------------------------------------ writing

  /** Takes the lock (after a starved reader had its turn), commits `head` then `bytes`, and releases it. */
  store(bytes: Uint8Array, serializer: number, head: Uint8Array = NO_HEAD): number {
    // A plain load: a hint, read once per store (a starved reader raised it and waits for the lock anyway).
    if (this.#i32[H_STARVED >> 2] !== 0) this.#yieldToReaders();
    const lock = this.#lock;
    // x86, taking the lock here (not nested in a hold of the caller's): the commit publishes with a plain store and
    // the waiters word is read after the unlock, whose Atomics.store (an xchg) is the full fence the watchers' Dekker
    // pair needs between the two. Two Atomics calls per store (the CAS and the release) instead of four. Nested in a
    // caller's hold the unlock releases nothing, so the commit fences itself.
    if (TSO && !lock.holdsExclusive) {
      lock.lock();
      let serial: number;
      try {
        serial = this.#commit(bytes, serializer, head, true);
      } finally {
        lock.unlock();
      }
      if (this.#i32[WAITERS_W] !== 0) wakeWaiters(this.#region, H_PUB); // none: no syscall
      return serial;
    }
    lock.lock();
    try {
      return this.#commit(bytes, serializer, head, false);
    } finally {
      lock.unlock();
    }
  }

  /** A starved reader asked for a turn: wait until it had it, at most YIELD_MS (a dead reader cannot stall us). */
  #yieldToReaders() {
    const deadline = performance.now() + YIELD_MS;
    for (;;) {
      const v = Atomics.load(this.#i32, H_STARVED >> 2);
      const left = deadline - performance.now();
      if (v === 0 || left <= 0) return;
      wordWait(this.#region, H_STARVED, v, left);
    }
  }

  /** Writes `head` then `bytes` into the bank that is not current and publishes it (the caller holds the lock). */
  commit(bytes: Uint8Array, serializer: number, head: Uint8Array = NO_HEAD): number {
    return this.#commit(bytes, serializer, head, false);
  }

  /**
   * commit(); `deferWake` (x86 only, see store()): publish with a plain store and leave the waiters check to the
   * caller, after the fence of its unlock.
   */
  #commit(bytes: Uint8Array, serializer: number, head: Uint8Array, deferWake: boolean): number {
    const i32 = this.#i32;
    const u32 = this.#u32;
    // Plain loads of pub and of the bank's sequence: only a holder of the exclusive lock writes them, so under it
    // they hold what the last holder wrote, which the lock's acquiring exchange made visible (an Atomics.load costs
    // ~8 ns here, a plain one nothing).
    const p = i32[H_PUB >> 2]!;
    const next = (p & 1) ^ 1;
    const d = BANK0 + next * BANK_BYTES;
    const w = d >> 2;
    // `length` (the byte count of a Uint8Array) is inlined; `byteLength` is a builtin call (~10 ns at 64 B).
    const hl = head === NO_HEAD ? 0 : head.length;
    const len = hl + bytes.length;
    if (this.#sysv && (u32[(BANK0 + D_PEND_PID) >> 2]! | u32[(BANK0 + BANK_BYTES + D_PEND_PID) >> 2]!) !== 0)
      this.#chain.recoverPending();
    if (this.#segs.size !== 0 && p !== this.#prunedAt) this.#prune(p);
    const seq = i32[w + (D_SEQ >> 2)]!;
    // odd: readers of this bank (from two commits ago) retry. On x86 a plain store is enough: stores become
    // visible in program order (TSO), so a reader that sees any byte below sees this first; the exchange that
    // Atomics.store compiles to costs ~16 ns, a third of a small store's time. Weaker CPUs keep the fence.
    if (needsFence) Atomics.store(i32, w + (D_SEQ >> 2), (seq | 1) + 2);
    else i32[w + (D_SEQ >> 2)] = (seq | 1) + 2;
    let nsegs = 0;
    if (len <= this.#inline) {
      const at = DATA_OFFSET + next * this.#inline;
      if (hl === 1) this.#bytes[at] = head[0]!;
      else if (hl !== 0) this.#bytes.set(head, at);
      this.#bytes.set(bytes, at + hl);
      if (u32[w + (D_ALLOC >> 2)] !== 0) this.#chain.trim(d, 0);
    } else {
      nsegs = this.#chain.write(d, head, bytes);
    }
    u32[w + (D_LEN_LO >> 2)] = len >>> 0;
    u32[w + (D_LEN_HI >> 2)] = len > 0xffffffff ? Math.floor(len / 2 ** 32) : 0;
    u32[w + (D_SERIALIZER >> 2)] = serializer >>> 0;
    u32[w + (D_NSEGS >> 2)] = nsegs;
    const serial = ((p >>> 1) + 1) & SERIAL_MASK || 1; // 0 means "never written"
    if (needsFence)
      Atomics.store(i32, w + (D_SEQ >> 2), (seq | 1) + 3); // even again: the bank is whole
    // x86 (see above): visible after everything before it, and before the pub store below.
    else i32[w + (D_SEQ >> 2)] = (seq | 1) + 3;
    // A full fence between publishing and reading the waiters word: with a plain store and no fence the waiters
    // load could pass it (x86 store buffer), and a watcher that counted itself in meanwhile would sleep through
    // this change: the two sides are a Dekker pair (the watcher's increment is a locked add). store() on x86 gets
    // the fence from its unlock and reads the waiters word after it; every other commit fences here.
    if (deferWake) {
      i32[H_PUB >> 2] = (serial << 1) | next;
    } else {
      Atomics.store(i32, H_PUB >> 2, (serial << 1) | next);
      if (Atomics.load(i32, WAITERS_W) !== 0) wakeWaiters(this.#region, H_PUB); // none: no syscall
    }
    // This handle's mappings are exact now: pruned above, and this commit closed what it dropped.
    this.#prunedAt = (serial << 1) | next;
    return serial;
  }

  // ------------------------------------------------------------------ reading

  #descLength(bank: number): number {
    const d = BANK0 + bank * BANK_BYTES;
    return this.#dv.getUint32(d + D_LEN_LO, true) + this.#dv.getUint32(d + D_LEN_HI, true) * 2 ** 32;
  }

  /** Store.fetch() once its arguments are checked: optimistic copies, then one under the shared lock. */
  fetch(into: Uint8Array | undefined, info: FetchInfo | undefined): Uint8Array {
    if (this.#lockedLarge > 0 && this.#lastLength > HUGE_READ) {
      // Writers overtook a recent large read: the next few go straight to the lock rather than copy in vain.
      this.#lockedLarge--;
    } else {
      for (let attempt = 0; attempt < OPTIMISTIC_TRIES; attempt++) {
        const r = this.#tryRead(into, info);
        if (r !== undefined) return r;
        this.#stats.retries++;
        // A large copy that a writer overtook will likely be overtaken again: wait for the lock instead (a huge
        // one at once, and the next few too, since each wasted copy costs milliseconds).
        if (this.#lastLength > HUGE_READ) {
          this.#lockedLarge = LOCKED_LARGE_RUN;
          break;
        }
        if (this.#lastLength > LARGE_READ && attempt >= 1) break;
      }
    }
    // Writers keep overtaking: read under the shared lock, where no commit can happen. Raising H_STARVED makes
    // the next writers hold back (briefly) so that this reader gets its turn.
    this.#stats.lockedReads++;
    const i32 = this.#i32;
    Atomics.add(i32, H_STARVED >> 2, 1);
    try {
      this.#lock.lockShared();
      try {
        const r = this.#tryRead(into, info);
        if (r === undefined)
          throw corruptStore(this.#name, 'the current value is inconsistent even under the lock');
        return r;
      } finally {
        this.#lock.unlockShared();
      }
    } finally {
      Atomics.sub(i32, H_STARVED >> 2, 1);
      wordWake(this.#region, H_STARVED);
    }
  }

  /**
   * One optimistic read of the current bank; undefined if a writer rewrote that bank meanwhile. A commit
   * writes the other bank, so a reader only retries when two commits land during its copy.
   */
  #tryRead(into: Uint8Array | undefined, info: FetchInfo | undefined): Uint8Array | undefined {
    const i32 = this.#i32;
    const u32 = this.#u32;
    // x86: the first loads of pub and of the bank's sequence may be plain (two Atomics calls fewer per read): loads
    // are not reordered with loads there (TSO), the sequence's index depends on pub, and the JIT keeps both before
    // the Atomics call below (a builtin call, on the effect chain). The re-check of pub and the last look at the
    // sequence stay atomic on every CPU: they are what tell this read from a torn one. Weaker CPUs load each atomically.
    const p = TSO ? i32[H_PUB >> 2]! : Atomics.load(i32, H_PUB >> 2);
    const bank = p & 1;
    const d = BANK0 + bank * BANK_BYTES;
    const w = d >> 2;
    const seqIndex = w + (D_SEQ >> 2);
    const seq = TSO ? i32[seqIndex]! : Atomics.load(i32, seqIndex);
    if ((seq & 1) !== 0) return undefined;
    // Still published after the sequence was read: else two commits may have passed since `p` was read, and this
    // bank may hold a newer value than `p` says, or one written but never published (store.md, "Fetch").
    if (Atomics.load(i32, H_PUB >> 2) !== p) return undefined;
    const len = u32[w + (D_LEN_LO >> 2)]! + u32[w + (D_LEN_HI >> 2)]! * 2 ** 32;
    this.#lastLength = len;
    const nsegs = u32[w + (D_NSEGS >> 2)]!;
    const sid = u32[w + (D_SERIALIZER >> 2)]!;
    // Checked before anything is allocated: a corrupt length must not size a buffer.
    const bad = this.#descError(d, bank, len, nsegs);
    if (bad !== undefined) {
      if (Atomics.load(i32, seqIndex) !== seq) return undefined;
      throw bad;
    }
    let out: Uint8Array;
    let outWords: Int32Array | undefined;
    if (into) {
      if (into.length < len) {
        if (Atomics.load(i32, seqIndex) !== seq) return undefined;
        throw new ShmError(
          'ERR_SHM_TOO_LARGE',
          `${this.#name}: the value has ${len} bytes but the buffer given to fetch() holds ${into.byteLength}`,
          { target: this.#name },
        );
      }
      if (this.#intoBuf !== into) this.#adoptInto(into);
      outWords = this.#intoWords;
      if (len === into.length) out = into;
      else {
        const v = this.#intoView;
        if (v !== undefined && v.length === len) out = v;
        else out = this.#intoView = into.subarray(0, len);
      }
    } else {
      out = Buffer.allocUnsafe(len);
    }
    if (nsegs === 0) {
      const start = DATA_OFFSET + bank * this.#inline;
      const src = this.#bytes;
      if (outWords !== undefined && len <= SMALL_COPY && this.#inlineAligned && outWords.length >= len >> 2) {
        // Small values into a caller's (aligned) buffer: a word loop, with no view to create, is the fastest copy.
        const n = len >> 2;
        const s = start >> 2;
        for (let i = 0; i < n; i++) outWords[i] = i32[s + i]!;
        for (let i = n << 2; i < len; i++) out[i] = src[start + i]!;
      } else if (len <= 16) {
        for (let i = 0; i < len; i++) out[i] = src[start + i]!;
      } else {
        out.set(src.subarray(start, start + len));
      }
    } else {
      // #descError mapped and checked the segments that hold the value: copy from those.
      const found = this.#found;
      let off = 0;
      for (let j = 0; j < nsegs && off < len; j++) {
        const seg = found[j]!;
        const n = Math.min(seg.size - C_DATA, len - off);
        out.set(this.#segData(seg, n), off);
        off += n;
      }
      if (off < len) {
        if (Atomics.load(i32, seqIndex) !== seq) return undefined;
        throw corruptStore(this.#name, `the chain holds ${off} of the ${len} bytes it should`);
      }
    }
    if (needsFence) Atomics.exchange(fenceWord, 0, 0);
    if (Atomics.load(i32, seqIndex) !== seq) return undefined;
    if (this.#segs.size !== 0 && p !== this.#prunedAt) this.#prune(p);
    if (info) {
      info.serial = p >>> 1;
      info.serializerId = sid;
    }
    return out;
  }

  /**
   * Why bank `bank` (descriptor at `d`) cannot describe a value of `len` bytes in `nsegs` chained segments, or
   * undefined if it can: limits first, then the chain itself (mapped and checked, so its room is known).
   */
  #descError(d: number, bank: number, len: number, nsegs: number): ShmError | undefined {
    if (
      len > this.#capacity ||
      nsegs > MAX_SEGS ||
      (nsegs === 0 && len > this.#inline) ||
      (nsegs > 0 && len <= this.#inline)
    ) {
      return corruptStore(this.#name, `bank ${bank} describes ${len} bytes in ${nsegs} segments`);
    }
    if (nsegs === 0) return undefined;
    const dv = this.#dv;
    const found = this.#found;
    let room = 0;
    for (let j = 0; j < nsegs && room < len; j++) {
      const gen = dv.getUint32(d + D_SEGS + 8 * j, true);
      const seg = this.#chain.segment(gen, dv.getUint32(d + D_SEGS + 8 * j + 4, true), false);
      if (!seg) return this.#chain.missingSegment(j, gen);
      found[j] = seg;
      room += seg.size - C_DATA;
    }
    return room < len
      ? corruptStore(this.#name, `the chain holds ${room} of the ${len} bytes it should`)
      : undefined;
  }

  /** The current value's length if its bank holds up (see #descError), else 0: getValue() sizes its buffer by it. */
  checkedLength(): number {
    const p = Atomics.load(this.#i32, H_PUB >> 2);
    const bank = p & 1;
    const d = BANK0 + bank * BANK_BYTES;
    const len = this.#descLength(bank);
    return this.#descError(d, bank, len, this.#u32[(d + D_NSEGS) >> 2]!) === undefined ? len : 0;
  }

  /** The first `n` data bytes of chained segment `seg` (a mapped, checked segment of this handle's chain). */
  #segData(seg: Region, n: number): Uint8Array {
    if (seg === this.#dataSeg && n === this.#dataLen) return this.#dataView!;
    this.#dataSeg = seg;
    this.#dataLen = n;
    return (this.#dataView = seg.bytes.subarray(C_DATA, C_DATA + n));
  }

  #adoptInto(into: Uint8Array) {
    this.#intoBuf = into;
    this.#intoView = undefined;
    this.#intoWords =
      (into.byteOffset & 3) === 0 && into.byteLength >= 4
        ? new Int32Array(into.buffer, into.byteOffset, into.byteLength >> 2)
        : undefined;
  }

  /** Store.viewLocked() once its argument is checked: the current inline value in place, under this handle's lock. */
  viewLocked(info: FetchInfo | undefined): Uint8Array | undefined {
    const lock = this.#lock;
    if (!lock.holdsShared && !lock.holdsExclusive) {
      throw new ShmError(
        'ERR_SHM_NOT_HELD',
        `${this.#name}: viewLocked needs this handle's lock (shared or exclusive)`,
        {
          target: this.#name,
        },
      );
    }
    const u32 = this.#u32;
    const p = Atomics.load(this.#i32, H_PUB >> 2);
    const bank = p & 1;
    const d = BANK0 + bank * BANK_BYTES;
    const w = d >> 2;
    const len = u32[w + (D_LEN_LO >> 2)]! + u32[w + (D_LEN_HI >> 2)]! * 2 ** 32;
    const nsegs = u32[w + (D_NSEGS >> 2)]!;
    const bad = this.#descError(d, bank, len, nsegs);
    if (bad !== undefined) throw bad;
    if (this.#segs.size !== 0 && p !== this.#prunedAt) this.#prune(p);
    if (info) {
      info.serial = p >>> 1;
      info.serializerId = u32[w + (D_SERIALIZER >> 2)]!;
    }
    if (nsegs !== 0) return undefined;
    const start = DATA_OFFSET + bank * this.#inline;
    const v = this.#lockedView;
    if (v !== undefined && v.byteOffset === start && v.byteLength === len) return v;
    return (this.#lockedView = this.#bytes.subarray(start, start + len));
  }

  /** Store.fetchAsync() once its arguments are checked. */
  async fetchAsync(into: Uint8Array | undefined, info: FetchInfo | undefined): Promise<Uint8Array> {
    for (let attempt = 0; attempt < OPTIMISTIC_TRIES; attempt++) {
      const r = this.#tryRead(into, info);
      if (r !== undefined) return r;
    }
    await this.#lock.lockSharedAsync();
    try {
      const r = this.#tryRead(into, info);
      if (r === undefined)
        throw corruptStore(this.#name, 'the current value is inconsistent even under the lock');
      return r;
    } finally {
      this.#lock.unlockShared();
    }
  }

  /** Unmaps the chained segments no descriptor names any more (see SegmentChain.prune), as of pub word `p`. */
  #prune(p: number): void {
    this.#prunedAt = p;
    this.#chain.prune();
  }
}
