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
  },
});
