import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core CI machine; integration tests spawn git and CLIs of their own.
    maxWorkers: 3,
    reporters: ['default', 'json', './test/support/skipped-tests-reporter.ts'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
