// The chain of one IPC::ShareLite handle: its attachments of the head and chained segments, and the format's
// read_share and write_share over them (PERL-FORMATS.md §2-§3; docs/architecture/sharelite-format.md). Every call
// but version() runs under a lock the caller holds. Every header value is checked before use: another process
// (or a stray writer) may have put anything there.
import { sysv } from '@shm/core';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE } from './constants.js';
import { HEADER_SIZE, LENGTH, NEXT_SHMID, readPlan, SHM_STATE, VERSION, writePlan } from './protocol.js';
import { ShareErrors } from './share-errors.js';

/** One attached segment. The views stay valid until `map.close()`. */
interface Segment {
  shmid: number;
  map: NativeMapping;
  /** Header words: next_shmid, length (int32). */
  i32: Int32Array;
  /** Header words: shm_state, version (uint32). */
  u32: Uint32Array;
  /** The data area (segment size - 16 bytes), for copies. */
  data: Uint8Array;
}

type NativeMapping = sysv.NativeMapping;

const MAX_KEY_PROBES = 1 << 20;
/** Up to this many bytes a loop copies faster than a subarray and set(). */
const SMALL = 64;
const { code: errCode, hex } = ShareErrors;

const EMPTY = Buffer.alloc(0);

/** The result buffer: a view of `into` when it is large enough, else fresh (uninitialised: every byte is copied). */
function alloc(len: number, into: Uint8Array | undefined): Buffer {
  if (into && into.byteLength >= len) return Buffer.from(into.buffer, into.byteOffset, len);
  return Buffer.allocUnsafe(len);
}

/** The segments of one share as this handle has attached them, and the value they hold. */
export class ShareChain {
  readonly #key: number;
  readonly #flags: number;
  readonly #errors: ShareErrors;
  /** segs[0] is the head; segs[i] holds bytes [i*dataSize, (i+1)*dataSize). */
  #segs: Segment[] = [];
  #segSize = 0;
  #dataSize = 0;
  /** The head's shm_state when the attachments in #segs were made. */
  #state = 0;
  /** Next key to try for a new chained segment (per handle, as in Perl; only grows). */
  #nextKey: number;
  /** The lock tables the fast paths' plans lock with (ShareLock's). */
  readonly #tables: sysv.NativeSemTables;
  /**
   * The guarded copy plans over the current attachments and state (#readPlan; #writePlans[k] for a value of k
   * segments), made on first use and dropped by #changed(). The objects are kept: a plan's id dies with it.
   */
  #readPlan: sysv.NativeGuardedCopy | undefined;
  #readId = -1;
  #writePlans: (sysv.NativeGuardedCopy | undefined)[] = [];
  #writeIds: number[] = [];
  /** The length of the value last fetched: the size of the next fetch's buffer. */
  #lastLength = 0;

  constructor(key: number, flags: number, errors: ShareErrors, tables: sysv.NativeSemTables) {
    this.#key = key;
    this.#flags = flags;
    this.#errors = errors;
    this.#tables = tables;
    this.#nextKey = (key + 1) | 0;
  }

  /** The size of every segment, header included (the head's: the creator's choice). */
  get segmentSize(): number {
    return this.#segSize;
  }

  /** The head's shmid, -1 once detached. */
  get headShmid(): number {
    return this.#segs[0]?.shmid ?? -1;
  }

  /** The head's write counter (read without a lock, as Perl does). */
  get version(): number {
    return this.#segs[0]!.u32[VERSION]!;
  }

  /**
   * new_share steps 3-5 once the head is found: attaches it, initialises its header when `init` (semaphore 0 was
   * 0: nobody did yet), and adopts its size and shm_state.
   * @throws ShmError ERR_SHM_BAD_FORMAT when the head is too small to hold a header.
   */
  attachHead(shmid: number, init: () => boolean): void {
    const head = this.#attach(shmid, 'the head segment');
    this.#segs = [head];
    if (head.map.size <= HEADER_SIZE) {
      throw this.#errors.badFormat(`its head segment (shmid ${shmid}) is only ${head.map.size} bytes`);
    }
    if (init()) {
      head.i32[LENGTH] = 0;
      head.i32[NEXT_SHMID] = -1;
      head.u32[SHM_STATE] = 1;
      head.u32[VERSION] = 1;
    }
    this.#state = head.u32[SHM_STATE]!;
    this.#segSize = head.map.size;
    this.#dataSize = this.#segSize - HEADER_SIZE;
    this.#changed();
  }

