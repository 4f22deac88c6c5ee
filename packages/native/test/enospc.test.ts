import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import {
  closeFd,
  fallocate,
  fstat,
  ftruncate,
  openFile,
  ShmSystemError,
  shmOpen,
  shmUnlink,
} from '../src/index.js';
import { errorOf, useCleanups } from './helpers.js';

const cleanups = useCleanups();

describe('a full tmpfs', () => {
  it('makes reserving more than /dev/shm holds an ENOSPC error, not a SIGBUS later', () => {
    const s = statfsSync('/dev/shm');
    const capacity = s.blocks * s.bsize;
    const name = uniqueName();
    const fd = shmOpen(name, { exclusive: true });
    cleanups.push(() => shmUnlink(name));
    cleanups.push(() => closeFd(fd));
    ftruncate(fd, capacity + 2 ** 20); // only a size: tmpfs files are sparse, so this succeeds
    const e = errorOf(() => fallocate(fd, 0, capacity + 2 ** 20));
    expect(e).toBeInstanceOf(ShmSystemError);
    expect(e).toMatchObject({ code: 'ENOSPC', syscall: 'posix_fallocate', target: `fd ${fd}` });
  });

  // Mounting needs root (CAP_SYS_ADMIN); vitest reports this as skipped, not passed, elsewhere.
  it.runIf(process.getuid?.() === 0)(
    'of 1 MiB, once partly used, makes a 2 MiB reservation ENOSPC and gives back what it took',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'shmtest-tmpfs-'));
      cleanups.push(() => rmdirSync(dir));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
      cleanups.push(() => execFileSync('umount', [dir]));
      const a = openFile(join(dir, 'a'), { exclusive: true });
      cleanups.push(() => closeFd(a));
      fallocate(a, 0, 512 * 1024);
      const free = () => statfsSync(dir).bfree * statfsSync(dir).bsize;
      const freeBefore = free();
      const b = openFile(join(dir, 'b'), { exclusive: true });
      cleanups.push(() => closeFd(b));
      const e = errorOf(() => fallocate(b, 0, 2 * 1024 * 1024));
      expect(e).toBeInstanceOf(ShmSystemError);
      expect(e).toMatchObject({ code: 'ENOSPC', syscall: 'posix_fallocate' });
      const e2 = errorOf(() => fallocate(b, 0, 768 * 1024)); // fits the size limit but not the space left
      expect(e2).toMatchObject({ code: 'ENOSPC' });
      expect(free()).toBe(freeBefore);
      expect(fstat(b).size).toBe(0);
    },
  );
});
