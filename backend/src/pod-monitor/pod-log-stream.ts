import { request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export class PodLogError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'PodLogError';
  }
}

/**
 * Opens `GET pods/<name>/log` and hands back the raw response. The client library's Log helper
 * pipes into a stream and never reports a connection that breaks half-way, which the follower has
 * to see to reconnect; hence this small request of our own with the same credentials.
 */
export async function openPodLog(
  kc: KubeConfig,
  target: { namespace: string; pod: string; container: string; follow: boolean },
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new PodLogError(null, 'kubeconfig has no current cluster');
  const url = new URL(
    `${cluster.server}/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/log`,
  );
  url.searchParams.set('container', target.container);
  url.searchParams.set('follow', String(target.follow));
  // Fills in the CA, client certificate and Authorization header of the current user.
  const options: RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, { ...options, method: 'GET', signal }, (res) => {
      if (res.statusCode === 200) {
        resolve(res);
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < 2000) body += chunk;
      });
      res.on('end', () => {
        let message = body;
        try {
          const parsed = JSON.parse(body) as { message?: unknown };
          if (typeof parsed.message === 'string') message = parsed.message;
        } catch {
          // plain-text error body
        }
        reject(
          new PodLogError(res.statusCode ?? null, `pod log: ${res.statusCode}: ${message.slice(0, 300)}`),
        );
      });
      res.on('error', reject);
    });
    req.on('error', (err) => reject(new PodLogError(null, `pod log: ${err.message}`)));
    req.end();
  });
}
