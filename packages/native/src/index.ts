export { candidatePaths, loadBinding } from './binding.js';
export {
  type AsyncWaitStats,
  type Binding,
  bindingExports,
  type Features,
  type FstatResult,
  type NativeGuardedCopy,
  type NativeMapping,
  type NativeSemTables,
  type ProcInfo,
  type SemStatResult,
  type ShmStatResult,
  WaitResult,
} from './binding-types.js';
export {
  closedError,
  describeValue,
  expected,
  ShmError,
  type ShmErrorCode,
  ShmSystemError,
  withTarget,
} from './errors.js';
export * from './owner-identity.js';
export * from './posix.js';
export * from './process.js';
export * from './sysv.js';
export {
  checkFd,
  checkInt,
  checkKey,
  checkMode,
  checkShmName,
  checkSize,
  checkString,
  checkTimeout,
} from './validate.js';
export * from './wait.js';
export * from './win32.js';

import { loadBinding } from './binding.js';
import type { Features } from './binding-types.js';

/** What this platform's addon offers (memfd, futex, sysv, win32...). */
export function features(): Features {
  return loadBinding().features;
}
