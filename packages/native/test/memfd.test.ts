import { readlinkSync, rmSync } from 'node:fs';
import { uniqueName, uniquePath } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeFd,
  fstat,
  ftruncate,
  isMemfd,
  mapFd,
  memfdConstants,
  memfdCreate,
  memfdSeals,
  openFile,
  ShmSystemError,
  shmOpen,
  shmUnlink,
} from '../src/index.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      /* already gone */
    }
  }
});

function catchError(fn: () => unknown): any {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('memfd regions', () => {
  it('are created at the requested size, sealed against shrinking and growing, and not in /dev/shm', () => {
    const name = uniqueName();
    const fd = memfdCreate(name, 8192);
    cleanups.push(() => closeFd(fd));
    const c = memfdConstants();
    const seals = memfdSeals(fd);
    expect(seals & c.F_SEAL_SHRINK).toBe(c.F_SEAL_SHRINK);
    expect(seals & c.F_SEAL_GROW).toBe(c.F_SEAL_GROW);
    expect(seals & c.F_SEAL_WRITE).toBe(0);
    expect(fstat(fd).size).toBe(8192);
    expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe(`/memfd:${name} (deleted)`);
  });

  it('refuses ftruncate to a smaller or larger size with EPERM once sealed', () => {
    const fd = memfdCreate(uniqueName(), 8192);
    cleanups.push(() => closeFd(fd));
    for (const size of [4096, 16384]) {
      const e = catchError(() => ftruncate(fd, size));
      expect(e).toBeInstanceOf(ShmSystemError);
      expect(e).toMatchObject({ code: 'EPERM', syscall: 'ftruncate' });
    }
    expect(fstat(fd).size).toBe(8192);
  });

  it('can be left unsealed on request, and then resized', () => {
    const fd = memfdCreate(uniqueName(), 4096, { seal: false });
    cleanups.push(() => closeFd(fd));
    expect(memfdSeals(fd)).toBe(0);
    ftruncate(fd, 8192);
    expect(fstat(fd).size).toBe(8192);
  });

  it('is recognised by isMemfd, while a regular file fd is not', () => {
    const fd = memfdCreate(uniqueName(), 4096);
    cleanups.push(() => closeFd(fd));
    const path = uniquePath();
    const file = openFile(path, { exclusive: true });
    cleanups.push(() => rmSync(path, { force: true }));
    cleanups.push(() => closeFd(file));
    expect(isMemfd(fd)).toBe(true);
    expect(isMemfd(file)).toBe(false);
  });

  it('is not confused by isMemfd with a POSIX shm object, which also lives on tmpfs', () => {
    const name = uniqueName();
    const fd = shmOpen(name, { exclusive: true });
    cleanups.push(() => shmUnlink(name));
    cleanups.push(() => closeFd(fd));
    expect(isMemfd(fd)).toBe(false);
  });

  it('makes isMemfd throw EBADF for a closed fd rather than answer', () => {
    const fd = memfdCreate(uniqueName(), 4096);
    closeFd(fd);
    const e = catchError(() => isMemfd(fd));
    expect(e).toBeInstanceOf(ShmSystemError);
    expect(e.code).toBe('EBADF');
  });

  it('maps a memfd whole by default and can map a page-aligned window of it', () => {
    const fd = memfdCreate(uniqueName(), 3 * 4096);
    cleanups.push(() => closeFd(fd));
    const whole = mapFd(fd);
    cleanups.push(() => whole.close());
    const window = mapFd(fd, { offset: 4096, size: 4096, populate: true });
    cleanups.push(() => window.close());
    expect(whole.size).toBe(3 * 4096);
    new Uint8Array(window.buffer!)[7] = 42;
    expect(new Uint8Array(whole.buffer!)[4096 + 7]).toBe(42);
  });

  it('maps read-only when asked and still sees the writes made through a read-write mapping', () => {
    const fd = memfdCreate(uniqueName(), 4096);
    cleanups.push(() => closeFd(fd));
    const rw = mapFd(fd);
    cleanups.push(() => rw.close());
    const ro = mapFd(fd, { readonly: true });
    cleanups.push(() => ro.close());
    new Int32Array(rw.buffer!)[0] = 7;
    expect(new Int32Array(ro.buffer!)[0]).toBe(7);
  });
});
