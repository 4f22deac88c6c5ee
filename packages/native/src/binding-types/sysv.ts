import type { NativeMapping } from './common.js';

// The SysV part of the addon (cpp/sysv: Linux and macOS): segments, semaphores, semop tables and the guarded copy
// (format-free: the IPC::ShareLite protocol that drives them lives in @shm/sharelite).

/** What `shmctl(IPC_STAT)` reports about a SysV segment. */
export interface ShmStatResult {
  /** The segment's key (0 for IPC_PRIVATE). */
  key: number;
  /** Size in bytes (shm_segsz). */
  size: number;
  /** Permission bits. */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Creator's user id. */
  cuid: number;
  /** Creator's pid. */
  cpid: number;
  /** Pid of the last shmat/shmdt. */
  lpid: number;
  /** Number of current attachments. */
  nattch: number;
  /** Last attach, seconds since the epoch. */
  atime: number;
  /** Last detach, seconds since the epoch. */
  dtime: number;
  /** Last change, seconds since the epoch. */
  ctime: number;
}

/** What `semctl(IPC_STAT)` reports about a SysV semaphore set. */
export interface SemStatResult {
  /** The set's key (0 for IPC_PRIVATE). */
  key: number;
  /** Number of semaphores in the set. */
  nsems: number;
  /** Permission bits. */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** Creator's user id. */
  cuid: number;
  /** Last semop, seconds since the epoch. */
  otime: number;
  /** Last change, seconds since the epoch. */
  ctime: number;
}

/** The SysV part of the raw addon (not on Windows). Use the validated wrappers (`shmget`, `semop`...). */
export interface SysvBinding {
  /** `shmget(key, size, flags)`: a shmid. */
  shmget(key: number, size: number, flags: number): number;
  /** `shmat(shmid)`; `close()` of the mapping is `shmdt`. */
  shmat(shmid: number, readonly: boolean): NativeMapping;
  /** `shmctl(IPC_STAT)`. */
  shmStat(shmid: number): ShmStatResult;
  /** `shmctl(IPC_RMID)`. */
  shmRemove(shmid: number): void;
  /** `semget(key, nsems, flags)`: a semid. */
  semget(key: number, nsems: number, flags: number): number;
  /** Flat (num, op, flg) triples applied atomically. Returns 0, or -EAGAIN (would block / timed out). */
  semop(semid: number, ops: number[] | Int32Array, timeoutMs: number): number;
  /**
   * Applies `ops` atomically on a thread of its own (never a libuv pool thread), waiting up to `timeoutMs` (< 0:
   * forever), then calls `done(null, 0)` (applied), `done(null, -EAGAIN)` (would block / timed out) or
   * `done(error)`. `cancel()` returns true when `done` will not be called (a semop that succeeds meanwhile is
   * taken back), false when it already ran. A pending wait keeps the event loop alive; a cancelled one does not.
   */
  semopWait(
    semid: number,
    ops: number[] | Int32Array,
    timeoutMs: number,
    done: (err: Error | null, rc: number) => void,
  ): { cancel(): boolean };
  /** See NativeSemTables. */
  SemTables: new (
    semid: number,
    tables: Int32Array[],
  ) => NativeSemTables;
  /** Applies table `index` of a NativeSemTables (by its id) as `semop` does: 0 or -EAGAIN; throws otherwise. */
  semApply(tables: number, index: number, timeoutMs: number): number;
  /**
   * See NativeGuardedCopy. `checks` (seg, offset, value) triples; `count` empty or (seg, offset); `pieces` (seg,
   * offset, length) triples; `before`/`after` (seg, offset, op, value) quadruples (op 0 set, 1 add, 2 the count).
   */
  GuardedCopy: new (
    tables: number,
    maps: NativeMapping[],
    write: boolean,
    checks: Int32Array,
    count: Int32Array,
    pieces: Int32Array,
    before: Int32Array,
    after: Int32Array,
  ) => NativeGuardedCopy;
  /**
   * Runs a NativeGuardedCopy (by its id) under tables `lock` and `unlock` of its SemTables (-1: none): the byte
   * count, or -1 (the lock would block), -2 (a check failed: the lock is held), -3 (done, the unlock found EAGAIN).
   */
  guardedCopy(plan: number, lock: number, unlock: number, data: Uint8Array): number;
  /** `semctl(GETVAL)`. */
  semGetVal(semid: number, num: number): number;
  /** `semctl(SETVAL)`. */
  semSetVal(semid: number, num: number, value: number): void;
  /** `semctl(GETALL)`. */
  semGetAll(semid: number): number[];
  /** `semctl(IPC_STAT)`. */
  semStat(semid: number): SemStatResult;
  /** `semctl(IPC_RMID)`. */
  semRemove(semid: number): void;
  /** The C values of `IPC_CREAT`, `IPC_EXCL`, `IPC_NOWAIT`, `IPC_PRIVATE` and `SEM_UNDO`. */
  sysvConstants: {
    IPC_CREAT: number;
    IPC_EXCL: number;
    IPC_NOWAIT: number;
    IPC_PRIVATE: number;
    SEM_UNDO: number;
  };
}

/**
 * The semop tables of one semaphore set (cpp/sysv/sem_table.cc), read once and applied with `semApply(id, index,
 * timeoutMs)`: three numbers per call, for callers that lock and unlock on every operation. The `id` stops
 * working once the object has been garbage-collected.
 */
export interface NativeSemTables {
  /** The handle semApply takes (slot and generation; never reused while this object lives). */
  readonly id: number;
}

/**
 * A copy plan of cpp/sysv/guarded_copy.cc: segments, word checks, the pieces to copy and word writes, read and
 * bounds-checked once, then run with `guardedCopy(id, lock, unlock, data)`. The `id` stops working once the object
 * has been garbage-collected.
 */
export interface NativeGuardedCopy {
  /** The handle guardedCopy takes (slot and generation; never reused while this object lives). */
  readonly id: number;
}

/** Exported where SysV IPC exists (Linux, macOS). */
export const sysvExports = [
  'shmget',
  'shmat',
  'shmStat',
  'shmRemove',
  'semget',
  'semop',
  'semopWait',
  'SemTables',
  'semApply',
  'GuardedCopy',
  'guardedCopy',
  'semGetVal',
  'semSetVal',
  'semGetAll',
  'semStat',
  'semRemove',
  'sysvConstants',
] as const;
