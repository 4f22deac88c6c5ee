import { rmSync } from 'node:fs';
import { totalmem } from 'node:os';
import { spawnPeer, uniqueKey, uniqueName, uniquePath } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import {
  closeFd,
  fallocate,
  ftruncate,
  futexWait,
  futexWaitAsync,
  futexWake,
  mapFd,
  memfdCreate,
  openFile,
  ShmError,
  ShmSystemError,
  semget,
  semop,
  semRemove,
  shmat,
  shmget,
  shmOpen,
  shmRemove,
  shmUnlink,
} from '../src/index.js';
import { errorOf, fixture, useCleanups } from './helpers.js';

const cleanups = useCleanups();

function expectSystemError(fn: () => unknown, code: string, syscall?: string): ShmSystemError {
  const e = errorOf(fn);
  expect(e).toBeInstanceOf(ShmSystemError);
  expect(ShmError.isInstance(e)).toBe(true);
  expect(e.code).toBe(code);
  expect(typeof e.errno).toBe('number');
  if (syscall) expect(e.syscall).toBe(syscall);
  return e;
}

function memfdMapping(size = 4096) {
  const fd = memfdCreate(uniqueName(), size);
  cleanups.push(() => closeFd(fd));
  const m = mapFd(fd);
  cleanups.push(() => m.close());
  return { fd, m };
}

describe('sizes that make no sense', () => {
  const bad: [unknown, typeof RangeError | typeof TypeError][] = [
    [-1, RangeError],
    [0, RangeError],
    [1.5, TypeError],
    [Number.NaN, TypeError],
    ['4096', TypeError],
    [2 ** 53, TypeError],
  ];

  it.each(bad)('are refused before any syscall: size %s', (size, Ctor) => {
    const name = uniqueName();
    const e = errorOf(() => memfdCreate(name, size as number));
    expect(e).toBeInstanceOf(Ctor);
    expect(e.message).toMatch(/^Expected a positive integer \(bytes\) for size but received /);
    expect(errorOf(() => shmget(uniqueKey(), size as number, { create: true }))).toBeInstanceOf(Ctor);
    const { fd } = memfdMapping();
    expect(errorOf(() => mapFd(fd, { size: size as number }))).toBeInstanceOf(Ctor);
    expect(errorOf(() => ftruncate(fd, size as number))).toBeInstanceOf(Ctor);
  });

  it('reject a 2**50-byte SysV segment in the kernel with ENOMEM or EINVAL', () => {
    const key = uniqueKey();
    let id: number | undefined;
    const e = errorOf(() => {
      id = shmget(key, 2 ** 50, { exclusive: true });
    });
    if (id !== undefined) shmRemove(id);
    expect(e).toBeInstanceOf(ShmSystemError);
    expect(['ENOMEM', 'EINVAL', 'ENOSPC']).toContain(e.code);
    expect(e).toMatchObject({ syscall: 'shmget', target: `key ${key | 0}` });
  });

  it('reject reserving 2**50 bytes of /dev/shm with ENOSPC, and mapping them with ENOMEM', () => {
    const name = uniqueName();
    const fd = shmOpen(name, { exclusive: true });
    cleanups.push(() => shmUnlink(name));
    cleanups.push(() => closeFd(fd));
    expectSystemError(() => fallocate(fd, 0, 2 ** 50), 'ENOSPC', 'posix_fallocate');
    ftruncate(fd, 2 ** 50); // a sparse size is allowed; touching it would not be
    expectSystemError(() => mapFd(fd), 'ENOMEM', 'mmap');
  });

  it('refuse a negative or fractional offset', () => {
    const { fd } = memfdMapping();
    expect(errorOf(() => mapFd(fd, { offset: -4096 }))).toBeInstanceOf(RangeError);
    expect(errorOf(() => mapFd(fd, { offset: 0.5, size: 1 }))).toBeInstanceOf(RangeError);
    expect(errorOf(() => fallocate(fd, -1, 10))).toBeInstanceOf(RangeError);
  });
});

