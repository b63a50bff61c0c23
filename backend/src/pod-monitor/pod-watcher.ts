import { Watch, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../platform/logging/logger.js';
import type { KubeApis } from '../executor/kubernetes/kube-client.js';
import { messageOf } from '../executor/kubernetes/kube-client.js';

export interface PodWatcherOptions {
  apis: KubeApis;
  namespace: string;
  labelSelector: string;
  /** A pod added or changed, in the order the API server sent them. */
  onPod: (pod: V1Pod) => void;
  /** A pod deleted (its last state). */
  onDeleted: (pod: V1Pod) => void;
  /** After every full list: every pod that exists now (the caller forgets the rest). */
  onList: (pods: V1Pod[]) => void;
  logger: Logger;
  /** Server-side watch timeout; the watch is renewed from the last resourceVersion. Default 300 s. */
  watchTimeoutSeconds?: number;
  /** Pause after a failed list or watch, doubled up to 10 s. Default 500 ms. */
  retryMs?: number;
}

class WatchExpired extends Error {}

export interface WatchStats {
  lists: number;
  watches: number;
  expired: number;
  failures: number;
}

/**
 * List-then-watch of the executor pods: a full list gives every pod and the resourceVersion to
 * watch from; each event moves the version on (bookmarks too). A 410 Gone (the version was
 * compacted away) means events may have been missed: list again. A broken connection (API
 * server restart) resumes the watch from the last version, and lists again if that fails.
 */
export class PodWatcher {
  readonly stats: WatchStats = { lists: 0, watches: 0, expired: 0, failures: 0 };
  private resourceVersion: string | undefined;
  private running = false;
  private loop: Promise<void> | null = null;
  private current: AbortController | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly options: PodWatcherOptions) {}

  /** Lists once (fails if the API server cannot be reached), then watches in the background. */
  async start(): Promise<void> {
    this.running = true;
    await this.list();
    this.loop = this.run();
  }

  /** The resourceVersion the next watch resumes from (undefined: it lists first). */
  get version(): string | undefined {
    return this.resourceVersion;
  }

  /**
   * Drops the current watch and resumes from `resourceVersion`. Tests pass one from before an API
   * server restart to force the 410 Gone path; nothing in production calls it.
   */
  resumeFrom(resourceVersion: string): void {
    this.resourceVersion = resourceVersion;
    this.current?.abort();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.current?.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (this.resourceVersion === undefined) await this.list();
        await this.watchOnce();
        failures = 0;
      } catch (err) {
        if (!this.running) break;
        if (err instanceof WatchExpired) {
          this.stats.expired++;
          this.options.logger.info(
            { resource_version: this.resourceVersion },
            'pod watch expired (410); listing again',
          );
          this.resourceVersion = undefined;
          continue;
        }
        failures++;
        this.stats.failures++;
        this.options.logger.warn({ err: messageOf(err), failures }, 'pod watch failed; retrying');
        // A server that is down or restarting keeps the version valid (it answers 410 when it is
        // not); only a long run of failures of another kind starts over with a list.
        if (failures >= 10) this.resourceVersion = undefined;
        await this.pause(Math.min((this.options.retryMs ?? 500) * 2 ** (failures - 1), 10_000));
      }
    }
  }

  private async list(): Promise<void> {
    const list = await this.options.apis.core.listNamespacedPod({
      namespace: this.options.namespace,
      labelSelector: this.options.labelSelector,
    });
    this.stats.lists++;
    this.resourceVersion = list.metadata?.resourceVersion;
    this.options.onList(list.items);
  }

  private watchOnce(): Promise<void> {
    const { namespace, labelSelector } = this.options;
    this.stats.watches++;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown) => {
        if (settled) return;
        settled = true;
        if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        else resolve();
      };
      new Watch(this.options.apis.config)
        .watch(
          `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
          {
            labelSelector,
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: this.options.watchTimeoutSeconds ?? 300,
          },
          (type: string, object: unknown) => {
            if (settled) return;
            if (type === 'ERROR') {
              const status = object as { code?: number; message?: string };
              // Settle first: aborting ends the stream, whose done callback would settle it as an error.
              finish(
                status.code === 410
                  ? new WatchExpired(status.message)
                  : new Error(`watch error: ${status.message ?? 'unknown'}`),
              );
              this.current?.abort();
              return;
            }
            const pod = object as V1Pod;
            const version = pod.metadata?.resourceVersion;
            if (version) this.resourceVersion = version;
            if (type === 'BOOKMARK') return;
            if (type === 'DELETED') this.options.onDeleted(pod);
            else this.options.onPod(pod);
          },
          (err: unknown) => {
            const status = (err as { statusCode?: number } | null)?.statusCode;
            finish(status === 410 ? new WatchExpired('410 Gone') : err);
          },
        )
        .then((controller) => {
          this.current = controller;
          if (settled || !this.running) controller.abort();
        })
        .catch(finish);
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
