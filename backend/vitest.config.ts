import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests next to the code (src/) need no servers; integration tests (test/)
// run against the real Kafka, Mongo wire server and Redis that the global setup starts.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup.ts'] },
      },
    ],
  },
});