  /** The id of the plan that fetches over the attached chain (protocol.ts readPlan). */
  readPlan(): number {
    if (this.#readId >= 0) return this.#readId;
    const segs = this.#segs;
    this.#readPlan = sysv.guardedCopyPlan(
      this.#tables,
      segs.map((s) => s.map),
      readPlan(this.#state, segs.length, this.#segSize),
    );
    this.#readId = this.#readPlan.id;
    return this.#readId;
  }

  /** The id of the plan that stores `len` bytes (protocol.ts writePlan); -1 when they need more segments attached. */
  writePlan(len: number): number {
    const k = len > this.#dataSize ? Math.ceil(len / this.#dataSize) : 1;
    const id = this.#writeIds[k];
    if (id !== undefined) return id;
    if (k > this.#segs.length) return -1;
    const plan = sysv.guardedCopyPlan(
      this.#tables,
      this.#segs.slice(0, k).map((s) => s.map),
      writePlan(this.#state, k, this.#segSize),
    );
    this.#writePlans[k] = plan;
    this.#writeIds[k] = plan.id;
    return plan.id;
  }

  /** The buffer for a fetch without `into`: as long as the value last fetched (from Node's pool when small). */
  fetchBuffer(): Buffer {
    return this.#lastLength > 0 ? Buffer.allocUnsafe(this.#lastLength) : EMPTY;
  }

  /** The value from a read plan that copied `n` bytes into `dest` (`into`, or fetchBuffer()'s). */
  fetched(dest: Uint8Array, n: number, into: Uint8Array | undefined): Buffer {
    if (into) return Buffer.from(into.buffer, into.byteOffset, n);
    this.#lastLength = n;
    if (n === dest.byteLength) return dest as Buffer;
    // The value shrank: an exact copy, so a small value never pins the larger buffer.
    return n === 0 ? Buffer.alloc(0) : Buffer.from(dest.subarray(0, n));
  }

  /** read_share steps 2-3: the value (see ShareLite.fetch for `into`). */
  read(into: Uint8Array | undefined): Buffer {
    this.#revalidate();
    const head = this.#segs[0]!;
    const len = head.i32[LENGTH]!;
    if (len < 0) throw this.#errors.badFormat(`its header says the value is ${len} bytes long`);
    this.#lastLength = len;
    if (len === 0) return Buffer.alloc(0);
    const ds = this.#dataSize;
    if (len <= ds) {
      const out = alloc(len, into);
      const data = head.data;
      if (len <= SMALL) for (let i = 0; i < len; i++) out[i] = data[i]!;
      else out.set(len === ds ? data : data.subarray(0, len), 0);
      return out;
    }
    const nseg = Math.ceil(len / ds);
    // Walk (and validate) the whole chain before allocating, so a corrupt length cannot make us allocate
    // more than the chain actually holds.
    for (let i = 1; i < nseg; i++) this.#segment(i, false, len);
    const out = alloc(len, into);
    for (let i = 0, off = 0; i < nseg; i++, off += ds) {
      const seg = this.#segs[i]!;
      const n = len - off;
      out.set(n >= ds ? seg.data : seg.data.subarray(0, n), off);
    }
    return out;
  }

  /** write_share steps 2-7: stores `bytes` (`len` long); the caller holds EX. */
  write(bytes: Uint8Array, len: number): void {
    this.#revalidate();
    const head = this.#segs[0]!;
    const ds = this.#dataSize;
    // Crash safety as in Perl: a writer that dies while copying leaves an empty value, never a torn one.
    head.i32[LENGTH] = 0;
    try {
      if (len <= ds) {
        head.data.set(bytes, 0);
      } else {
        for (let i = 0, off = 0; off < len; i++, off += ds) {
          const seg = this.#segment(i, true);
          const n = Math.min(ds, len - off);
          seg.data.set(bytes.subarray(off, off + n), 0);
        }
      }
      head.i32[LENGTH] = len;
      const last = this.#segs[len > ds ? Math.ceil(len / ds) - 1 : 0]!;
      if (last.i32[NEXT_SHMID]! >= 0) this.#collect(last);
    } finally {
      // Also after a failure: the value changed (to empty), and readers that cache by version must see it.
      head.u32[VERSION] = head.u32[VERSION]! + 1;
    }
  }

  /**
   * The number of segments, walked through the next_shmid links (without a lock, as Perl does: a writer may
   * remove a segment meanwhile, then this throws EINVAL/EIDRM and the caller walks again).
   * @throws ShmError ERR_SHM_BAD_FORMAT when the chain loops or points at a segment of another size.
   */
  count(): number {
    const head = this.#segs[0]!;
    const fresh = head.u32[SHM_STATE] === this.#state;
    const seen = new Set<number>([head.shmid]);
    let n = 1;
    let id = head.i32[NEXT_SHMID]!;
    while (id >= 0) {
      if (seen.has(id)) throw this.#errors.badFormat(`its chain loops back to shmid ${id}`);
      seen.add(id);
      n++;
      const c = fresh ? this.#segs[n - 1] : undefined;
      if (c && c.shmid === id) {
        id = c.i32[NEXT_SHMID]!;
        continue;
      }
      const m = sysv.shmat(id, { readonly: true });
      try {
        if (m.size !== this.#segSize) {
          throw this.#errors.badFormat(`shmid ${id} in its chain is ${m.size} bytes, not ${this.#segSize}`);
        }
        id = new Int32Array(m.buffer!, 0, 1)[0]!;
      } finally {
        m.close();
      }
    }
    return n;
  }

  /**
   * destroy_share with destroy=1, the segments' part; the caller holds EX. Removes the chain and the head and
   * detaches everything. Returns the head's removal error, if any (the chain's problems are only warned of).
   */
  removeAll(): unknown {
    const head = this.#segs[0]!;
    const cached = new Map<number, Segment>();
    for (let i = 1; i < this.#segs.length; i++) cached.set(this.#segs[i]!.shmid, this.#segs[i]!);
    this.#segs.length = 1;
    this.#changed();
    this.#removeChain(head.i32[NEXT_SHMID]!, cached);
    head.map.close();
    this.#segs = [];
    try {
      sysv.shmRemove(head.shmid);
    } catch (e) {
      return e;
    }
    return undefined;
  }

  /** Detaches every segment (shmdt); the chain is unusable afterwards. */
  detachAll(): void {
    for (const s of this.#segs) s.map.close();
    this.#segs = [];
    this.#changed();
  }

  /** The attachments or the state changed: the plans made over the old ones go. */
  #changed(): void {
    this.#readPlan = undefined;
    this.#readId = -1;
    if (this.#writeIds.length > 0) {
      this.#writePlans = [];
      this.#writeIds = [];
    }
  }

  /** If another process removed segments (shm_state changed), drop every attachment but the head's. */
  #revalidate(): void {
    const head = this.#segs[0]!;
    const st = head.u32[SHM_STATE]!;
    if (st === this.#state) return;
    for (let i = 1; i < this.#segs.length; i++) this.#segs[i]!.map.close();
    this.#segs.length = 1;
    this.#state = st;
    this.#changed();
  }

  /** Segment i of the chain, attaching the linked one or (for a writer) creating it. */
  #segment(i: number, create: boolean, len = 0): Segment {
    const have = this.#segs[i];
    if (have) return have;
    const prev = this.#segs[i - 1]!;
    const next = prev.i32[NEXT_SHMID]!;
    let seg: Segment;
    if (next >= 0) {
      seg = this.#attachChained(next, i);
    } else if (create) {
      seg = this.#createSegment();
      prev.i32[NEXT_SHMID] = seg.shmid;
    } else {
      throw this.#errors.badFormat(
        `its header says the value is ${len} bytes long but the chain ends after ${i} segment(s) of ${this.#dataSize} data bytes`,
      );
    }
    this.#segs.push(seg);
    this.#changed();
    return seg;
  }

  #attachChained(shmid: number, index: number): Segment {
    if (this.#segs.some((s) => s.shmid === shmid)) {
      throw this.#errors.badFormat(`its chain loops: segment ${index} links back to shmid ${shmid}`);
    }
    let seg: Segment;
    try {
      seg = this.#attach(shmid, `segment ${index}`);
    } catch (e) {
      const c = errCode(e);
      if (c === 'EINVAL' || c === 'EIDRM') {
        throw this.#errors.badFormat(`segment ${index - 1} links to shmid ${shmid}, which does not exist`, e);
      }
      throw e;
    }
    if (seg.map.size !== this.#segSize) {
      seg.map.close();
      throw this.#errors.badFormat(
        `segment ${index} (shmid ${shmid}) is ${seg.map.size} bytes, not ${this.#segSize} like the head: not part of this share`,
      );
    }
    return seg;
  }

  #createSegment(): Segment {
    const flags = this.#flags | IPC_CREAT | IPC_EXCL;
    const priv = this.#key === IPC_PRIVATE;
    for (let probes = 0; ; probes++) {
      // Perl gives a private share's segments the public keys 1, 2, 3...; private segments cannot collide.
      const key = priv ? IPC_PRIVATE : this.#nextKey;
      if (!priv) this.#nextKey = (this.#nextKey + 1) | 0;
      let shmid: number;
      try {
        shmid = sysv.shmget(key, this.#segSize, flags);
      } catch (e) {
        const c = errCode(e);
        if ((c === 'EEXIST' || c === 'EIDRM') && probes < MAX_KEY_PROBES) continue;
        throw this.#errors.system(e, `cannot create a chained segment (key ${hex(key)}) for`);
      }
      let seg: Segment;
      try {
        seg = this.#attach(shmid, 'a new segment');
      } catch (e) {
        sysv.shmRemove(shmid);
        throw e;
      }
      seg.i32[NEXT_SHMID] = -1;
      seg.i32[LENGTH] = 0;
      return seg;
    }
  }

  #attach(shmid: number, what: string): Segment {
    let map: NativeMapping;
    try {
      map = sysv.shmat(shmid);
    } catch (e) {
      throw this.#errors.system(e, `cannot attach ${what} (shmid ${shmid}) of`);
    }
    const ab = map.buffer!;
    const size = map.size;
    const ds = size > HEADER_SIZE ? size - HEADER_SIZE : 0;
    return {
      shmid,
      map,
      i32: new Int32Array(ab, 0, size >= HEADER_SIZE ? 4 : 0),
      u32: new Uint32Array(ab, 0, size >= HEADER_SIZE ? 4 : 0),
      data: new Uint8Array(ab, size >= HEADER_SIZE ? HEADER_SIZE : 0, ds),
    };
  }

