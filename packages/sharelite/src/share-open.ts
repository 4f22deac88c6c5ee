// IPC::ShareLite's open protocol, new_share (PERL-FORMATS.md §5): semget; the exclusive lock; shmget the head;
// initialise it if semaphore 0 is still 0; adopt its size; unlock. Waits for the lock blocking or asynchronously.
import { sysv } from '@shm/core';
import type { ParsedOptions } from './args.js';
import { IPC_CREAT, IPC_EXCL, IPC_PRIVATE, LOCK_EX } from './constants.js';
import { DEFAULT_SEGMENT_SIZE, HEADER_SIZE, SEM_INIT } from './protocol.js';
import { ShareChain } from './share-chain.js';
import { ShareErrors } from './share-errors.js';
import { ShareLock } from './share-lock.js';

/** An open share: its lock (holding nothing) and its chain (the head attached). */
export interface OpenedShare {
  lock: ShareLock;
  chain: ShareChain;
}

const MAX_OPEN_RETRIES = 1000;
const { code: errCode } = ShareErrors;

/**
 * Opens (or creates) the share `o` describes, waiting for its exclusive lock blocking the thread (`'sync'`) or on
 * a waiter thread (`'async'`). A set removed between semget and the lock is looked up again, as new_share does.
 * @throws ShmSystemError (ENOENT, EEXIST, EACCES, EINVAL for a size larger than the share's, ENOSPC);
 *   ShmError ERR_SHM_BAD_FORMAT when the head cannot hold a header.
 */
export function openShare(o: ParsedOptions, errors: ShareErrors, wait: 'sync'): OpenedShare;
export function openShare(o: ParsedOptions, errors: ShareErrors, wait: 'async'): Promise<OpenedShare>;
export function openShare(
  o: ParsedOptions,
  errors: ShareErrors,
  wait: 'sync' | 'async',
): OpenedShare | Promise<OpenedShare> {
  if (wait === 'async') return openAsync(o, errors);
  for (let attempt = 0; ; attempt++) {
    const lock = new ShareLock(semget(o, errors), errors);
    try {
      lock.take(LOCK_EX);
    } catch (e) {
      if (retry(e, attempt)) continue;
      throw e;
    }
    return { lock, chain: finishOpen(o, errors, lock) };
  }
}

async function openAsync(o: ParsedOptions, errors: ShareErrors): Promise<OpenedShare> {
  for (let attempt = 0; ; attempt++) {
    const lock = new ShareLock(semget(o, errors), errors);
    try {
      await lock.takeAsync(LOCK_EX);
    } catch (e) {
      if (retry(e, attempt)) continue;
      throw e;
    }
    return { lock, chain: finishOpen(o, errors, lock) };
  }
}

/** The set was removed between semget and semop: start again. */
function retry(e: unknown, attempt: number): boolean {
  const c = errCode(e);
  return attempt < MAX_OPEN_RETRIES && (c === 'EINVAL' || c === 'EIDRM');
}

function semget(o: ParsedOptions, errors: ShareErrors): number {
  try {
    return sysv.semget(o.key, 3, o.flags);
  } catch (e) {
    throw errors.system(e, 'cannot open the semaphore set of');
  }
}

/** Steps 3-6 of new_share, under the exclusive lock; releases it whatever happens (Perl leaks it on failure). */
function finishOpen(o: ParsedOptions, errors: ShareErrors, lock: ShareLock): ShareChain {
  const chain = new ShareChain(o.key, o.flags, errors, lock.tables);
  try {
    const { key, flags } = o;
    const asked = o.size > HEADER_SIZE;
    const want = asked ? o.size : DEFAULT_SEGMENT_SIZE;
    let shmid: number | undefined;
    // Without a size, adopt an existing share's segment size. Perl asks for 65536 and so cannot open a share
    // made with smaller segments (EINVAL). Size 1 fits any segment; the permission bits are still checked.
    if (!asked && key !== IPC_PRIVATE && !(flags & IPC_EXCL)) {
      try {
        shmid = sysv.shmget(key, 1, flags & ~(IPC_CREAT | IPC_EXCL));
      } catch (e) {
        if (errCode(e) !== 'ENOENT' || !(flags & IPC_CREAT))
          throw errors.system(e, 'cannot open the head segment of');
      }
    }
    try {
      shmid ??= sysv.shmget(key, want, flags);
    } catch (e) {
      throw errors.system(e, 'cannot open the head segment of', sizeHint(o, e, want));
    }
    chain.attachHead(shmid, () => {
      if (sysv.semGetVal(lock.semid, SEM_INIT) !== 0) return false;
      sysv.semSetVal(lock.semid, SEM_INIT, 1);
      return true;
    });
  } catch (e) {
    chain.detachAll();
    try {
      // A set nobody ever initialised was made by this call: remove it rather than leak it. A process waiting
      // on it gets EIDRM and starts over, as the protocol expects.
      if (o.create && sysv.semGetVal(lock.semid, SEM_INIT) === 0) lock.removeSet();
      else lock.release();
    } catch {
      /* already gone */
    }
    lock.forget();
    throw e;
  }
  lock.release();
  return chain;
}

function sizeHint(o: ParsedOptions, e: unknown, want: number): string {
  if (errCode(e) !== 'EINVAL') return '';
  try {
    const real = sysv.shmStat(sysv.shmget(o.key, 1, 0)).size;
    return ` (it exists with segments of ${real} bytes; the requested size ${want} is larger)`;
  } catch {
    return '';
  }
}
