import { randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let counter = 0;

/**
 * A SysV key no other test uses: 0x5E000000 + a random block of 4096 keys. Each call steps by 256 so that a
 * share's chained segments (IPC::ShareLite uses key+1, key+2, ...) never reach the next test's key.
 */
export function uniqueKey(): number {
  const block = (process.pid * 7919 + randomInt(0, 1 << 20)) & 0x3fff;
  counter += 1;
  return 0x5e000000 + block * 4096 + (counter % 16) * 256;
}

/** A name for POSIX shm or a registry tag: `shmtest-<pid>-<n>-<random>`. */
export function uniqueName(prefix = 'shmtest'): string {
  counter += 1;
  const run = process.env.SHM_TEST_RUN;
  return `${prefix}-${run ? `${run}-` : ''}${process.pid}-${counter}-${randomInt(0, 1e9).toString(36)}`;
}

/** A path in the OS temp directory that does not exist yet. */
export function uniquePath(prefix = 'shmtest'): string {
  return join(tmpdir(), uniqueName(prefix));
}
