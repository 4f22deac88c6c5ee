import type { AsyncWaitStats, NativeMapping, WaitResult } from './common.js';

// The Linux-only part of the addon: memfd (cpp/linux) and the futex word waits with their waiter (macOS exports
// the same word waits over ulock: see darwin.ts).

/** The memfd part of the raw addon (Linux). */
export interface MemfdBinding {
  /** `memfd_create` + `ftruncate` + `posix_fallocate`, sealed unless `seal` is false: an fd. */
  memfdCreate(name: string, size: number, seal: boolean): number;
  /** `fcntl(F_GET_SEALS)`: the seal bits of `fd`. */
  memfdSeals(fd: number): number;
  /** The C values of the `F_SEAL_*` bits. */
  memfdConstants: { F_SEAL_SHRINK: number; F_SEAL_GROW: number; F_SEAL_SEAL: number; F_SEAL_WRITE: number };
}

/** Cross-process waits on a 32-bit word of a mapping (Linux futex, macOS ulock). */
export interface WaitBinding {
  /** Sleeps while the word at `offset` equals `expected`, up to `timeoutMs` (< 0: forever). */
  futexWait(mapping: NativeMapping, offset: number, expected: number, timeoutMs: number): WaitResult;
  /** Wakes up to `count` waiters (<= 0: all); returns how many woke. */
  futexWake(mapping: NativeMapping, offset: number, count: number): number;
  /** `futexWait` on this env's waiter thread (never the libuv pool); 4 when the mapping was closed meanwhile. */
  futexWaitAsync(
    mapping: NativeMapping,
    offset: number,
    expected: number,
    timeoutMs: number,
  ): Promise<WaitResult | 4>;
  /** This env's async waiter: its mechanism, its threads now, and the waits not yet settled. */
  asyncWaitStats(): AsyncWaitStats;
}

/** Exported on Linux only (memfd, futex). */
export const linuxExports = [
  'memfdCreate',
  'memfdSeals',
  'memfdConstants',
  'futexWait',
  'futexWake',
  'futexWaitAsync',
  'asyncWaitStats',
] as const;
