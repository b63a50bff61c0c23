import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { ApiException, CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import type { Settings } from '../../settings/settings.js';

export type KubeSettings = Pick<Settings, 'KUBERNETES_CONFIG_PATH' | 'KUBERNETES_CA_CERTIFICATE_PATH'>;

/**
 * The cluster connection: the kubeconfig at KUBERNETES_CONFIG_PATH when it exists, else the
 * in-cluster service account (when running in a pod), else a clear error naming both.
 * KUBERNETES_CA_CERTIFICATE_PATH replaces the CA of the current cluster.
 */
export function loadKubeConfig(settings: KubeSettings, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  const path = settings.KUBERNETES_CONFIG_PATH.replace(/^~(?=$|\/)/, homedir());
  if (path !== '' && existsSync(path)) {
    kc.loadFromFile(path);
  } else if (env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    throw new Error(
      `no Kubernetes configuration: KUBERNETES_CONFIG_PATH (${path || 'empty'}) does not exist and this process is not running in a pod`,
    );
  }
  const caPath = settings.KUBERNETES_CA_CERTIFICATE_PATH;
  if (caPath !== '') {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`kubeconfig ${path} has no current cluster`);
    let caData: string;
    try {
      caData = readFileSync(caPath).toString('base64');
    } catch (err) {
      throw new Error(`KUBERNETES_CA_CERTIFICATE_PATH: cannot read ${caPath}: ${(err as Error).message}`);
    }
    kc.clusters = kc.clusters.map((c) => (c === cluster ? { ...c, caData, caFile: undefined } : c));
  }
  return kc;
}

export interface KubeApis {
  config: KubeConfig;
  core: CoreV1Api;
  networking: NetworkingV1Api;
}

export function kubeApis(config: KubeConfig): KubeApis {
  return { config, core: config.makeApiClient(CoreV1Api), networking: config.makeApiClient(NetworkingV1Api) };
}

/** HTTP status of a failed API call (ApiException), or null for network errors and the like. */
export function statusOf(err: unknown): number | null {
  return err instanceof ApiException ? (err as ApiException<unknown>).code : null;
}

/** The API server's message from a failed call, short enough for a log line or a reason. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = (err as ApiException<unknown>).body;
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown };
      if (typeof parsed.message === 'string') return `${err.code}: ${parsed.message}`;
    } catch {
      // Not JSON: fall through to the raw text.
    }
    return `${err.code}: ${String(body).slice(0, 300)}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** Errors worth retrying: the API server is unreachable, overloaded or restarting. */
export function isTransient(err: unknown): boolean {
  const status = statusOf(err);
  return status === null || status === 429 || status >= 500;
}
