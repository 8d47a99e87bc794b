import { defineConfig } from 'vitest/config';

// CI has 2 cores: test files run in 2 forked workers, and the ML tests use tiny models.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
