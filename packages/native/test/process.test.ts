import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, pidNamespace, processId, procInfo, startTimeOf, threadId } from '../src/index.js';

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

describe('process identity and liveness', () => {
  it('gives this thread the id of the process on the main thread, and names the pid namespace', () => {
    expect(processId()).toBe(process.pid);
    expect(threadId()).toBe(process.pid);
    expect(pidNamespace()).toBe(statSync('/proc/self/ns/pid').ino);
  });

  it('reports this process as alive with a stable start time, and a wrong start time as a reused id', () => {
    const start = startTimeOf(process.pid);
    expect(start).toBeGreaterThan(0);
    expect(procInfo(process.pid)).toMatchObject({ startTime: start });
    expect(isAlive(process.pid)).toBe(true);
    expect(isAlive(process.pid, start)).toBe(true);
    expect(isAlive(process.pid, start + 1)).toBe(false);
  });

  it('reports a zombie as dead, and an exited and reaped process as gone', async () => {
    // sh backgrounds a child that exits at once, then execs into sleep, which never reaps it: a zombie.
    const holder = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    cleanups.push(() => holder.kill('SIGKILL'));
    const [line] = (await once(createInterface({ input: holder.stdout }), 'line')) as [string];
    const zombie = Number(line);
    await expect.poll(() => procInfo(zombie)?.state, { timeout: 10_000 }).toBe('Z');
    expect(isAlive(zombie)).toBe(false);
    expect(isAlive(holder.pid!)).toBe(true);
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    expect(isAlive(holder.pid!)).toBe(false);
    expect(isAlive(zombie)).toBe(false); // now reaped by init, or still a zombie if init does not reap
  });

  it('treats ids that cannot name a task as dead', () => {
    expect(isAlive(0)).toBe(false);
    expect(isAlive(-5)).toBe(false);
    expect(startTimeOf(2 ** 30)).toBe(0);
    expect(() => procInfo(0)).toThrow(RangeError);
  });
});
