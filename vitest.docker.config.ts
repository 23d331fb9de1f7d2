// Test runner settings for the container tests (npm run test:docker): one file at a time, since each runs
// a whole compose stack on the machine's Docker engine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/docker-*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // As in vitest.config.ts: under CI a failed test gets one more run before it fails the run.
    retry: process.env.CI === 'true' ? 1 : 0,
  },
});
