import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findBaseDir } from '../../src/settings/settings.js';

/**
 * Builds (cached; the first build takes about 7 minutes) and starts the local Kubernetes test
 * cluster (scripts/k8s/k8s-infra.sh: kube-apiserver + etcd + KWOK), and stops it afterwards only if
 * this run started it. INFRA_KEEP=1 keeps it running between local runs. The Kafka/Mongo/Redis
 * servers come from test/global-setup.ts, which the k8s project lists as well.
 */
const root = findBaseDir(process.cwd());
const script = join(root, 'scripts', 'k8s', 'k8s-infra.sh');

function k8sInfra(...args: string[]): number {
  const result = spawnSync('bash', [script, ...args], { stdio: 'inherit' });
  return result.status ?? 1;
}

export function setup(): () => void {
  if (k8sInfra('build') !== 0) throw new Error(`${script} build failed (see its output above)`);
  const alreadyRunning = spawnSync('bash', [script, 'status'], { stdio: 'ignore' }).status === 0;
  if (k8sInfra('up') !== 0) throw new Error(`${script} up failed (see its output above)`);
  return () => {
    if (!alreadyRunning && process.env.INFRA_KEEP !== '1') k8sInfra('down');
  };
}
