/**
 * The exact shape of what the addon (build/Release/shm_native.node) exports. test/binding-types.test.ts keeps
 * this in step with the addon. Arguments are positional and already validated by the TypeScript wrappers.
 */

import type { Features, ProcessBinding } from './common.js';
import { commonExports } from './common.js';
import { darwinExports } from './darwin.js';
import type { MemfdBinding, WaitBinding } from './linux.js';
import { linuxExports } from './linux.js';
import type { PosixBinding } from './posix.js';
import { posixExports } from './posix.js';
import type { SysvBinding } from './sysv.js';
import { sysvExports } from './sysv.js';
import type { Win32Binding } from './win32.js';
import { win32Exports } from './win32.js';

export * from './common.js';
export * from './linux.js';
export * from './posix.js';
export * from './sysv.js';
export * from './win32.js';

/**
 * Everything the addon exports, as `loadBinding()` returns it: raw, positional and unvalidated; parts a platform
 * lacks are undefined. Each function has a validated wrapper exported by this package under the same name
 * (`mapFd` for `mmap`, `Win32Mutex`/`Win32Event` for the `win32Mutex*`/`win32Event*` ids): use those.
 */
export interface Binding
  extends ProcessBinding,
    Partial<PosixBinding & MemfdBinding & SysvBinding & WaitBinding & Win32Binding> {
  /** The native class behind every `NativeMapping`. */
  Mapping: Function;
  /** Hands the addon the error class it throws (`ShmSystemError`); called once at load. */
  setErrorClass(ctor: Function): void;
  /** What this build offers. */
  features: Features;
}

/** The names each platform's addon must export (checked by test/binding-types.test.ts). */
export const bindingExports = {
  /** Exported on every platform. */
  common: commonExports,
  /** Exported where POSIX mappings exist (Linux, macOS). */
  posix: posixExports,
  /** Exported on Linux only (memfd, futex). */
  linux: linuxExports,
  /** Exported on macOS only: the word waits, over `__ulock_wait`/`__ulock_wake` (no memfd: see region.ts). */
  darwin: darwinExports,
  /** Exported where SysV IPC exists (Linux, macOS). */
  sysv: sysvExports,
  /** Exported by the Windows build only. */
  win32: win32Exports,
} as const;
