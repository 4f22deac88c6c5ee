// SysV primitives offered to the flavour packages (IPC::ShareLite speaks its own SysV protocol).
export {
  shmget,
  shmat,
  shmStat,
  shmRemove,
  semget,
  semop,
  semopAsync,
  semopRaw,
  semGetVal,
  semSetVal,
  semGetAll,
  semStat,
  semRemove,
  sysvConstants,
  sysvFlags,
  listSysv,
  type SemOp,
  type SysvFlags,
  type SysvEntry,
} from '@shm/native';
export type { NativeMapping, ShmStatResult, SemStatResult } from '@shm/native';
