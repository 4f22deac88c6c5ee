import { shmVitestConfig } from '@shm/test-utils/vitest';

// Samples start real processes (some start several) on a slow, shared machine.
export default shmVitestConfig({ testTimeout: 180_000 });
