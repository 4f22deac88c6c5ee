import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { spawnPeer } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import { MmapShare } from '../src/index.js';
import { childScript, execArgv, fixture, forkStdio, messages, track, tsWorkerUrl } from './helpers.js';

async function result(w: Worker): Promise<any> {
  const [m] = await once(w, 'message');
  const [code] = await once(w, 'exit');
  expect(code).toBe(0);
  return m;
}

describe('worker threads', () => {
  it('receive the share with share.worker() and MmapShare.inherited(), and update it under the lock', async () => {
    const share = track(new MmapShare(64));
    share.set(0);
    const N = 300;
    const workers = [0, 1].map(() =>
      share.worker(tsWorkerUrl(fixture('worker.ts')), {
        workerData: { n: N },
        execArgv: ['--conditions=@shm/source'],
      }),
    );
    for (let i = 0; i < N; i++) share.update<number>((n) => n! + 1);
    const results = await Promise.all(workers.map(result));
    for (const r of results) expect(r.done).toBe(true);
    expect(share.get()).toBe(3 * N);
  });

  it('receive it through workerData with transferable() / fromWorkerData(), and closing there keeps our fd', async () => {
    const share = track(new MmapShare(64));
    share.set(5);
    const w = new Worker(tsWorkerUrl(fixture('worker.ts')), {
      workerData: { n: 10, handle: share.transferable() },
      execArgv: ['--conditions=@shm/source'],
    });
    expect(await result(w)).toEqual({ done: true, value: 15 });
    // The worker closed its handle; the fd it borrowed is still ours to hand on.
    expect(share.get()).toBe(15);
    const child = messages(share.fork(childScript, ['get'], { execArgv, stdio: [...forkStdio] }));
    expect(await child.next()).toMatchObject({ value: 15 });
  });
});

describe('cluster workers', () => {
  it('receive the share (and a second, named one) through clusterFork() and count exactly', async () => {
    const N = 200;
    const primary = spawnPeer(fixture('cluster-primary.ts'), [String(N)]);
    const m = await primary.next((m) => 'total' in m || m.error, 60_000);
    expect(m.total).toBe(3 * N);
    expect([...m.names].sort()).toEqual(['worker 0', 'worker 1', 'worker 2']);
    expect(m.stdioSlots).toBe(4 + 2);
    const r = await primary.exited;
    expect(r.code).toBe(0);
  });
});
