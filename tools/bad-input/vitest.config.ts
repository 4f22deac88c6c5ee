import { shmVitestConfig } from '@shm/test-utils/vitest';

// Some cases start a child process (as user nobody, or under a full tmpfs).
export default shmVitestConfig({ testTimeout: 60_000 });
