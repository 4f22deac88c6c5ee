import { diffSnapshots, type Leak, removeLeaks, snapshotKernelObjects } from './leak-check.js';

/**
 * Only objects made the way tests make them count: SysV keys from uniqueKey() (0x5Exxxxxx) or IPC_PRIVATE, and
 * /dev/shm names from uniqueName() ('shmtest...'). Other programs on the machine may create objects meanwhile.
 */
function ours(l: Leak): boolean {
  if (l.kind === 'file') return l.id.startsWith('shmtest');
  const key = (l.key ?? 0) >>> 0;
  return key === 0 || key >>> 24 === 0x5e;
}

/**
 * vitest globalSetup: fails the run when tests left SysV segments, semaphore sets or /dev/shm files behind.
 * Objects that existed before the run are never touched.
 */
export default function setup() {
  const before = snapshotKernelObjects();
  return async () => {
    // Peers killed at the end of a test may still be exiting; give the kernel a moment to drop their objects.
    let leaks = diffSnapshots(before, snapshotKernelObjects()).filter(ours);
    for (let i = 0; i < 20 && leaks.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      leaks = diffSnapshots(before, snapshotKernelObjects()).filter(ours);
    }
    if (process.env.SHM_LEAK_CHECK === 'off' || leaks.length === 0) return;
    const list = removeLeaks(leaks);
    throw new Error(
      `Leak check: the tests left ${leaks.length} kernel object(s) behind (now removed):\n${list}`,
    );
  };
}
