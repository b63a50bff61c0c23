import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnEntry } from '../processes/spawn-process.js';
import { uniqueSuffix } from '../test-settings.js';
import { applyManifests, clusterEnv, uniqueNamespace } from './cluster.js';
import { DEPLOY_DIR } from './k8s-world.js';

// The real entry files with EXECUTOR_BACKEND = kubernetes against the test cluster (admin
// kubeconfig; the ServiceAccount permissions are proven in executor-admission.test.ts).
describe('kubernetes backend processes', () => {
  it('the k8s worker refuses an unhardened namespace; executor-setup hardens it; then the worker starts, the pod monitor lists and starts, and both stop on SIGTERM', async () => {
    const namespace = await uniqueNamespace('proc', { restricted: false });
    await applyManifests(join(DEPLOY_DIR, 'networkpolicy.yaml'), { namespace });
    const env = {
      INTEGR8SCODE_EXECUTOR_BACKEND: 'kubernetes',
      INTEGR8SCODE_KUBERNETES_CONFIG_PATH: clusterEnv().adminKubeconfigPath,
      INTEGR8SCODE_K8S_NAMESPACE: namespace,
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `kp-${uniqueSuffix()}.`,
    };
    const refused = spawnEntry('k8s-worker.ts', ['--config', 'config.test.toml'], env);
    await refused.waitForLog(
      (e) =>
        e.msg === 'component failed to start' &&
        /lacks the Pod Security labels/.test(String((e.err as { message?: string } | undefined)?.message)),
      60_000,
    );
    expect((await refused.exited).code).not.toBe(0);

    const setup = spawnEntry('executor-setup.ts', ['--config', 'config.test.toml'], env);
    await setup.waitForLog((e) => e.msg === 'executor namespace hardened', 60_000);
    expect(await setup.exited).toEqual({ code: 0, signal: null });

    const worker = spawnEntry('k8s-worker.ts', ['--config', 'config.test.toml'], env);
    const monitor = spawnEntry('pod-monitor.ts', ['--config', 'config.test.toml'], env);
    const advert = await worker.waitForLog((e) => e.msg === 'executor advertised', 60_000);
    expect(advert.backend).toBe('kubernetes');
    await worker.waitForLog((e) => e.msg === 'kubernetes pod manager started', 60_000);
    await monitor.waitForLog((e) => e.msg === 'pod monitor started', 60_000);
    worker.child.kill('SIGTERM');
    monitor.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(await monitor.exited).toEqual({ code: 0, signal: null });
  }, 120_000);
});
