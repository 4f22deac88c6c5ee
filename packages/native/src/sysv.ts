import { existsSync, readFileSync } from 'node:fs';
import { loadBinding } from './binding.js';
import type {
  NativeGuardedCopy,
  NativeMapping,
  NativeSemTables,
  SemStatResult,
  ShmStatResult,
  SysvBinding,
} from './binding-types.js';
import { expected, ShmError } from './errors.js';
import { checkInt, checkKey, checkMode, checkOptions, checkSize, checkTimeout } from './validate.js';

function sysv(): SysvBinding {
  const b = loadBinding();
  if (!b.shmget)
    throw new ShmError('ERR_SHM_NOT_SUPPORTED', `SysV IPC is not available on ${process.platform}`);
  return b as unknown as SysvBinding;
}

/** The `IPC_CREAT`, `IPC_EXCL`, `IPC_NOWAIT`, `IPC_PRIVATE` and `SEM_UNDO` values of this system. */
export function sysvConstants() {
  return sysv().sysvConstants;
}

/** How `shmget`/`semget` create or open (see `sysvFlags`). */
export interface SysvFlags {
  /** Create the object if the key has none (IPC_CREAT). */
  create?: boolean;
  /** Fail with EEXIST if it exists (IPC_CREAT or IPC_EXCL). */
  exclusive?: boolean;
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Exact flags, as IPC::ShareLite's -flags: when given, mode/create/exclusive are ORed onto it. */
  flags?: number;
}

/** Composes shmget/semget flags. */
export function sysvFlags(f: SysvFlags): number {
  checkOptions(f, 'flags', ['create', 'exclusive']);
  const c = sysv().sysvConstants;
  let fl = f.flags !== undefined ? checkInt(f.flags, 'flags', 0) : checkMode(f.mode ?? 0o600);
  if (f.create || f.exclusive) fl |= c.IPC_CREAT;
  if (f.exclusive) fl |= c.IPC_EXCL;
  return fl;
}

/** `shmget(key, size, flags)`: the id of the segment with `key` (created with `flags.create`). `flags` is a SysvFlags object or exact numeric flags. */
export function shmget(key: number, size: number, flags: SysvFlags | number = {}): number {
  const fl = typeof flags === 'number' ? checkInt(flags, 'flags', 0) : sysvFlags(flags);
  return sysv().shmget(checkKey(key), checkSize(size), fl);
}

/** `shmat`: maps the segment; the mapping's `close()` is `shmdt`. */
export function shmat(shmid: number, opts: { readonly?: boolean } = {}): NativeMapping {
  checkOptions(opts, 'opts', ['readonly']);
  return sysv().shmat(checkInt(shmid, 'shmid', 0), !!opts.readonly);
}

/** `shmctl(IPC_STAT)`: key, size, mode, owner, creator pid, attachments, times. */
export function shmStat(shmid: number): ShmStatResult {
  return sysv().shmStat(checkInt(shmid, 'shmid', 0));
}

/** `shmctl(IPC_RMID)`: the segment goes once the last process detaches. EINVAL if it does not exist. */
export function shmRemove(shmid: number): void {
  sysv().shmRemove(checkInt(shmid, 'shmid', 0));
}

/** `semget(key, nsems, flags)`: the id of the semaphore set with `key`. */
export function semget(key: number, nsems: number, flags: SysvFlags | number = {}): number {
  const fl = typeof flags === 'number' ? checkInt(flags, 'flags', 0) : sysvFlags(flags);
  return sysv().semget(checkKey(key), checkInt(nsems, 'nsems', 0, 65535), fl);
}

/** One semaphore operation: semaphore number, delta (0 waits for zero), flags (SEM_UNDO | IPC_NOWAIT). */
export type SemOp = readonly [num: number, op: number, flg: number];

function flatten(ops: readonly SemOp[]): number[] {
  if (!Array.isArray(ops) || ops.length === 0 || ops.length > 64)
    throw expected('1 to 64 sem ops', 'ops', ops);
  const out: number[] = [];
  for (const o of ops) {
    if (!Array.isArray(o) || o.length !== 3) throw expected('a [num, op, flg] triple', 'ops[]', o);
    out.push(
      checkInt(o[0], 'sem_num', 0, 65535),
      checkInt(o[1], 'sem_op', -32768, 32767),
      checkInt(o[2], 'sem_flg', 0, 0xffff),
    );
  }
  return out;
}

/**
 * Applies `ops` atomically in one semop(2). Returns true, or false when IPC_NOWAIT would block or `timeoutMs`
 * ran out. Blocks the calling thread: use semopAsync on the main thread when waiting is possible.
 */