  /** GC after a shrink: remove every segment after `last`, unlink it and bump shm_state. */
  #collect(last: Segment): void {
    const head = this.#segs[0]!;
    const keep = this.#segs.indexOf(last) + 1;
    const cached = new Map<number, Segment>();
    for (let i = keep; i < this.#segs.length; i++) cached.set(this.#segs[i]!.shmid, this.#segs[i]!);
    this.#segs.length = keep;
    this.#removeChain(last.i32[NEXT_SHMID]!, cached);
    last.i32[NEXT_SHMID] = -1;
    head.u32[SHM_STATE] = head.u32[SHM_STATE]! + 1;
    this.#state = head.u32[SHM_STATE]!;
    this.#changed();
  }

  /**
   * Detaches and removes the chain that starts at `shmid`. Only segments of the head's size that are not seen
   * twice are removed, so a corrupt link never makes us remove somebody else's segment. Segments in `cached`
   * (attached when this handle last followed the chain, under the lock) that the walk did not reach are removed
   * too: a broken link (a share opened at one of our chained keys took a segment over and destroyed it, or the
   * memory was overwritten) would otherwise leak the rest of the chain, as it does in Perl. Holding them attached
   * means their shmids still name those segments.
   */
  #removeChain(shmid: number, cached: Map<number, Segment>): void {
    const seen = new Set<number>(this.#segs.map((s) => s.shmid));
    const gone: number[] = [];
    let id = shmid;
    while (id >= 0) {
      if (seen.has(id)) {
        this.#errors.warn(`the chain loops back to shmid ${id}; stopped removing there`);
        break;
      }
      seen.add(id);
      let seg = cached.get(id);
      cached.delete(id);
      if (!seg) {
        try {
          seg = this.#attach(id, 'a chained segment');
        } catch (e) {
          this.#errors.warn(
            `could not attach shmid ${id} to follow the chain (${(e as Error).message}); stopped there`,
          );
          break;
        }
      }
      if (seg.map.size !== this.#segSize) {
        seg.map.close();
        this.#errors.warn(`shmid ${id} is ${seg.map.size} bytes, not ${this.#segSize}: not ours, left alone`);
        break;
      }
      const next = seg.i32[NEXT_SHMID]!;
      seg.map.close();
      this.#removeSegment(id, gone);
      id = next;
    }
    for (const [cid, seg] of cached) {
      seg.map.close();
      this.#removeSegment(cid, gone);
    }
    if (gone.length > 0) {
      this.#errors.warn(
        `chained segment${gone.length > 1 ? 's' : ''} (shmid ${gone.join(', ')}) had been removed by another ` +
          'process: a share opened at one of keys key+1, key+2... takes over this share’s chained segments',
      );
    }
  }

  /** IPC_RMID one segment; an id already removed (EINVAL, EIDRM) goes to `gone`, other failures are warned of. */
  #removeSegment(id: number, gone: number[]): void {
    try {
      sysv.shmRemove(id);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EINVAL' || code === 'EIDRM') gone.push(id);
      else this.#errors.warn(`could not remove shmid ${id}: ${(e as Error).message}`);
    }
  }
}
