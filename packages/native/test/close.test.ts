import { spawn } from 'node:child_process';
import { uniqueKey, uniqueName, waitFor } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeFd,
  futexWait,
  futexWaitAsync,
  futexWake,
  mapFd,
  memfdCreate,
  ShmSystemError,
  shmat,
  shmget,
  shmRemove,
  shmStat,
} from '../src/index.js';
import { asyncWaitsInKernel, fixture, mapsLines } from './helpers.js';

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

function memfdMapping(size = 4096) {
  const name = uniqueName();
  const fd = memfdCreate(name, size);
  cleanups.push(() => closeFd(fd));
  const m = mapFd(fd);
  cleanups.push(() => m.close());
  return { name, m };
}

describe('closing a mapping', () => {
  it('detaches every view, unmaps at once, and makes later use a clear error', () => {
    const { name, m } = memfdMapping();
    const words = new Int32Array(m.buffer!);
    const bytes = new Uint8Array(m.buffer!, 8, 16);
    words[0] = 42;
    expect(mapsLines(name)).toBe(1);
    expect(m.close()).toBe(true);
    expect(m.closed).toBe(true);
    expect(m.buffer).toBeUndefined();
    expect(words.length).toBe(0);
    expect(bytes.length).toBe(0);
    expect(words[0]).toBeUndefined();
    expect(() => Atomics.load(words, 0)).toThrow(TypeError);
    expect(mapsLines(name)).toBe(0);
    expect(m.size).toBe(4096);
  });

  it('makes futex calls on a closed mapping throw ShmSystemError and close() again return false', async () => {
    const { m } = memfdMapping();
    m.close();
    for (const call of [
      () => futexWait(m, 0, 0, 0),
      () => futexWake(m, 0),
      () => futexWaitAsync(m, 0, 0, 0),
    ]) {
      let err: unknown;
      try {
        await call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ShmSystemError);
      expect(err).toMatchObject({ code: 'EBADF' });
    }
    expect(m.close()).toBe(false);
    expect(m.close()).toBe(false);
  });

  it('ends an async wait with ERR_SHM_CLOSED when its mapping closes, and unmaps once the waiter let go', async () => {
    const { name, m } = memfdMapping();
    const pending = futexWaitAsync(m, 0, 0, 60_000);
    await waitFor(() => asyncWaitsInKernel(process.pid) === 1, 'the waiter thread to sleep on the word');
    const t0 = performance.now();
    expect(m.close()).toBe(true);
    expect(m.buffer).toBeUndefined();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_SHM_CLOSED' });
    expect(performance.now() - t0).toBeLessThan(5_000); // not the 60 s timeout
    await waitFor(() => mapsLines(name) === 0, 'the memory to be unmapped');
    expect(asyncWaitsInKernel(process.pid)).toBe(0);
  });

  it('detaches a SysV segment on close so its attach count drops', () => {
    const id = shmget(uniqueKey(), 4096, { exclusive: true });
    cleanups.push(() => shmRemove(id));
    const m = shmat(id);
    const view = new Int32Array(m.buffer!);
    expect(shmStat(id).nattch).toBe(1);
    expect(m.close()).toBe(true);
    expect(shmStat(id).nattch).toBe(0);
    expect(view.length).toBe(0);
    expect(m.close()).toBe(false);
  });

  it('leaves the fd usable after its mapping is closed, and the mapping usable after its fd is closed', () => {
    const fd = memfdCreate(uniqueName(), 4096);
    const a = mapFd(fd);
    closeFd(fd);
    cleanups.push(() => a.close());
    new Int32Array(a.buffer!)[0] = 9;
    expect(new Int32Array(a.buffer!)[0]).toBe(9);
  });
});

describe('mappings nobody closes', () => {
  it('are unmapped by GC finalizers without a crash or a double unmap, while a surviving view stays mapped', async () => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--conditions=@shm/source', '--import', 'tsx', fixture('finalizer-peer.ts'), '400'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
      child.on('exit', (c, s) => r([c, s])),
    );
    expect({ code, signal, err }).toEqual({ code: 0, signal: null, err: '' });
    const r = JSON.parse(out.trim());
    expect(r.before).toBe(0);
    expect(r.peak).toBe(399); // one of the 400 was closed explicitly
    expect(r.after).toBe(1); // only the one whose view is still referenced
    expect(r).toMatchObject({ keptValue: 0, keptLength: 16384 });
  });
});
