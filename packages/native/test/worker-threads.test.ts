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

/**
 * The worker's next message that `match`es. Rejects, naming `what`, if the worker errs, exits first or stays silent
 * for 20 s, so a stuck worker fails with a reason instead of the test's 60 s timeout.
 */
function nextMessage(w: Worker, match: (m: any) => boolean, what: string): Promise<any> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
    };
    const onMessage = (m: any) => {
      if (!match(m)) return;
      done();
      resolve(m);
    };
    const onError = (e: unknown) => {
      done();
      reject(e);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`the worker exited (code ${code}) before ${what}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the worker sent no ${what} within 20 s`));
    }, 20_000);
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
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

    const ready = await nextMessage(worker, (x) => x.ready, 'its ready message');
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
    const exited = once(worker, 'exit');
    expect(await nextMessage(worker, (x) => 'result' in x, 'the result of its futexWait')).toEqual({
      result: WaitResult.Woken,
      value: 1,
    });
    const [code] = await exited;
    expect(code).toBe(0);
  });
});
