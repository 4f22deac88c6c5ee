import { shmVitestConfig } from '@shm/test-utils/vitest';

export default shmVitestConfig({ testTimeout: 60_000 });
