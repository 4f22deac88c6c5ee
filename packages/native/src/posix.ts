import { readFileSync, readlinkSync } from 'node:fs';
import { constants as osConstants, totalmem } from 'node:os';
import { loadBinding } from './binding.js';
import type { FstatResult, NativeMapping, PosixBinding } from './binding-types.js';
import { ShmError, ShmSystemError } from './errors.js';
import {
  checkFd,
  checkMode,
  checkOffset,
  checkOptions,
  checkShmName,
  checkSize,
  checkString,
} from './validate.js';

function posix(): PosixBinding {
  const b = loadBinding();
  if (!b.mmap)
    throw new ShmError('ERR_SHM_NOT_SUPPORTED', `POSIX mappings are not available on ${process.platform}`);
  return b as unknown as PosixBinding;
}

/** How `shmOpen` and `openFile` open an object. */
export interface OpenFlags {
  /** Create the object if it does not exist. */
  create?: boolean;
  /** With create: fail with EEXIST if it already exists. */
  exclusive?: boolean;
  /** Permission bits for a new object (default 0o600). */
  mode?: number;
  /** Open read-only (a mapping of it must be read-only too). Default false. */
  readonly?: boolean;
}

function oflags(f: OpenFlags): number {
  checkOptions(f, 'flags', ['create', 'exclusive', 'readonly']);
  const c = posix().fdConstants;
  let o = f.readonly ? c.O_RDONLY : c.O_RDWR;
  if (f.create || f.exclusive) o |= c.O_CREAT;
  if (f.exclusive) o |= c.O_EXCL;
  return o;
}

/** shm_open: returns an fd (close-on-exec). `name` may omit the leading "/". */
export function shmOpen(name: string, flags: OpenFlags = {}): number {
  const n = checkShmName(name);
  return posix().shmOpen(n, oflags(flags), checkMode(flags.mode ?? 0o600));
}

/** `shm_unlink`: removes a POSIX shm name (mappings and fds stay valid until closed). ENOENT if missing. */
export function shmUnlink(name: string): void {
  posix().shmUnlink(checkShmName(name));
}

/** open(2) of a regular file for mapping: returns an fd (close-on-exec). */
export function openFile(path: string, flags: OpenFlags = {}): number {
  return posix().openFile(checkString(path, 'path'), oflags(flags), checkMode(flags.mode ?? 0o600));
}

/** Sets the size of the object behind `fd` (`ftruncate(2)`). */
export function ftruncate(fd: number, size: number): void {
  posix().ftruncate(checkFd(fd), checkSize(size));
}

/** Reserves [offset, offset+length) now, so a full tmpfs is ENOSPC here instead of SIGBUS on first touch. */
export function fallocate(fd: number, offset: number, length: number): void {
  checkOffset(offset);
  posix().fallocate(checkFd(fd), offset, checkSize(length, 'length'));
}

/** `fstat(2)` of `fd`: size, mode, owner, inode. */
export function fstat(fd: number): FstatResult {
  return posix().fstat(checkFd(fd));
}

/** Closes `fd` (`close(2)`). Mappings made from it stay valid. */
export function closeFd(fd: number): void {
  posix().closeFd(checkFd(fd));
}

/** Options of `mapFd`. */
export interface MapOptions {
  /** Bytes to map; defaults to the object's whole size. */
  size?: number;
  /** Byte offset into the object (a multiple of the page size). Default 0. */
  offset?: number;
  /** Map read-only: writing through a view is a SIGSEGV, so only for fds opened read-only or data you never write. */
  readonly?: boolean;
  /** Fault every page in now (MAP_POPULATE). */
  populate?: boolean;
}

/** Maps an fd (memfd, shm_open, file, or one inherited from a parent by number). */
export function mapFd(fd: number, opts: MapOptions = {}): NativeMapping {
  checkFd(fd);
  checkOptions(opts, 'opts', ['readonly', 'populate']);
  const offset = checkOffset(opts.offset ?? 0, 'opts.offset');
  const size = opts.size === undefined ? posix().fstat(fd).size - offset : checkSize(opts.size);
  if (size <= 0)
    throw new ShmError('ERR_SHM_BAD_FORMAT', `fd ${fd} is empty: nothing to map`, { target: `fd ${fd}` });
  return posix().mmap(fd, size, offset, !!opts.readonly, !!opts.populate);
}

function memfd() {
  const b = loadBinding();
  if (!b.memfdCreate)
    throw new ShmError('ERR_SHM_NOT_SUPPORTED', `memfd is not available on ${process.platform}`);
  return b as unknown as Required<Pick<typeof b, 'memfdCreate' | 'memfdSeals' | 'memfdConstants'>>;
}

/** RAM plus swap in bytes: the most a memfd can ever hold. */
function memoryLimit(): number {
  let swap = 0;
  try {
    swap = Number(/^SwapTotal:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    /* no /proc: RAM only */
  }
  return totalmem() + swap;
}

/**
 * memfd_create + ftruncate(size) + posix_fallocate(size) + sealed against shrink and grow (unless seal is false).
 * The pages are committed now. A size beyond RAM plus swap fails with ENOMEM before any syscall: memfds live on
 * the kernel's internal tmpfs, which has no size limit, so posix_fallocate would allocate until the OOM killer
 * stepped in rather than fail.
 */
export function memfdCreate(name: string, size: number, opts: { seal?: boolean } = {}): number {
  const n = checkString(name, 'name');
  checkSize(size);
  checkOptions(opts, 'opts', ['seal']);
  if (size > memoryLimit()) {
    throw new ShmSystemError(
      `a memfd of ${size} bytes exceeds this machine's RAM and swap (${memoryLimit()} bytes)`,
      osConstants.errno.ENOMEM,
      'posix_fallocate',
      n,
    );
  }
  return memfd().memfdCreate(n, size, opts.seal ?? true);
}

/** The seal bits of a memfd (`fcntl(F_GET_SEALS)`); compare with `memfdConstants()`. */
export function memfdSeals(fd: number): number {
  return memfd().memfdSeals(checkFd(fd));
}

/** True if `fd` is a memfd; false for any other kind of fd (and everywhere on systems without memfd, such as macOS). Throws EBADF for a closed fd. */
export function isMemfd(fd: number): boolean {
  if (!loadBinding().memfdSeals) {
    checkFd(fd);
    return false;
  }
  try {
    memfdSeals(fd);
  } catch (e) {
    if (ShmSystemError.isInstance(e) && e.code === 'EINVAL') return false;
    throw e;
  }
  // Every tmpfs file answers F_GET_SEALS (a shm_open object reports F_SEAL_SEAL), so seals alone cannot tell a
  // memfd from a /dev/shm file; the kernel names a memfd's link "/memfd:<name> (deleted)".
  try {
    return readlinkSync(`/proc/self/fd/${fd}`).startsWith('/memfd:');
  } catch {
    return true; // no /proc: fall back to the seal test
  }
}

/** The `F_SEAL_SHRINK`, `F_SEAL_GROW`, `F_SEAL_SEAL` and `F_SEAL_WRITE` bits of this system. */
export function memfdConstants() {
  return memfd().memfdConstants;
}

/** The system page size in bytes. */
export function pageSize(): number {
  return posix().fdConstants.PAGE_SIZE;
}
