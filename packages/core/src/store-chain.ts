// The segment chain of a store: the chained segments that hold a value too large for the head's inline banks.
// Allocating, mapping (checked against the store's id), trimming and removing them, and recovering what a writer
// killed mid-allocation left behind (SysV: the intent protocol and the orphan sweep). docs/architecture/store.md,
// "Chained segments". Every method except segment() runs under the store's exclusive lock.
import { readFileSync } from 'node:fs';
import {
  isAlive,
  listSysv,
  processId,
  ShmError,
  shmget,
  shmRemove,
  shmStat,
  startTimeOf,
  sysvFlags,
} from '@shm/native';
import { isExistsError, isNotFoundError } from './error-codes.js';
import { type Backend, Region, type RegionOptions } from './region.js';
import {
  BANK_BYTES,
  BANK0,
  C_DATA,
  C_GEN,
  C_MAGIC,
  C_SIZE,
  C_STORE_ID,
  CHAIN_MAGIC,
  corruptStore,
  D_ALLOC,
  D_PEND_PID,
  D_PEND_TIME,
  D_SEGS,
  DATA_OFFSET,
  H_SEGGEN,
  MAX_SEGS,
  MIN_SEG,
} from './store-format.js';

/**
 * Test hook (inert unless set): SHM_TEST_KILL_AFTER_SHMGET=1 makes a SysV writer SIGKILL itself right after shmget()
 * created a chained segment and before its id is recorded, the window store.md describes. Read once at load.
 */
const killAfterShmget = process.env.SHM_TEST_KILL_AFTER_SHMGET === '1';

let bootSeconds: number | undefined;
/**
 * When the live task `id` (a process or thread) started, in seconds since the epoch, or 0 if this cannot be told.
 * Linux: its start in clock ticks since boot (/proc/<id>/stat) over USER_HZ, which is 100 on every architecture
 * Node runs on, after the boot time (/proc/stat btime); both to about a second. macOS: procInfo gives seconds.
 */
function taskStartSeconds(id: number): number {
  const start = startTimeOf(id);
  if (start === 0) return 0;
  if (process.platform === 'darwin') return start;
  if (process.platform !== 'linux') return 0;
  if (bootSeconds === undefined) {
    try {
      bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1] ?? 0);
    } catch {
      bootSeconds = 0;
    }
  }
  return bootSeconds === 0 ? 0 : bootSeconds + start / 100;
}

/** The chained segments of one store's head, as one handle maps them. */
export class SegmentChain {
  /**
   * The segments this handle maps, by generation (SysV: shmid). The store's read and commit paths test its size
   * themselves (nothing to prune while it is empty), so they hold this same Map.
   */
  readonly segs = new Map<number, Region>();
  readonly #head: Region;
  readonly #name: string;
  readonly #dv: DataView;
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #storeId: number;
  readonly #maxSeg: number;
  readonly #backend: Backend;
  readonly #sysv: boolean;
  /** Mode of new SysV segments. */
  readonly #mode: number;

  constructor(head: Region, storeId: number, maxSeg: number, backend: Backend, mode: number) {
    this.#head = head;
    this.#name = head.id;
    this.#dv = new DataView(head.buffer);
    this.#i32 = head.i32;
    this.#u32 = new Uint32Array(head.buffer, 0, DATA_OFFSET / 4);
    this.#storeId = storeId;
    this.#maxSeg = maxSeg;
    this.#backend = backend;
    this.#sysv = backend === 'sysv';
    this.#mode = mode;
  }

