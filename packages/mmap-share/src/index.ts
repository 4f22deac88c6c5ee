export { LockStatus, type Serializer, ShmError, ShmSystemError } from '@shm/core';
export { ENV_VAR, type ShareHandle } from './handoff.js';
export {
  MAX_SIZE,
  MmapShare,
  type MmapShareOptions,
  type UpdateInfo,
  type WithShares,
} from './mmap-share.js';
