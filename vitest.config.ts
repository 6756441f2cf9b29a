import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no servers; `integration` gets a real Temporal dev server,
// PostgreSQL and moto started once per run by test/fixtures/global-setup.ts.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/*.int.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/fixtures/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Servers are shared; files run one at a time so two cores are not oversubscribed.
          fileParallelism: false,
        },
      },
    ],
  },
});
