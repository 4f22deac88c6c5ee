import { loadBinding } from './binding.js';
import type { ProcInfo } from './binding-types.js';
import { expected } from './errors.js';
import { checkInt } from './validate.js';

let tid = 0;
let pidns = -1;

/** This thread's system-wide id (each worker thread has its own); cached per thread. */
export function threadId(): number {
  if (tid === 0) tid = loadBinding().gettid();
  return tid;
}

/** This process's id (`process.pid`). */
export function processId(): number {
  return process.pid;
}

/** The pid namespace's inode (Linux), 0 elsewhere: ids are comparable only within one namespace. */
export function pidNamespace(): number {
  if (pidns < 0) pidns = loadBinding().pidNamespace();
  return pidns;
}

/** State and start time of the process or thread `id` (Linux: /proc/<id>/stat), or null if there is none. */
export function procInfo(id: number): ProcInfo | null {
  return loadBinding().procInfo(checkInt(id, 'id', 1));
}

/**
 * Is the task (process or thread) with this id alive? A zombie counts as dead. With `startTime`, a task that
 * now has the same id but started at another time is a different task (the id was reused), so also dead.
 */
export function isAlive(id: number, startTime = 0): boolean {
  if (typeof id !== 'number') throw expected('a task id (number)', 'id', id);
  if (typeof startTime !== 'number') throw expected('a start time (number)', 'startTime', startTime);
  if (id <= 0) return false;
  const p = loadBinding().procInfo(id);
  if (p === null || p.state === 'Z' || p.state === 'X' || p.state === 'x') return false;
  return !(startTime !== 0 && p.startTime !== 0 && p.startTime !== startTime);
}

/** Start time of a task in clock ticks since boot (0 when unknown). */
export function startTimeOf(id: number): number {
  return loadBinding().procInfo(id)?.startTime ?? 0;
}

/** The effective user id of this process. */
export function effectiveUid(): number {
  return loadBinding().geteuid();
}
