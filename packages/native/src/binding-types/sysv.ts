import type { NativeMapping } from './common.js';

// The SysV part of the addon (cpp/sysv: Linux and macOS): segments, semaphores and the IPC::ShareLite calls.

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
  /** `semop` on a libuv pool thread; resolves as `semop`. */
  semopAsync(semid: number, ops: number[], timeoutMs: number): Promise<number>;
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
  /** See NativeShareLiteChain. */
  ShareLiteChain: new (
    semid: number,
    exLock: Int32Array,
    exLockNb: Int32Array,
    exUnlock: Int32Array,
    shLock: Int32Array,
    shLockNb: Int32Array,
    shUnlock: Int32Array,
  ) => NativeShareLiteChain;
  /**
   * IPC::ShareLite's fetch (read_share) in one call: the shared lock per `lock`; then, when the head's shm_state
   * equals `state` and the attached segments hold the header's length, the value is copied into `dest` when it
   * fits (returns the byte count) or else into a fresh Buffer of exactly that length (returned); the shared unlock
   * unless `lock` is Held. Otherwise returns a ShareLiteStatus: Slow (lock held), WouldBlock (TryTake) or
   * UnlockLost. Throws only after releasing a lock it took: TypeError/RangeError for bad arguments or an unknown
   * chain id, ShmSystemError EBADF for a closed segment, ShmSystemError `semop` for a semop failure but EAGAIN.
   */
  shareliteFetch(chain: number, lock: ShareLiteLock, state: number, dest: Uint8Array | null): Buffer | number;
  /**
   * IPC::ShareLite's store (write_share steps 2-7) in one call: the exclusive lock per `lock`; then, when the
   * head's shm_state equals `state`, the attached segments hold `data` and the last one needed ends the chain:
   * length = 0, copy, length = data.length, ++version, and returns 0 after the exclusive unlock (unless Held).
   * Otherwise Slow with the lock held and nothing written, WouldBlock or UnlockLost; throws as shareliteFetch.
   */
  shareliteStore(chain: number, lock: ShareLiteLock, state: number, data: Uint8Array): number;
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
 * The fixed part of one IPC::ShareLite 0.17 share for shareliteFetch/shareliteStore (cpp/sysv/sharelite.cc): its
 * semaphore set, the six op tables (flat (num, op, flg) triples, applied exactly as given) and the attached
 * segments, which the caller keeps up to date with setSegments(). The hot calls take its `id`, a plain number,
 * which stops working once the object has been garbage-collected.
 */
export interface NativeShareLiteChain {
  /** The handle the hot calls take (slot and generation; never reused while this object lives). */
  readonly id: number;
  /**
   * The attached segments in chain order, head first, every one of the head's size (> 16 bytes); [] drops them.
   * The caller keeps owning (and closing) the mappings; a hot call that needs a closed one throws EBADF.
   */
  setSegments(maps: NativeMapping[]): void;
}

/** How shareliteFetch/shareliteStore lock: take and release (blocking), the same with IPC_NOWAIT, or none (held). */
export const ShareLiteLock = {
  /** Take the lock (blocking) and release it after the operation. */
  Take: 0,
  /** Take the lock with IPC_NOWAIT (WouldBlock if held elsewhere) and release it after the operation. */
  TryTake: 1,
  /** The caller holds the lock: neither take nor release it. */
  Held: 2,
} as const;
export type ShareLiteLock = (typeof ShareLiteLock)[keyof typeof ShareLiteLock];

/**
 * Non-success returns of shareliteFetch/shareliteStore. `WouldBlock`: TryTake would block; no lock was taken. `Slow`: the
 * lock is held and nothing was read or written (the chain changed or is not attached far enough, a tail must be
 * collected, or the length is negative): the caller finishes the operation and unlocks. `UnlockLost`: the
 * operation completed but the unlock found the semaphore already at 0.
 */
export const ShareLiteStatus = {
  /** TryTake would block; no lock was taken. */
  WouldBlock: -1,
  /** The lock is held and nothing was read or written: the caller finishes the operation and unlocks. */
  Slow: -2,
  /** The operation completed but the unlock found the semaphore already at 0. */
  UnlockLost: -3,
} as const;
export type ShareLiteStatus = (typeof ShareLiteStatus)[keyof typeof ShareLiteStatus];

/** Exported where SysV IPC exists (Linux, macOS). */
export const sysvExports = [
  'shmget',
  'shmat',
  'shmStat',
  'shmRemove',
  'semget',
  'semop',
  'semopAsync',
  'semGetVal',
  'semSetVal',
  'semGetAll',
  'semStat',
  'semRemove',
  'ShareLiteChain',
  'shareliteFetch',
  'shareliteStore',
  'sysvConstants',
] as const;