  /** Writes `head` then `bytes` across chained segments of descriptor `d`, reusing, adding or dropping segments. */
  write(d: number, head: Uint8Array, bytes: Uint8Array): number {
    const dv = this.#dv;
    let alloc = Math.min(dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
    let off = 0;
    let j = 0;
    const hl = head.byteLength;
    const len = hl + bytes.byteLength;
    while (off < len) {
      if (j >= MAX_SEGS)
        throw new ShmError('ERR_SHM_TOO_LARGE', `${this.#name}: value needs more than ${MAX_SEGS} segments`);
      const left = len - off;
      let seg: Region | undefined;
      if (j < alloc) {
        const gen = dv.getUint32(d + D_SEGS + 8 * j, true);
        const size = dv.getUint32(d + D_SEGS + 8 * j + 4, true);
        // Keep an existing segment unless it is far too big for what is left (then it is replaced).
        const tooBig = size > MIN_SEG && size - C_DATA >= 4 * left && j === alloc - 1;
        if (!tooBig) seg = this.segment(gen, size, true);
        if (!seg) {
          this.#dropSegments(d, j, alloc);
          alloc = j;
        }
      }
      if (!seg) {
        const size = Math.min(this.#maxSeg, Math.max(MIN_SEG, nextPow2(left + C_DATA)));
        seg = this.#newSegment(d, j, size);
        alloc = j + 1;
      }
      const room = seg.size - C_DATA;
      const n = Math.min(room, left);
      let at = C_DATA;
      let from = off;
      if (from < hl) {
        // The head (a tag, a few bytes) goes first: into the first segment, which holds at least 64 KiB.
        const h = Math.min(hl - from, n);
        seg.bytes.set(h === hl ? head : head.subarray(from, from + h), at);
        at += h;
        from += h;
      }
      const m = off + n - from;
      const b = from - hl;
      if (m > 0) seg.bytes.set(b === 0 && m === bytes.byteLength ? bytes : bytes.subarray(b, b + m), at);
      off += n;
      j++;
    }
    // Segments past what this value needs are released at once.
    if (alloc > j) this.trim(d, j);
    return j;
  }

  #newSegment(d: number, j: number, size: number): Region {
    const dv = this.#dv;
    let gen: number;
    let region: Region;
    if (this.#sysv) {
      // A private segment has no name to record beforehand, so the intent is recorded instead: this pid and the
      // time. A writer killed between shmget() returning and the id being recorded leaves them, and the next
      // writer removes the blank segment that pid created (recoverPending; docs/architecture/store.md).
      const pend = (d + D_PEND_PID) >> 2;
      this.#u32[(d + D_PEND_TIME) >> 2] = Math.floor(Date.now() / 1000) >>> 0;
      Atomics.store(this.#i32, pend, processId());
      try {
        gen = shmget(0, size, sysvFlags({ create: true, exclusive: true, mode: this.#mode }));
      } catch (e) {
        Atomics.store(this.#i32, pend, 0);
        throw e;
      }
      if (killAfterShmget) process.kill(process.pid, 'SIGKILL');
      dv.setUint32(d + D_SEGS + 8 * j, gen, true);
      dv.setUint32(d + D_SEGS + 8 * j + 4, size, true);
      dv.setUint32(d + D_ALLOC, j + 1, true);
      Atomics.store(this.#i32, pend, 0);
      region = Region.open({ backend: 'sysv', shmid: gen, register: false });
    } else {
      gen = (dv.getUint32(H_SEGGEN, true) + 1) >>> 0;
      dv.setUint32(H_SEGGEN, gen, true);
      // Recorded before creation: a writer that dies between the two leaves a name the next writer cleans up.
      dv.setUint32(d + D_SEGS + 8 * j, gen, true);
      dv.setUint32(d + D_SEGS + 8 * j + 4, size, true);
      dv.setUint32(d + D_ALLOC, j + 1, true);
      const o = this.#segOptions(gen);
      try {
        region = Region.create({ ...o, size, exclusive: true, register: false, populate: true });
      } catch (e) {
        if (!isExistsError(e)) throw e;
        // Left by a writer that died: it was never part of a committed value. (A Windows section cannot be
        // removed, but one left by a dead writer is gone already unless a reader still maps it.)
        Region.remove(o);
        region = Region.create({ ...o, size, exclusive: true, register: false, populate: true });
      }
    }
    const sdv = new DataView(region.buffer);
    sdv.setUint32(C_STORE_ID, this.#storeId, true);
    sdv.setUint32(C_GEN, gen, true);
    sdv.setUint32(C_SIZE, size, true);
    sdv.setUint32(C_MAGIC, CHAIN_MAGIC, true);
    dv.setUint32(d + D_SEGS + 8 * j, gen, true);
    dv.setUint32(d + D_SEGS + 8 * j + 4, size, true);
    dv.setUint32(d + D_ALLOC, j + 1, true);
    this.segs.set(gen, region);
    return region;
  }

  /**
   * Holding the exclusive lock: a SysV writer died between shmget() and recording the id (its intent is still in a
   * descriptor). Removes the segment it created: private, created by that (dead) pid no earlier than the intent,
   * unattached, its header still blank, and named by no descriptor. Then clears the intent.
   */
  recoverPending(): void {
    const u32 = this.#u32;
    for (let bank = 0; bank < 2; bank++) {
      const d = BANK0 + bank * BANK_BYTES;
      const pid = u32[(d + D_PEND_PID) >> 2]!;
      if (pid === 0) continue;
      const since = u32[(d + D_PEND_TIME) >> 2]!;
      // The writer that recorded the intent is gone if its pid is, or if the task that has the pid now (ours, or
      // another that reused it) started after the segment was made: only segments made before that start count
      // (with two seconds for the clocks' granularity), so a live task's own are never touched. A start that
      // cannot be told leaves a live pid's segments alone.
      let before = 0;
      if (pid > 0 && pid <= 0x3fffffff) {
        before = pid !== processId() && !isAlive(pid) ? Number.POSITIVE_INFINITY : taskStartSeconds(pid) - 2;
      }
      if (before > 0) {
        for (const e of listSysv()) {
          if (e.kind !== 'shm' || e.key !== 0 || e.cpid !== pid || e.nattch !== 0 || this.#named(e.id))
            continue;
          if (this.#blankOrphan(e.id, pid, since, before)) {
            try {
              shmRemove(e.id);
            } catch {
              /* gone meanwhile */
            }
          }
        }
      }
      Atomics.store(this.#i32, (d + D_PEND_PID) >> 2, 0);
    }
  }

  /**
   * Whether SysV segment `id` is the blank one a writer (pid `pid`, intent at `since` s) left before recording it,
   * made before `before` (seconds since the epoch).
   */
  #blankOrphan(id: number, pid: number, since: number, before: number): boolean {
    let st: ReturnType<typeof shmStat>;
    try {
      st = shmStat(id);
      if (st.key !== 0 || st.cpid !== pid || st.nattch !== 0 || st.ctime + 1 < since || st.ctime >= before)
        return false;
      if (st.size < MIN_SEG || st.size > this.#maxSeg) return false;
    } catch {
      return false;
    }
    const h = sysvChainHeader(id);
    return h !== undefined && h.magic === 0 && h.storeId === 0;
  }

  /**
   * destroy(), holding the exclusive lock, after the descriptors' segments are gone: removes every other private
   * segment whose header carries this store's id (the first word a writer writes). No descriptor names one any
   * more, but a writer killed at the wrong instant can leave one that no descriptor ever named or that a later
   * commit forgot; the store is going away, so each of them is garbage. A blank header (no id yet) is left to the
   * intent protocol (recoverPending): it cannot be told apart from someone else's segment.
   */
  sweepOwnSegments(): void {
    for (const seg of this.segs.values()) seg.close();
    this.segs.clear();
    for (const e of listSysv()) {
      if (e.kind !== 'shm' || e.key !== 0 || e.nattch !== 0) continue;
      if (e.size < MIN_SEG || e.size > this.#maxSeg) continue;
      const h = sysvChainHeader(e.id); // undefined: gone meanwhile, or not ours to read
      if (h === undefined || (h.magic !== CHAIN_MAGIC && h.magic !== 0) || h.storeId !== this.#storeId)
        continue;
      try {
        shmRemove(e.id);
      } catch {
        /* gone meanwhile */
      }
    }
  }

  /** Whether either bank descriptor names segment `gen` (a generation, or a SysV shmid) among its allocated entries. */
  #named(gen: number): boolean {
    const u32 = this.#u32;
    for (let bank = 0; bank < 2; bank++) {
      const d = BANK0 + bank * BANK_BYTES;
      const alloc = Math.min(u32[(d + D_ALLOC) >> 2]!, MAX_SEGS);
      for (let j = 0; j < alloc; j++) if (u32[(d + D_SEGS + 8 * j) >> 2] === gen) return true;
    }
    return false;
  }

  /**
   * Unmaps the chained segments neither bank descriptor names any more (removed by another process's commits), so
   * that a handle maps at most the 2 x 28 segments the descriptors can name. Called when a read or a commit finds
   * the pub word changed since the last prune: one scan of both descriptors, only when the value changed.
   */
  prune(): void {
    for (const [gen, seg] of this.segs) {
      if (this.#named(gen)) continue;
      seg.close();
      this.segs.delete(gen);
    }
  }

  #segOptions(gen: number): RegionOptions {
    const base = this.#head.name!;
    if (this.#backend === 'posix') return { backend: 'posix', name: `${base}.${gen}` };
    if (this.#backend === 'file') return { backend: 'file', path: `${base}.${gen}` };
    // Windows: a segment another process must open needs a name (there is no private id as with SysV).
    if (this.#backend === 'win32') return { backend: 'win32', name: `${base}.seg${gen}` };
    return { backend: 'sysv', shmid: gen };
  }

  /** Drops segment entries [from, alloc) of descriptor d, keeping up to one spare of modest size. */
  trim(d: number, keep: number) {
    const alloc = Math.min(this.#dv.getUint32(d + D_ALLOC, true), MAX_SEGS);
    if (alloc > keep) this.#dropSegments(d, keep, alloc);
  }

  #dropSegments(d: number, from: number, alloc: number) {
    const dv = this.#dv;
    // Remove first, then shorten the list: a writer killed in between leaves entries naming removed segments,
    // which the next writer skips (ENOENT), never segments that no entry names (a leak).
    for (let j = from; j < alloc; j++) {
      const gen = dv.getUint32(d + D_SEGS + 8 * j, true);
      const cached = this.segs.get(gen);
      if (cached) {
        cached.close();
        this.segs.delete(gen);
      }
      if (!this.#removable(gen, dv.getUint32(d + D_SEGS + 8 * j + 4, true))) continue;
      try {
        Region.remove(this.#segOptions(gen));
      } catch {
        /* already gone */
      }
    }
    dv.setUint32(d + D_ALLOC, from, true);
  }

  /**
   * Whether the segment a descriptor entry names may be removed. The entry comes from shared memory: a named
   * segment is derived from this store's own name, but a SysV id could be any segment of the user's, and an
   * anonymous store has no chained segments at all (an entry there is corruption, and names nothing of ours).
   */
  #removable(gen: number, size: number): boolean {
    if (this.#backend === 'memfd') return false;
    if (this.#backend !== 'sysv') return true;
    let st: ReturnType<typeof shmStat>;
    try {
      st = shmStat(gen);
      if (st.key !== 0) return false; // ours are private
    } catch {
      return false;
    }
    const h = sysvChainHeader(gen);
    if (h === undefined) return false;
    if (h.magic === CHAIN_MAGIC) return h.storeId === this.#storeId && h.gen === gen;
    // A writer killed between shmget() and the end of the header (the magic is written last) left it blank or
    // part-written: each field still zero or already this store's. Unattached, its creator dead.
    return (
      h.magic === 0 &&
      (h.storeId === 0 || h.storeId === this.#storeId) &&
      (h.gen === 0 || h.gen === gen) &&
      (h.size === 0 || h.size === size) &&
      st.size === size &&
      st.nattch === 0 &&
      !isAlive(st.cpid)
    );
  }

  /** Maps (or returns the cached mapping of) chained segment `gen`, checking it belongs to this store. */
  segment(gen: number, size: number, forWrite: boolean): Region | undefined {
    const cached = this.segs.get(gen);
    if (cached && cached.size === size) return cached;
    if (cached) {
      cached.close();
      this.segs.delete(gen);
    }
    if (size < MIN_SEG || size > this.#maxSeg) return undefined;
    let region: Region;
    try {
      region = Region.open({ ...this.#segOptions(gen), populate: !forWrite });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (isNotFoundError(e) || code === 'EINVAL' || code === 'EIDRM' || code === 'ERR_SHM_BAD_FORMAT')
        return undefined;
      throw e;
    }
    const dv = new DataView(region.buffer);
    if (
      region.size !== size ||
      dv.getUint32(C_MAGIC, true) !== CHAIN_MAGIC ||
      dv.getUint32(C_STORE_ID, true) !== this.#storeId ||
      dv.getUint32(C_GEN, true) !== gen ||
      dv.getUint32(C_SIZE, true) !== size
    ) {
      region.close();
      return undefined;
    }
    this.segs.set(gen, region);
    return region;
  }

  /** The error for chained segment `j` (generation `gen`) of the current value, which segment() did not find. */
  missingSegment(j: number, gen: number): ShmError {
    if (this.#backend === 'win32') {
      // Not corruption: a pagefile-backed section vanishes when the last process mapping it closes it.
      return new ShmError(
        'ERR_SHM_NOT_FOUND',
        `${this.#name}: chained segment ${j} (${this.#head.name}.seg${gen}) of the current value is gone: on Windows a segment lives only while a process maps it, and every process that did closed it before this one read the value (use a file-backed store, or a larger inlineCapacity, for values that must outlive their writer)`,
        { target: this.#name },
      );
    }
    return corruptStore(
      this.#name,
      `chained segment ${j} (id ${gen}) is missing or is not part of this store`,
    );
  }

  /** Unmaps every chained segment this handle maps (they stay for others). */
  close(): void {
    for (const s of this.segs.values()) s.close();
    this.segs.clear();
  }
}

/**
 * The chained-segment header of SysV segment `shmid`, read through a read-only attach that is detached at once;
 * undefined if it cannot be attached (gone, not ours to read) or is smaller than a header. Its words come from
 * shared memory: callers check them.
 */
function sysvChainHeader(
  shmid: number,
): { magic: number; storeId: number; gen: number; size: number } | undefined {
  let seg: Region;
  try {
    seg = Region.open({ backend: 'sysv', shmid, readonly: true, register: false });
  } catch {
    return undefined;
  }
  try {
    if (seg.size < C_DATA) return undefined;
    const dv = new DataView(seg.buffer);
    return {
      magic: dv.getUint32(C_MAGIC, true),
      storeId: dv.getUint32(C_STORE_ID, true),
      gen: dv.getUint32(C_GEN, true),
      size: dv.getUint32(C_SIZE, true),
    };
  } finally {
    seg.close();
  }
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}
