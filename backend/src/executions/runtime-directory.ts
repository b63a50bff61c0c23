import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { LimitEnforcement, Runtime } from '../executor/executor-backend.js';

export interface ExecutorAdvert {
  backend: string;
  runtimes: Runtime[];
  enforcement: LimitEnforcement;
  /** When the worker last refreshed the advert (ms since epoch). */
  refreshedAt: number;
}

/** The adverts hash of one deployment (the topic prefix namespaces deployments sharing Redis). */
export function advertsKey(topicPrefix: string): string {
  return `${topicPrefix}executor:adverts`;
}

export interface RuntimeDirectoryOptions {
  /** Redis hash holding one advert per worker instance; namespace it per deployment. */
  key?: string;
  /** This process's field in the hash (workers only). */
  instanceId?: string;
  /** An advert not refreshed for this long is ignored (and pruned). */
  ttlSeconds?: number;
  cacheMs?: number;
}

/**
 * Which runtimes can run right now. Every k8s worker instance advertises what its backend
 * supports under its own field, refreshed while it runs; the API validates requests against the
 * union of fresh adverts. One worker stopping withdraws only its own advert. No fresh advert
 * means no worker is up, and submissions are refused with 503 rather than queued into the void.
 */
export class RuntimeDirectory {
  private cached: { advert: ExecutorAdvert | null; at: number } | undefined;
  private readonly key: string;
  private readonly instanceId: string;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: () => Redis,
    private readonly options: RuntimeDirectoryOptions = {},
  ) {
    this.key = options.key ?? 'executor:adverts';
    this.instanceId = options.instanceId ?? `${hostname()}-${process.pid}`;
    this.ttlMs = (options.ttlSeconds ?? 30) * 1000;
  }

  async advertise(advert: Omit<ExecutorAdvert, 'refreshedAt'>): Promise<void> {
    const value: ExecutorAdvert = { ...advert, refreshedAt: Date.now() };
    await this.redis().hset(this.key, this.instanceId, JSON.stringify(value));
    await this.pruneStale();
  }

  async withdraw(): Promise<void> {
    await this.redis().hdel(this.key, this.instanceId);
  }

  /** The union of the fresh adverts (runtimes deduplicated), or null when there is none. */
  async current(): Promise<ExecutorAdvert | null> {
    const cacheMs = this.options.cacheMs ?? 1_000;
    if (this.cached && Date.now() - this.cached.at < cacheMs) return this.cached.advert;
    const fresh = await this.freshAdverts();
    const advert = fresh.length === 0 ? null : merge(fresh);
    this.cached = { advert, at: Date.now() };
    return advert;
  }

  private async freshAdverts(): Promise<ExecutorAdvert[]> {
    const all = await this.redis().hgetall(this.key);
    const now = Date.now();
    return Object.values(all)
      .map((raw) => JSON.parse(raw) as ExecutorAdvert)
      .filter((a) => now - a.refreshedAt < this.ttlMs);
  }

  /** Removes adverts of instances that died without withdrawing. */
  private async pruneStale(): Promise<void> {
    const all = await this.redis().hgetall(this.key);
    const now = Date.now();
    const stale = Object.entries(all)
      .filter(([, raw]) => now - (JSON.parse(raw) as ExecutorAdvert).refreshedAt >= this.ttlMs)
      .map(([field]) => field);
    if (stale.length > 0) await this.redis().hdel(this.key, ...stale);
  }
}

function merge(adverts: ExecutorAdvert[]): ExecutorAdvert {
  const newest = adverts.reduce((a, b) => (b.refreshedAt > a.refreshedAt ? b : a));
  const runtimes = new Map<string, Runtime>();
  for (const advert of adverts) for (const r of advert.runtimes) runtimes.set(`${r.lang}@${r.version}`, r);
  return { ...newest, runtimes: [...runtimes.values()] };
}
