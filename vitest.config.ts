// Test runner settings: unit tests beside the code, cross-process tests in test/. The container tests
// (test/docker-*.test.ts) run on their own afterwards: npm run test:docker (vitest.docker.config.ts).
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/docker-*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Under CI a failed test runs once more before it fails the run: the cross-process tests share two cores
    // with real proxies, Prometheus and Chromium, and one lost race should not refuse a whole change. A test
    // that fails twice still fails, and vitest's report names every retried test.
    retry: process.env.CI === 'true' ? 1 : 0,
  },
});
