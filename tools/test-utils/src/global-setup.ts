import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeLeaks, diffSnapshots, type Leak, snapshotKernelObjects } from './leak-check.js';

/**
 * Only objects made the way tests make them count: SysV keys from uniqueKey() (0x5Exxxxxx) or IPC_PRIVATE, and
 * /dev/shm names from uniqueName() ('shmtest...'). Other programs on the machine may create objects meanwhile.
 */
function ours(l: Leak): boolean {
  if (l.kind === 'file') return l.id.startsWith(`shmtest-${process.env.SHM_TEST_RUN}`);
  const key = (l.key ?? 0) >>> 0;
  return key === 0 || key >>> 24 === 0x5e;
}

/**
 * vitest globalSetup: fails the run when tests left SysV segments, semaphore sets or /dev/shm files behind.
 * Nothing is removed: the list says what to clean up.
 */
export default function setup() {
  // Names made by uniqueName() in this run (workers and their peers inherit the variable) carry this tag, so
  // concurrent runs on one machine do not count each other's objects.
  process.env.SHM_TEST_RUN ??= `r${process.pid.toString(36)}${Date.now().toString(36).slice(-3)}`;
  // The registry of this run's objects lives in a folder of its own: tests that record, list or corrupt entries
  // never touch the user's registry (or another run's), and nothing is left in it afterwards.
  const ownRegistry = process.env.SHM_REGISTRY_DIR === undefined;
  if (ownRegistry) process.env.SHM_REGISTRY_DIR = mkdtempSync(join(tmpdir(), 'shmtest-registry-'));
  const before = snapshotKernelObjects();
  return async () => {
    if (ownRegistry) {
      rmSync(process.env.SHM_REGISTRY_DIR!, { recursive: true, force: true });
      delete process.env.SHM_REGISTRY_DIR;
    }
    // Peers killed at the end of a test may still be exiting; give the kernel a moment to drop their objects.
    let leaks = diffSnapshots(before, snapshotKernelObjects()).filter(ours);
    for (let i = 0; i < 20 && leaks.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      leaks = diffSnapshots(before, snapshotKernelObjects()).filter(ours);
    }
    if (process.env.SHM_LEAK_CHECK === 'off' || leaks.length === 0) return;
    // Reported, not removed: another run on this machine may own an object that merely looks like ours.
    // vitest prints an error thrown here but still exits 0, so fail the process explicitly.
    process.exitCode = 1;
    throw new Error(
      `Leak check: the tests left ${leaks.length} kernel object(s) behind (remove them with ipcrm or rm):\n${describeLeaks(leaks)}`,
    );
  };
}
