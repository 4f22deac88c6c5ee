import { diffSnapshots, removeLeaks, snapshotKernelObjects } from './leak-check.js';

/**
 * vitest globalSetup: fails the run when tests left SysV segments, semaphore sets or /dev/shm files behind.
 * Objects that existed before the run are never touched.
 */
export default function setup() {
  const before = snapshotKernelObjects();
  return async () => {
    // Peers killed at the end of a test may still be exiting; give the kernel a moment to drop their objects.
    let leaks = diffSnapshots(before, snapshotKernelObjects());
    for (let i = 0; i < 20 && leaks.length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      leaks = diffSnapshots(before, snapshotKernelObjects());
    }
    if (process.env.SHM_LEAK_CHECK === 'off' || leaks.length === 0) return;
    const list = removeLeaks(leaks);
    throw new Error(
      `Leak check: the tests left ${leaks.length} kernel object(s) behind (now removed):\n${list}`,
    );
  };
}
