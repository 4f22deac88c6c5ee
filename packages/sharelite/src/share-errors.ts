// The errors and warnings of one IPC::ShareLite handle, worded with its key; shared by the facade, the open
// protocol, the chain and the lock so that every message names the share the same way.
import { constants } from 'node:os';
import { ShmError, ShmSystemError } from '@shm/core';
import { IPC_PRIVATE } from './constants.js';

/** What semop reports for an unlock of a semaphore already at 0 (11 on Linux, 35 on macOS). */
const { EAGAIN } = constants.errno;

/** The errors of one share, each naming it as `key 1234 (0x000004d2)`. */
export class ShareErrors {
  /** How messages name the share. */
  readonly keyName: string;

  constructor(key: number) {
    this.keyName = key === IPC_PRIVATE ? 'key IPC_PRIVATE' : `key ${key} (${ShareErrors.hex(key)})`;
  }

  /** A key as 8 hex digits. */
  static hex(k: number): string {
    return `0x${(k >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** The `code` of one of our errors (ShmError or ShmSystemError), else undefined. */
  static code(e: unknown): string | undefined {
    return ShmError.isInstance(e) ? e.code : undefined;
  }

  /** ERR_SHM_CLOSED. */
  closed(): ShmError {
    return new ShmError('ERR_SHM_CLOSED', `The IPC::ShareLite handle for ${this.keyName} is closed`, {
      target: this.keyName,
    });
  }

  /** ERR_SHM_BUSY: a sync call while an async one runs. */
  busy(): ShmError {
    return new ShmError(
      'ERR_SHM_BUSY',
      `An async call on the IPC::ShareLite handle for ${this.keyName} is still running; await it before calling sync methods`,
      { target: this.keyName },
    );
  }

  /** ERR_SHM_TOO_LARGE: `len` bytes exceed the header's C int. */
  tooLarge(len: number, max: number): ShmError {
    return new ShmError(
      'ERR_SHM_TOO_LARGE',
      `Cannot store ${len} bytes in the IPC::ShareLite share with ${this.keyName}: the format's limit is ${max}`,
      { target: this.keyName },
    );
  }

  /** ERR_SHM_BAD_FORMAT: the header or chain cannot be right. */
  badFormat(what: string, cause?: unknown): ShmError {
    return new ShmError(
      'ERR_SHM_BAD_FORMAT',
      `The IPC::ShareLite share with ${this.keyName} is corrupt: ${what}`,
      {
        target: this.keyName,
        ...(cause !== undefined ? { cause } : {}),
      },
    );
  }

  /** An unlock found the semaphore already at 0. */
  unlockLost(): ShmSystemError {
    return new ShmSystemError(
      `cannot unlock the IPC::ShareLite share with ${this.keyName}: the lock was already released (semaphore is 0; was the set reset?)`,
      EAGAIN,
      'semop',
      this.keyName,
    );
  }

  /**
   * A system error `e` reworded as "<what> the IPC::ShareLite share with <key><hint>", with `e` as its cause and
   * a hint for the common codes; anything that is not a ShmSystemError is returned as it is.
   */
  system(e: unknown, what: string, hint = ''): unknown {
    if (!ShmSystemError.isInstance(e)) return e;
    let h = hint;
    if (!h) {
      if (e.code === 'ENOENT') h = ' (no such share; pass create: true to create it)';
      else if (e.code === 'EEXIST') h = ' (it already exists and exclusive was requested)';
      else if (e.code === 'EACCES' || e.code === 'EPERM') h = " (permission denied by the share's mode)";
      else if ((e.code === 'EINVAL' || e.code === 'EIDRM') && e.syscall.startsWith('sem')) {
        h = ' (the share was removed)';
      } else if (e.code === 'ENOSPC' || e.code === 'ENOMEM') {
        h = ' (a system limit was reached: see /proc/sys/kernel/shmmni, shmall, sem)';
      }
    }
    const err = new ShmSystemError(
      `${what} the IPC::ShareLite share with ${this.keyName}${h}`,
      e.errno,
      e.syscall,
      this.keyName,
    );
    (err as { cause?: unknown }).cause = e;
    return err;
  }

  /** A process warning about the chain (code SHM_SHARELITE_CHAIN). */
  warn(msg: string): void {
    process.emitWarning(`IPC::ShareLite share with ${this.keyName}: ${msg}`, {
      code: 'SHM_SHARELITE_CHAIN',
    });
  }
}
