import { rmSync } from 'node:fs';
import { spawnPeer, uniqueKey, uniqueName, uniquePath } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeFd,
  fallocate,
  ftruncate,
  mapFd,
  memfdCreate,
  type NativeMapping,
  openFile,
  shmat,
  shmget,
  shmOpen,
  shmRemove,
  shmUnlink,
} from '../src/index.js';
import { fixture, forkPeer } from './helpers.js';

const SIZE = 65536;
const N = 200_000;
const peerScript = fixture('region-peer.ts');

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

// Both sides add N to word 0 concurrently; the parent's word 1 is seen by the child and the child's word 2 by the
// parent. Exact totals show the two processes address the same memory.
async function shareWith(
  m: NativeMapping,
  start: () => { next(p?: (m: any) => boolean): Promise<any>; exited: Promise<any> },
) {
  const words = new Int32Array(m.buffer!);
  Atomics.store(words, 1, 0x51a7);
  const peer = start();
  const ready = await peer.next((x) => x.ready);
  expect(ready.saw).toBe(0x51a7);
  for (let i = 0; i < N; i++) Atomics.add(words, 0, 1);
  await peer.next((x) => x.done);
  const result = await peer.exited;
  expect(result.code).toBe(0);
  expect(Atomics.load(words, 0)).toBe(2 * N);
  expect(Atomics.load(words, 2)).toBe(ready.pid);
  return ready;
}

describe('two processes sharing a region', () => {
  it('see each other writes through a memfd passed to a forked child in its stdio array', async () => {
    const fd = memfdCreate(uniqueName(), SIZE);
    cleanups.push(() => closeFd(fd));
    const m = mapFd(fd);
    cleanups.push(() => m.close());
    const ready = await shareWith(m, () => {
      const p = forkPeer(peerScript, ['fd', '4', String(N)], [fd]);
      cleanups.push(() => p.child.kill('SIGKILL'));
      return p;
    });
    expect(ready).toMatchObject({ kind: 'mmap', size: SIZE });
  });

  it('see each other writes through a memfd passed to a spawned child as fd 3', async () => {
    const fd = memfdCreate(uniqueName(), SIZE);
    cleanups.push(() => closeFd(fd));
    const m = mapFd(fd);
    cleanups.push(() => m.close());
    await shareWith(m, () => {
      const p = spawnPeer(peerScript, ['fd', '3', String(N)], { stdio: ['pipe', 'pipe', 'pipe', fd] });
      cleanups.push(() => p.kill());
      return p;
    });
  });

  it('see each other writes through a POSIX shm object opened by name', async () => {
    const name = uniqueName();
    const fd = shmOpen(name, { exclusive: true });
    cleanups.push(() => shmUnlink(name));
    cleanups.push(() => closeFd(fd));
    ftruncate(fd, SIZE);
    fallocate(fd, 0, SIZE);
    const m = mapFd(fd);
    cleanups.push(() => m.close());
    await shareWith(m, () => {
      const p = spawnPeer(peerScript, ['posix', name, String(N)]);
      cleanups.push(() => p.kill());
      return p;
    });
  });

  it('see each other writes through a mapped file', async () => {
    const path = uniquePath();
    const fd = openFile(path, { exclusive: true });
    cleanups.push(() => rmSync(path, { force: true }));
    cleanups.push(() => closeFd(fd));
    ftruncate(fd, SIZE);
    const m = mapFd(fd);
    cleanups.push(() => m.close());
    await shareWith(m, () => {
      const p = spawnPeer(peerScript, ['file', path, String(N)]);
      cleanups.push(() => p.kill());
      return p;
    });
  });

  it('see each other writes through a SysV segment found by key', async () => {
    const key = uniqueKey();
    const id = shmget(key, SIZE, { exclusive: true });
    cleanups.push(() => shmRemove(id));
    const m = shmat(id);
    cleanups.push(() => m.close());
    expect(m.kind).toBe('sysv');
    const ready = await shareWith(m, () => {
      const p = spawnPeer(peerScript, ['sysv', String(key), String(N)]);
      cleanups.push(() => p.kill());
      return p;
    });
    expect(ready).toMatchObject({ kind: 'sysv', size: SIZE });
  });
});
