import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/support/runtime.ts'],
    // The Temporal SDK's native bridge crashed under worker threads; forks give each file a process.
    pool: 'forks',
    // Two files at a time: beside the dev server and PostgreSQL, more only thrashes two cores.
    maxWorkers: 2,
    // Real servers and case calendars measured in seconds; bundling workflows takes a few more.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