export function semop(semid: number, ops: readonly SemOp[], timeoutMs?: number): boolean {
  return sysv().semop(checkInt(semid, 'semid', 0), flatten(ops), checkTimeout(timeoutMs)) === 0;
}

/** Options of semopAsync. */
export interface SemopAsyncOptions {
  /**
   * Aborting it stops the wait: the promise rejects with `signal.reason`, and a semop that succeeds at that
   * moment is taken back, so an aborted wait never leaves its ops applied.
   */
  signal?: AbortSignal;
}

/**
 * semop that waits on a thread of its own, never on a libuv pool thread, so the event loop and the pool (fs, dns,
 * crypto, zlib) keep running however many waits are pending. Resolves true, or false when IPC_NOWAIT would block
 * or `timeoutMs` ran out. A pending wait keeps the process alive; a finished or aborted one holds nothing.
 */
export async function semopAsync(
  semid: number,
  ops: readonly SemOp[],
  timeoutMs?: number,
  opts: SemopAsyncOptions = {},
): Promise<boolean> {
  const id = checkInt(semid, 'semid', 0);
  const flat = flatten(ops);
  const t = checkTimeout(timeoutMs);
  checkOptions(opts, 'opts');
  const { signal } = opts;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw expected('an AbortSignal or undefined', 'signal', signal);
  if (signal?.aborted) throw signal.reason;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      if (wait.cancel()) reject(signal!.reason);
    };
    const wait = sysv().semopWait(id, flat, t, (err, rc) => {
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(rc === 0);
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Pre-flattened variant for hot paths that validated their ops once: pass an Int32Array of (num, op, flg)
 * triples (read in place by the addon, the fastest form) or a plain array.
 */
export function semopRaw(semid: number, flatOps: Int32Array | number[], timeoutMs: number): number {
  if (!(flatOps instanceof Int32Array) && !Array.isArray(flatOps))
    throw expected('an Int32Array or array of (num, op, flg) triples', 'flatOps', flatOps);
  return sysv().semop(semid, flatOps, timeoutMs);
}

/**
 * Reads the op tables of one semaphore set once (each validated like semop's ops) for semApply, which then
 * applies one by index with three numbers: the fastest way to lock and unlock on every operation.
 */
export function semTables(semid: number, tables: readonly (readonly SemOp[])[]): NativeSemTables {
  const id = checkInt(semid, 'semid', 0);
  if (!Array.isArray(tables) || tables.length === 0 || tables.length > 32)
    throw expected('1 to 32 op tables', 'tables', tables);
  return new (sysv().SemTables)(
    id,
    tables.map((t) => Int32Array.from(flatten(t))),
  );
}

/**
 * Applies table `index` of a semTables() object, by its `id`, atomically: 0, or a negative number (-EAGAIN)
 * when IPC_NOWAIT would block or `timeoutMs` ran out (< 0 waits forever). A hot path: only the addon's own
 * checks run (a TypeError for an id that is no live table set, a RangeError for an index it does not have).
 * @throws ShmSystemError `semop` for any other failure (EINVAL/EIDRM: the set was removed).
 */
export function semApply(tables: number, index: number, timeoutMs: number): number {
  return sysv().semApply(tables, index, timeoutMs);
}

/**
 * semApply itself, the addon's function with nothing in front of it, for a caller that keeps it (a lock that
 * applies a table on every operation saves the wrapper's cost twice per operation).
 */
export function semApplyFn(): (tables: number, index: number, timeoutMs: number) => number {
  return sysv().semApply;
}

/** A check of a guarded copy: the int32 word at byte `offset` (a multiple of 4) of segment `seg` must be `value`. */
export type GuardedCheck = readonly [seg: number, offset: number, value: number];
/** A byte range of a guarded copy: `length` bytes at `offset` of segment `seg`. */
export type GuardedPiece = readonly [seg: number, offset: number, length: number];
/**
 * A word write of a guarded copy, at byte `offset` (a multiple of 4) of segment `seg`: `set` it to `value`, `add`
 * `value` to it (wrapping at 32 bits), or set it to the `count` of bytes copied.
 */
export type GuardedWrite =
  | readonly [seg: number, offset: number, op: 'set' | 'add', value: number]
  | readonly [seg: number, offset: number, op: 'count'];

/**
 * What a guarded copy does, in this order, after its lock table: every check; the byte count (the word at `count`,
 * or the data's length); the `before` writes; the copy of `count` bytes to (`write`) or from (`read`) the pieces
 * in order; the `after` writes; then its unlock table. A check that fails, a count above the pieces' capacity or
 * (reading) above the data's length stops it before anything is written: see GuardedCopyStatus.GuardFailed.
 * Segments are indices into the mappings the plan was made with. Values are 32-bit (signed or unsigned spelling).
 */
export interface GuardedCopySpec {
  /** `write`: data into the pieces; `read`: the pieces into data. */
  direction: 'read' | 'write';
  /** Words that must hold the given values (e.g. a header the caller read last time). */
  checks?: readonly GuardedCheck[];
  /** The word that holds the byte count (a read of a value whose length is in memory); default: the data's length. */
  count?: readonly [seg: number, offset: number];
  /** The byte ranges, filled or read in order; their lengths add up to the capacity. */
  pieces: readonly GuardedPiece[];
  /** Word writes after the checks, before the copy. */
  before?: readonly GuardedWrite[];
  /** Word writes after the copy, before the unlock. */
  after?: readonly GuardedWrite[];
}

/** What guardedCopy returns besides a byte count (>= 0). */
export const GuardedCopyStatus = {
  /** The lock table (with IPC_NOWAIT) would block: nothing is held, nothing was done. */
  WouldBlock: -1,
  /** A check or the count failed: the lock table was applied and stays applied, nothing was written. */
  GuardFailed: -2,
  /** Everything was done, but the unlock table found a semaphore already at 0 (EAGAIN). */
  UnlockLost: -3,
} as const;

const WRITE_OPS = { set: 0, add: 1, count: 2 } as const;

function u32(v: unknown, name: string): number {
  return checkInt(v, name, -(2 ** 31), 2 ** 32 - 1) | 0;
}

function flatList(
  v: readonly (readonly unknown[])[] | undefined,
  name: string,
  width: number,
  each: (t: readonly unknown[], name: string) => number[],
): Int32Array {
  if (v === undefined) return new Int32Array(0);
  if (!Array.isArray(v)) throw expected(`an array of ${width}-element tuples`, name, v);
  const out: number[] = [];
  v.forEach((t, i) => {
    const n = `${name}[${i}]`;
    if (!Array.isArray(t)) throw expected('a tuple', n, t);
    out.push(...each(t, n));
  });
  return Int32Array.from(out);
}

/** Checks [seg, offset] of a word against the segments' sizes: an aligned int32 inside its segment. */
function wordRef(t: readonly unknown[], name: string, sizes: readonly number[]): number[] {
  const seg = checkInt(t[0], `${name}[0]`, 0, sizes.length - 1);
  const off = checkInt(t[1], `${name}[1]`, 0, sizes[seg]! - 4);
  if (off % 4 !== 0) throw expected('a multiple of 4 (an aligned word)', `${name}[1]`, off, RangeError);
  return [seg, off];
}

/**
 * Makes a guarded copy plan over `segments` (attached mappings, e.g. from shmat) whose locks are tables of
 * `tables`: read and bounds-checked once, then run by `guardedCopy(plan.id, lock, unlock, data)` in one call.
 * The plan keeps no mapping open: closing one makes the plan's calls throw EBADF. Nothing in it knows a format;
 * the caller's spec says which words to check and write.
 * @throws TypeError/RangeError for a malformed spec, an index past `segments`, a word or piece outside its segment
 *   or a word not aligned to 4 bytes.
 */
export function guardedCopyPlan(
  tables: NativeSemTables,
  segments: readonly NativeMapping[],
  spec: GuardedCopySpec,
): NativeGuardedCopy {
  if (typeof tables !== 'object' || tables === null || typeof tables.id !== 'number')
    throw expected('a semTables() object', 'tables', tables);
  if (!Array.isArray(segments) || segments.length === 0 || segments.length > 65536)
    throw expected('an array of 1 to 65536 mappings', 'segments', segments);
  const sizes = segments.map((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.size !== 'number')
      throw expected('a mapping', `segments[${i}]`, m);
    return m.size;
  });
  checkOptions(spec, 'spec');
  if (spec.direction !== 'read' && spec.direction !== 'write')
    throw expected("'read' or 'write'", 'spec.direction', spec.direction);
  const checks = flatList(spec.checks, 'spec.checks', 3, (t, n) => [
    ...wordRef(t, n, sizes),
    u32(t[2], `${n}[2]`),
  ]);
  let count = new Int32Array(0);
  if (spec.count !== undefined) {
    if (!Array.isArray(spec.count)) throw expected('a [seg, offset] pair', 'spec.count', spec.count);
    count = Int32Array.from(wordRef(spec.count, 'spec.count', sizes));
  }
  if (!Array.isArray(spec.pieces))
    throw expected('an array of [seg, offset, length]', 'spec.pieces', spec.pieces);
  const pieces = flatList(spec.pieces, 'spec.pieces', 3, (t, n) => {
    const seg = checkInt(t[0], `${n}[0]`, 0, sizes.length - 1);
    const off = checkInt(t[1], `${n}[1]`, 0, sizes[seg]!);
    return [seg, off, checkInt(t[2], `${n}[2]`, 0, sizes[seg]! - off)];
  });
  const writes = (w: readonly GuardedWrite[] | undefined, name: string) =>
    flatList(w, name, 4, (t, n) => {
      if (t[2] !== 'set' && t[2] !== 'add' && t[2] !== 'count')
        throw expected("'set', 'add' or 'count'", `${n}[2]`, t[2]);
      const op = WRITE_OPS[t[2]];
      return [...wordRef(t, n, sizes), op, op === WRITE_OPS.count ? 0 : u32(t[3], `${n}[3]`)];
    });
  const before = writes(spec.before, 'spec.before');
  const after = writes(spec.after, 'spec.after');
  return new (sysv().GuardedCopy)(
    tables.id,
    [...segments],
    spec.direction === 'write',
    checks,
    count,
    pieces,
    before,
    after,
  );
}

/**
 * Runs a guarded copy plan, by its `id`, in one call: applies table `lock` of its semTables (-1: none, the caller
 * holds the lock; a table with IPC_NOWAIT makes it a try), then the plan (see GuardedCopySpec), then table `unlock`
 * (-1: keep the lock). Returns the byte count, or a GuardedCopyStatus: on GuardFailed the lock stays held so the
 * caller can read the memory and finish the job itself. A hot path: only the addon's own checks run.
 * @throws ShmSystemError `semop` (EINVAL/EIDRM: the set was removed), EBADF when a segment was closed (before
 *   locking); TypeError/RangeError for an id that is no live plan, a table index it does not have, data that is no
 *   Uint8Array.
 */
export function guardedCopy(plan: number, lock: number, unlock: number, data: Uint8Array): number {
  return sysv().guardedCopy(plan, lock, unlock, data);
}

/** guardedCopy itself, the addon's function with nothing in front of it, for a caller that keeps it. */
export function guardedCopyFn(): (plan: number, lock: number, unlock: number, data: Uint8Array) => number {
  return sysv().guardedCopy;
}

/** `semctl(GETVAL)`: semaphore `num` of the set. */
export function semGetVal(semid: number, num: number): number {
  return sysv().semGetVal(checkInt(semid, 'semid', 0), checkInt(num, 'num', 0, 65535));
}

/** `semctl(SETVAL)`: sets semaphore `num` (no SEM_UNDO). */
export function semSetVal(semid: number, num: number, value: number): void {
  sysv().semSetVal(
    checkInt(semid, 'semid', 0),
    checkInt(num, 'num', 0, 65535),
    checkInt(value, 'value', 0, 32767),
  );
}

/** `semctl(GETALL)`: every semaphore of the set. */
export function semGetAll(semid: number): number[] {
  return sysv().semGetAll(checkInt(semid, 'semid', 0));
}

/** `semctl(IPC_STAT)`: key, size, mode, owner, times. */
export function semStat(semid: number): SemStatResult {
  return sysv().semStat(checkInt(semid, 'semid', 0));
}

/** `semctl(IPC_RMID)`: removes the set; processes waiting on it get EIDRM. */
export function semRemove(semid: number): void {
  sysv().semRemove(checkInt(semid, 'semid', 0));
}

/** One SysV object as `listSysv()` (and `ipcs`) shows it. */
export interface SysvEntry {
  /** A shared memory segment or a semaphore set. */
  kind: 'shm' | 'sem';
  /** Its key (0 for IPC_PRIVATE). */
  key: number;
  /** Its shmid or semid. */
  id: number;
  /** Permission bits. */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** bytes for shm, semaphores for sem */
  size: number;
  /** creator pid (shm only) */
  cpid?: number;
  /** Current attachments (shm only). */
  nattch?: number;
}

function rows(path: string): string[][] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/));
}

/** Every SysV segment and semaphore set on the system (Linux: from /proc/sysvipc), like ipcs. */
export function listSysv(): SysvEntry[] {
  const out: SysvEntry[] = [];
  // key shmid perms size cpid lpid nattch uid gid cuid cgid ...
  for (const f of rows('/proc/sysvipc/shm')) {
    out.push({
      kind: 'shm',
      key: Number(f[0]),
      id: Number(f[1]),
      mode: Number.parseInt(f[2]!, 8),
      size: Number(f[3]),
      cpid: Number(f[4]),
      nattch: Number(f[6]),
      uid: Number(f[7]),
    });
  }
  // key semid perms nsems uid gid cuid cgid ...
  for (const f of rows('/proc/sysvipc/sem')) {
    out.push({
      kind: 'sem',
      key: Number(f[0]),
      id: Number(f[1]),
      mode: Number.parseInt(f[2]!, 8),
      size: Number(f[3]),
      uid: Number(f[4]),
    });
  }
  return out;
}
