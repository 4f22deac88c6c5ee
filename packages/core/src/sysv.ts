// SysV primitives offered to the flavour packages (IPC::ShareLite speaks its own SysV protocol).

export type { NativeMapping, SemStatResult, ShmStatResult } from '@shm/native';
export {
  listSysv,
  type SemOp,
  type SysvEntry,
  type SysvFlags,
  semGetAll,
  semGetVal,
  semget,
  semop,
  semopAsync,
  semopRaw,
  semRemove,
  semSetVal,
  semStat,
  shmat,
  shmget,
  shmRemove,
  shmStat,
  sysvConstants,
  sysvFlags,
} from '@shm/native';
