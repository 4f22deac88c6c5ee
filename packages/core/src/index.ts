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
