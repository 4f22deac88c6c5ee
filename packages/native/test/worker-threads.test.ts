import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { tsWorker, uniqueKey, uniqueName, waitFor } from '@shm/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeFd,
  futexWake,
  mapFd,
  memfdCreate,
  ShmSystemError,
  shmget,
  threadId,
  WaitResult,
} from '../src/index.js';
import { fixture, threadsInSharedFutexWait } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      await c();
    } catch {
      /* already gone */
    }
  }
});

function nextMessage(w: Worker, match: (m: any) => boolean): Promise<any> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (!match(m)) return;
      w.off('message', onMessage);
      resolve(m);
    };
    w.on('message', onMessage);
    w.once('error', reject);
  });
}

describe('worker threads', () => {
  it('load the addon alongside the main thread, map the same memfd and are woken by it', async () => {
    const fd = memfdCreate(uniqueName(), 4096);
    cleanups.push(() => closeFd(fd));
    const m = mapFd(fd);
    cleanups.push(() => m.close());
    const words = new Int32Array(m.buffer!);
    Atomics.store(words, 1, 77);
    const missingKey = uniqueKey();
    const worker = tsWorker(fixture('futex-worker.ts'), { workerData: { fd, missingKey } });
    cleanups.push(() => worker.terminate());

    const ready = await nextMessage(worker, (x) => x.ready);
    expect(ready.saw).toBe(77);
    expect(ready.tid).not.toBe(threadId());
    expect(ready.error).toEqual({ isShmSystemError: true, code: 'ENOENT' });
    // The main thread's errors are still its own ShmSystemError after the worker registered its class.
    let mainError: unknown;
    try {
      shmget(missingKey, 4096);
    } catch (e) {
      mainError = e;
    }
    expect(mainError).toBeInstanceOf(ShmSystemError);

    await waitFor(() => threadsInSharedFutexWait(process.pid) === 1, 'the worker to sleep in FUTEX_WAIT');
    Atomics.store(words, 0, 1);
    expect(futexWake(m, 0, 1)).toBe(1);
    expect(await nextMessage(worker, (x) => 'result' in x)).toEqual({ result: WaitResult.Woken, value: 1 });
    const [code] = await once(worker, 'exit');
    expect(code).toBe(0);
  });
});
