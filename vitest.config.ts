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
  },
});