describe('mapping more than a file holds', () => {
  it('is refused with EINVAL instead of a SIGBUS on first touch', () => {
    const path = uniquePath();
    const fd = openFile(path, { exclusive: true });
    cleanups.push(() => rmSync(path, { force: true }));
    cleanups.push(() => closeFd(fd));
    ftruncate(fd, 4096);
    const e = expectSystemError(() => mapFd(fd, { size: 8192 }), 'EINVAL', 'mmap');
    expect(e.message).toContain('object has 4096 bytes, mapping needs 8192');
    expectSystemError(() => mapFd(fd, { offset: 4096, size: 4096 }), 'EINVAL', 'mmap');
    const m = mapFd(fd, { size: 4096 });
    cleanups.push(() => m.close());
    expect(m.size).toBe(4096);
  });

  it('is refused for an empty file with ERR_SHM_BAD_FORMAT', () => {
    const path = uniquePath();
    const fd = openFile(path, { exclusive: true });
    cleanups.push(() => rmSync(path, { force: true }));
    cleanups.push(() => closeFd(fd));
    const e = errorOf(() => mapFd(fd));
    expect(ShmError.isInstance(e)).toBe(true);
    expect(e.code).toBe('ERR_SHM_BAD_FORMAT');
  });

  it('fails with EBADF for an fd that is not open', () => {
    const fd = memfdCreate(uniqueName(), 4096);
    closeFd(fd);
    expectSystemError(() => mapFd(fd), 'EBADF', 'fstat');
    expectSystemError(() => mapFd(fd, { size: 4096 }), 'EBADF', 'fstat');
  });
});

describe('SysV keys', () => {
  it('that do not exist give ENOENT without create, naming the key', () => {
    const key = uniqueKey();
    const e = expectSystemError(() => shmget(key, 4096), 'ENOENT', 'shmget');
    expect(e.target).toBe(`key ${key | 0}`);
    expectSystemError(() => semget(key, 1), 'ENOENT', 'semget');
  });

  it('that exist give EEXIST with exclusive', () => {
    const key = uniqueKey();
    const shmid = shmget(key, 4096, { exclusive: true });
    cleanups.push(() => shmRemove(shmid));
    const semid = semget(key, 1, { exclusive: true });
    cleanups.push(() => semRemove(semid));
    expectSystemError(() => shmget(key, 4096, { exclusive: true }), 'EEXIST', 'shmget');
    expectSystemError(() => semget(key, 1, { exclusive: true }), 'EEXIST', 'semget');
    expect(shmget(key, 4096)).toBe(shmid);
    expect(shmget(key, 4096, { create: true })).toBe(shmid);
  });

  it('that exist but are smaller than asked give EINVAL', () => {
    const key = uniqueKey();
    const shmid = shmget(key, 4096, { exclusive: true });
    cleanups.push(() => shmRemove(shmid));
    expectSystemError(() => shmget(key, 8192), 'EINVAL', 'shmget');
  });

  it('outside 32 bits, and removed ids, are refused', () => {
    expect(errorOf(() => shmget(2 ** 32, 4096))).toBeInstanceOf(RangeError);
    expect(errorOf(() => shmget('1' as unknown as number, 4096))).toBeInstanceOf(TypeError);
    const key = uniqueKey();
    const id = shmget(key, 4096, { exclusive: true });
    shmRemove(id);
    expectSystemError(() => shmat(id), 'EINVAL');
    expectSystemError(() => shmRemove(id), 'EINVAL', 'shmctl(IPC_RMID)');
  });
});

describe('semaphore operations', () => {
  it('with malformed ops are TypeErrors or RangeErrors', () => {
    const id = semget(uniqueKey(), 1, { exclusive: true });
    cleanups.push(() => semRemove(id));
    expect(errorOf(() => semop(id, []))).toBeInstanceOf(TypeError);
    expect(errorOf(() => semop(id, [[0, 1] as unknown as [number, number, number]]))).toBeInstanceOf(
      TypeError,
    );
    expect(errorOf(() => semop(id, [[0, 40000, 0]]))).toBeInstanceOf(RangeError);
    expect(errorOf(() => semop(id, [[0, 1, 0]], -5))).toBeInstanceOf(TypeError);
  });

  it('on a semaphore number past the set give EFBIG', () => {
    const id = semget(uniqueKey(), 1, { exclusive: true });
    cleanups.push(() => semRemove(id));
    expectSystemError(() => semop(id, [[3, 1, 0]]), 'EFBIG', 'semop');
  });
});

describe('POSIX shm names', () => {
  it('that do not exist give ENOENT, naming the object', () => {
    const name = uniqueName();
    const e = expectSystemError(() => shmOpen(name), 'ENOENT', 'shm_open');
    expect(e.target).toBe(`/${name}`);
    expectSystemError(() => shmUnlink(name), 'ENOENT', 'shm_unlink');
  });

  it('that exist give EEXIST with exclusive', () => {
    const name = uniqueName();
    closeFd(shmOpen(name, { exclusive: true }));
    cleanups.push(() => shmUnlink(name));
    expectSystemError(() => shmOpen(name, { exclusive: true }), 'EEXIST', 'shm_open');
  });

  it.each([
    ['', RangeError],
    ['/', RangeError],
    ['a/b', RangeError],
    ['x'.repeat(300), RangeError],
    ['nul\0byte', RangeError],
    [42, TypeError],
    [undefined, TypeError],
  ])('that are malformed are refused before shm_open: %j', (name, Ctor) => {
    const e = errorOf(() => shmOpen(name as string, { create: true }));
    expect(e).toBeInstanceOf(Ctor);
    expect(e.message).toMatch(/^Expected .* for name but received /);
  });
});

