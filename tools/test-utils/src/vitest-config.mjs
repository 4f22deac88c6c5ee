// Plain JS on purpose: vitest loads config files with Node itself, which cannot import .ts from a dependency.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const globalSetup = fileURLToPath(new URL('./global-setup.ts', import.meta.url));

/**
 * The vitest settings every package uses: sources via the @shm/source condition, forks, the leak check.
 * @param {{ testTimeout?: number, include?: string[] }} [overrides]
 */
export function shmVitestConfig(overrides = {}) {
  return defineConfig({
    resolve: { conditions: ['@shm/source'] },
    ssr: { resolve: { conditions: ['@shm/source'] } },
    test: {
      pool: 'forks',
      include: overrides.include ?? ['test/**/*.test.ts'],
      testTimeout: overrides.testTimeout ?? 30_000,
      hookTimeout: 30_000,
      globalSetup: [globalSetup],
      fileParallelism: false,
      // The JSON results let tools/scripts/run-tests.mjs print one closing line for the whole repository.
      reporters: ['default', 'json'],
      outputFile: { json: '.tmp/vitest-results.json' },
    },
  });
}
