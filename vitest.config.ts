import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // e2e tests share one moat store per user; run files one at a time there.
    fileParallelism: true,
    pool: 'forks',
  },
});
