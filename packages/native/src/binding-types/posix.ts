import type { NativeMapping } from './common.js';

// The POSIX part of the addon (cpp/posix: Linux and macOS): shm_open, files, mmap.

/** What `fstat(2)` reports about an fd. */
export interface FstatResult {
  /** Size in bytes (st_size). */
  size: number;
  /** Permission and type bits (st_mode). */
  mode: number;
  /** Owner's user id. */
  uid: number;
  /** Owner's group id. */
  gid: number;
  /** Inode number. */
  ino: number;
  /** Device number. */
  dev: number;
  /** True for a regular file (memfds and /dev/shm objects are regular files too). */
  isFile: boolean;
}

/** The POSIX part of the raw addon (not on Windows). Use the validated wrappers (`shmOpen`, `mapFd`...). */
export interface PosixBinding {
  /** `shm_open(name, oflag, mode)`: an fd. */
  shmOpen(name: string, oflag: number, mode: number): number;
  /** `shm_unlink(name)`. */
  shmUnlink(name: string): void;
  /** `open(path, oflag, mode)` of a regular file: an fd. */
  openFile(path: string, oflag: number, mode: number): number;
  /** `ftruncate(fd, size)`. */
  ftruncate(fd: number, size: number): void;
  /** `posix_fallocate(fd, offset, length)`: ENOSPC now rather than SIGBUS later. */
  fallocate(fd: number, offset: number, length: number): void;
  /** `fstat(fd)`. */
  fstat(fd: number): FstatResult;
  /** `close(fd)`. */
  closeFd(fd: number): void;
  /** `mmap(MAP_SHARED)` of `size` bytes of `fd` from `offset`. */
  mmap(fd: number, size: number, offset: number, readonly: boolean, populate: boolean): NativeMapping;
  /** The C values of `O_RDONLY`, `O_RDWR`, `O_CREAT`, `O_EXCL`, `O_TRUNC`, and the page size in bytes. */
  fdConstants: {
    O_RDONLY: number;
    O_RDWR: number;
    O_CREAT: number;
    O_EXCL: number;
    O_TRUNC: number;
    PAGE_SIZE: number;
  };
}

/** Exported where POSIX mappings exist (Linux, macOS). */
export const posixExports = [
  'shmOpen',
  'shmUnlink',
  'openFile',
  'ftruncate',
  'fallocate',
  'fstat',
  'closeFd',
  'mmap',
  'fdConstants',
] as const;
