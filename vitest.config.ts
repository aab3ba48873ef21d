import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'root',
          // and the unit files with tests that need root (mknod of whiteouts): skipped in the
          // unit project when it runs as the test user, run here
          include: [
            'test/root/**/*.test.ts',
            'test/unit/runtime/container-files.test.ts',
            'test/unit/runtime/files/layer.test.ts',
          ],
          testTimeout: 90_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 90_000,
          hookTimeout: 180_000,
          pool: 'forks',
          // Container tests run moat (built to dist/) as the current, non-root user, against real
          // runc; they share one image store that the global setup prepares.
          globalSetup: ['test/e2e/global-setup.ts'],
        },
      },
    ],
  },
});