describe('futex offsets', () => {
  it.each([2, 4095, 4096, 8192, -4])(
    'that are misaligned or out of bounds are RangeErrors: %d',
    async (offset) => {
      const { m } = memfdMapping();
      expect(errorOf(() => futexWait(m, offset, 0, 0))).toBeInstanceOf(RangeError);
      expect(errorOf(() => futexWake(m, offset))).toBeInstanceOf(RangeError);
      expect(errorOf(() => futexWaitAsync(m, offset, 0, 0))).toBeInstanceOf(RangeError);
    },
  );

  it('on something that is not a mapping are TypeErrors', () => {
    const fake = { buffer: new ArrayBuffer(8), size: 8, closed: false, kind: 'mmap', close: () => true };
    expect(errorOf(() => futexWake(fake as never, 0))).toBeInstanceOf(TypeError);
    expect(errorOf(() => futexWait(null as never, 0, 0, 0))).toBeInstanceOf(TypeError);
  });

  it('at the last word of the mapping are accepted', () => {
    const { m } = memfdMapping();
    expect(futexWake(m, 4092)).toBe(0);
  });
});

describe.runIf(process.getuid?.() === 0)(
  'objects created with mode 0600, opened by another user (nobody)',
  () => {
    const nobody = { uid: 65534, gid: 65534 };

    async function openAsNobody(kind: string, target: string) {
      const peer = spawnPeer(fixture('open-as-other.ts'), [kind, target], nobody);
      cleanups.push(() => peer.kill());
      const result = await peer.next((m) => 'opened' in m);
      expect(await peer.next((m) => m.alive)).toEqual({ alive: true });
      expect((await peer.exited).code).toBe(0);
      return result;
    }

    it('refuse a SysV segment with EACCES', async () => {
      const key = uniqueKey();
      const id = shmget(key, 4096, { exclusive: true, mode: 0o600 });
      cleanups.push(() => shmRemove(id));
      expect(await openAsNobody('sysv-shm', String(key))).toEqual({
        uid: 65534,
        opened: false,
        isShmSystemError: true,
        code: 'EACCES',
        syscall: 'shmget',
        target: `key ${key | 0}`,
      });
    });

    it('refuse a POSIX shm object with EACCES', async () => {
      const name = uniqueName();
      closeFd(shmOpen(name, { exclusive: true, mode: 0o600 }));
      cleanups.push(() => shmUnlink(name));
      expect(await openAsNobody('posix', name)).toMatchObject({
        uid: 65534,
        opened: false,
        isShmSystemError: true,
        code: 'EACCES',
        syscall: 'shm_open',
      });
    });

    it('refuse a semaphore set with EACCES', async () => {
      const key = uniqueKey();
      const id = semget(key, 1, { exclusive: true, mode: 0o600 });
      cleanups.push(() => semRemove(id));
      expect(await openAsNobody('sem', String(key))).toMatchObject({
        uid: 65534,
        opened: false,
        isShmSystemError: true,
        code: 'EACCES',
        syscall: 'semget',
      });
    });

    it('let the other user in when the mode allows it', async () => {
      const key = uniqueKey();
      const id = shmget(key, 4096, { exclusive: true, mode: 0o666 });
      cleanups.push(() => shmRemove(id));
      expect(await openAsNobody('sysv-shm', String(key))).toEqual({ uid: 65534, opened: true });
    });
  },
);

describe('a memfd larger than memory', () => {
  // Never sent to the kernel: memfd lives on an unlimited internal tmpfs, so posix_fallocate of 2**50 bytes would
  // commit pages until the OOM killer ran (1 GiB takes 0.5 s here) instead of failing.
  it('is refused with ENOMEM before any memory is committed', () => {
    const name = uniqueName();
    const e = expectSystemError(() => memfdCreate(name, 2 ** 50), 'ENOMEM', 'posix_fallocate');
    expect(e.target).toBe(name);
    expect(e.message).toContain('exceeds this machine');
    expectSystemError(() => memfdCreate(name, totalmem() + 2 ** 40), 'ENOMEM');
  });
});

describe('mapping offsets', () => {
  it('that are not page-aligned are EINVAL from mmap', () => {
    const { fd } = memfdMapping(8192);
    expectSystemError(() => mapFd(fd, { offset: 100, size: 4096 }), 'EINVAL', 'mmap');
  });
});
