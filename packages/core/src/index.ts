export {
  ShmError,
  ShmSystemError,
  type ShmErrorCode,
  features,
  threadId,
  processId,
  isAlive,
} from '@shm/native';
/** The SysV primitives (shmget/shmat/semget/semop...), for packages that speak a SysV protocol of their own. */
export * as sysv from './sysv.js';
export type { Serializer } from './serializer.js';
export * from './serializers/index.js';
export { Region, type RegionOptions, type Backend } from './region.js';
export * as registry from './registry.js';
export type { RegistryEntry, ListedEntry } from './registry.js';
export { RwLock, LockStatus, LOCK_BYTES, type LockOptions } from './rw-lock.js';
