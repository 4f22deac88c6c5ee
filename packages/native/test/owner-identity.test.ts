import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { tsWorker } from '@shm/test-utils';
import { describe, expect, it } from 'vitest';
import {
  MemoryProcessTable,
  type OwnerIdentity,
  ownerIdentity,
  ownerIdentityFor,
  type ProcessCalls,
  threadId,
} from '../src/index.js';
import { fixture } from './helpers.js';

const platforms = ['linux', 'darwin', 'win32'] as const;

/**
 * What a lock needs of an identity, checked over an in-memory kernel: a holder in another process, and one in
 * another thread of the holder's process, are alive while they run; an ended holder is dead; a reused id (same
 * id, another start time) is another owner; two live threads never share an id.
 */
function checkIdentity(make: (calls: ProcessCalls) => OwnerIdentity, table: MemoryProcessTable): void {
  const holderTid = table.startProcess();
  const holder = make(table).id();
  const holderStart = make(table).startTime(holder);
  const workerTid = table.startThread(table.getpid());
  const worker = make(table).id();
  table.startProcess();
  const waiter = make(table); // the identity a waiting thread of a third process uses
  expect(waiter.id()).not.toBe(holder);
  expect(worker).not.toBe(holder);
  expect(waiter.alive(holder), 'a live holder in another process').toBe(true);
  expect(waiter.alive(holder, holderStart), 'with its recorded start time').toBe(true);
  expect(waiter.alive(holder, holderStart + 1), 'a reused id').toBe(false);
  expect(waiter.alive(worker), 'a live worker thread of the holder').toBe(true);
  table.run(holderTid);
  table.kill(table.getpid());
  expect(waiter.alive(holder), 'a killed holder').toBe(false);
  expect(waiter.alive(worker), 'a thread of a killed process').toBe(false);
  expect(() => table.run(workerTid)).toThrow(RangeError);
}

describe('ownerIdentityFor(platform, calls) over an in-memory kernel', () => {
  it.each(platforms)('%s: a live holder is alive, a killed one dead, a reused id another owner', (p) => {
    checkIdentity((calls) => ownerIdentityFor(p, calls), new MemoryProcessTable(p));
  });

  it('fails the old macOS mix: a thread id as owner, judged by a pid-only liveness check', () => {
    // What process.cc did: gettid() (pthread_threadid_np) in the owner word, kill(id, 0) for liveness.
    const oldMix = (calls: ProcessCalls): OwnerIdentity => ownerIdentityFor('linux', calls);
    expect(() => checkIdentity(oldMix, new MemoryProcessTable('darwin'))).toThrow(/a live holder/);
    // The darwin identity over the same kernel passes.
    checkIdentity((calls) => ownerIdentityFor('darwin', calls), new MemoryProcessTable('darwin'));
  });

  it('darwin: the owner is the pid, with the worker thread index as a discriminator above bit 17', () => {
    const t = new MemoryProcessTable('darwin');
    t.startProcess();
    const pid = t.getpid();
    expect(ownerIdentityFor('darwin', t).id()).toBe(pid);
    t.startThread(pid);
    t.startThread(pid);
    expect(ownerIdentityFor('darwin', t).id()).toBe(pid | (2 << 17));
    expect(ownerIdentityFor('darwin', t).id()).toBeLessThan(2 ** 30);
  });

  it('rejects a bad platform or calls object', () => {
    expect(() => ownerIdentityFor('aix' as never, new MemoryProcessTable('linux'))).toThrow(RangeError);
    expect(() => ownerIdentityFor(7 as never, new MemoryProcessTable('linux'))).toThrow(TypeError);
    expect(() => ownerIdentityFor('linux', {} as never)).toThrow(/calls\.getpid/);
    expect(() => new MemoryProcessTable('sunos' as never)).toThrow(/platform/);
  });
});

describe('ownerIdentity() of this platform (real system calls)', () => {
  const identity = ownerIdentity();

  it('is the identity of the platform the addon was built for, and names this thread', () => {
    expect(identity.platform).toBe(process.platform);
    if (process.platform !== 'darwin') expect(identity.id()).toBe(threadId());
    expect(identity.id()).toBeGreaterThan(0);
    expect(identity.id()).toBeLessThan(2 ** 30);
  });

  it('judges this thread alive, with and without its start time, and a wrong start time as reuse', () => {
    const id = identity.id();
    const start = identity.startTime(id);
    expect(start).toBeGreaterThan(0);
    expect(identity.alive(id)).toBe(true);
    expect(identity.alive(id, start)).toBe(true);
    expect(identity.alive(id, (start + 1) >>> 0)).toBe(false);
    expect(identity.alive(0)).toBe(false);
    expect(identity.alive(-5)).toBe(false);
  });

  it('gives a worker thread its own id, alive while it runs and dead once it exited', async () => {
    const w = tsWorker(fixture('identity-worker.ts'));
    const [tid] = (await once(w, 'message')) as [number];
    expect(tid).not.toBe(identity.id());
    expect(identity.alive(tid)).toBe(true);
    w.postMessage('exit');
    await once(w, 'exit');
    // macOS judges the process, which lives on (decision 0008): there the exited worker's id still reads alive.
    expect(identity.alive(tid)).toBe(process.platform === 'darwin');
  });

  it('judges an exited child process dead', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = child.pid!;
    await once(child, 'exit');
    expect(identity.alive(pid)).toBe(false);
  });
});
