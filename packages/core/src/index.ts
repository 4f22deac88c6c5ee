export {
  /** TypeError/RangeError worded "Expected <what> for <name> but received <value>", for argument checks. */
  expected,
  features,
  isAlive,
  processId,
  ShmError,
  type ShmErrorCode,
  ShmSystemError,
  threadId,
} from '@shm/native';
export { isExistsError, isNotFoundError } from './error-codes.js';
export { type Backend, Region, type RegionOptions } from './region.js';
export type { ListedEntry, RegistryEntry } from './registry.js';
export * as registry from './registry-api.js';
export { LOCK_BYTES, type LockOptions, LockStatus, RwLock } from './rw-lock.js';
export type { EncodedView, Serializer } from './serializer.js';
export * from './serializers/index.js';
export { type FetchInfo, STORE_HEADER_BYTES, Store, type StoreOptions } from './store.js';
export {
  ChangeIterator,
  type ChangeSource,
  type ChangesOptions,
  destroyedError,
  type StoreChange,
  type Watchable,
} from './store-watch.js';
/** The SysV primitives (shmget/shmat/semget/semop...), for packages that speak a SysV protocol of their own. */
export * as sysv from './sysv.js';
