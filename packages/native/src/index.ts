export { loadBinding, candidatePaths } from './binding.js';
export {
  type Binding,
  type NativeMapping,
  type FstatResult,
  type ShmStatResult,
  type SemStatResult,
  type ProcInfo,
  type Features,
  WaitResult,
  ShareLiteStatus,
  ShareLiteLock,
  type NativeShareLiteChain,
  bindingExports,
} from './binding-types.js';
export {
  ShmError,
  ShmSystemError,
  type ShmErrorCode,
  closedError,
  expected,
  describeValue,
  withTarget,
} from './errors.js';
export * from './posix.js';
export * from './sysv.js';
export * from './wait.js';
export * from './process.js';
export * from './win32.js';
export { checkInt, checkSize, checkFd, checkMode, checkKey, checkShmName, checkString, checkTimeout } from './validate.js';

import { loadBinding } from './binding.js';
import type { Features } from './binding-types.js';

/** What this platform's addon offers (memfd, futex, sysv, win32...). */
export function features(): Features {
  return loadBinding().features;
}
