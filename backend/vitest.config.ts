import { configDefaults, defineConfig } from 'vitest/config';

// Three projects: pure unit tests next to the code (src/) need no servers; integration tests (test/)
// run against the real Kafka, Mongo wire server and Redis that the global setup starts; k8s tests
// (test/k8s/) also need the local Kubernetes test cluster (scripts/k8s/k8s-infra.sh).
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'test/k8s/**'],
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'k8s',
          include: ['test/k8s/**/*.test.ts'],
          // One file at a time: restartApiServer() takes the whole cluster away for a few seconds.
          fileParallelism: false,
          globalSetup: ['test/global-setup.ts', 'test/k8s/k8s-global-setup.ts'],
        },
      },
    ],
  },
});
