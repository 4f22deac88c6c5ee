import { ShmError } from '@shm/native';

// System error codes are the OS's own names: errno names on POSIX, Win32 error names on Windows (the addon passes
// GetLastError()'s name). Shared code asks these questions instead of comparing codes, so both platforms agree.

const NOT_FOUND = new Set(['ENOENT', 'ERROR_FILE_NOT_FOUND', 'ERROR_PATH_NOT_FOUND']);
const EXISTS = new Set(['EEXIST', 'ERROR_ALREADY_EXISTS', 'ERROR_FILE_EXISTS']);

/** The object asked for does not exist: ENOENT, or ERROR_FILE_NOT_FOUND / ERROR_PATH_NOT_FOUND on Windows. */
export function isNotFoundError(e: unknown): boolean {
  return ShmError.isInstance(e) && NOT_FOUND.has(e.code);
}

/** An exclusive create found the object already there (EEXIST; ERROR_ALREADY_EXISTS / ERROR_FILE_EXISTS on Windows). */
export function isExistsError(e: unknown): boolean {
  return ShmError.isInstance(e) && EXISTS.has(e.code);
}
