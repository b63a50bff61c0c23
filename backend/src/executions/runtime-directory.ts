import type { Redis } from 'ioredis';
import type { LimitEnforcement, Runtime } from '../executor/executor-backend.js';

export interface ExecutorAdvert {
  backend: string;
  runtimes: Runtime[];
  enforcement: LimitEnforcement;
  /** When the worker last refreshed the advert (ms since epoch). */
  refreshedAt: number;
}

/**
 * Which runtimes can run right now. The k8s worker advertises what its backend supports (with a
 * TTL, refreshed while it runs); the API validates requests against it. No advert means no worker
 * is up, and submissions are refused with 503 rather than queued into the void.
 */
export class RuntimeDirectory {
  private cached: { advert: ExecutorAdvert | null; at: number } | undefined;

  constructor(
    private readonly redis: () => Redis,
    private readonly options: { key?: string; ttlSeconds?: number; cacheMs?: number } = {},
  ) {}

  private get key(): string {
    return this.options.key ?? 'executor:advert';
  }

  async advertise(advert: Omit<ExecutorAdvert, 'refreshedAt'>): Promise<void> {
    const value: ExecutorAdvert = { ...advert, refreshedAt: Date.now() };
    await this.redis().set(this.key, JSON.stringify(value), 'EX', this.options.ttlSeconds ?? 30);
  }

  async withdraw(): Promise<void> {
    await this.redis().del(this.key);
  }

  async current(): Promise<ExecutorAdvert | null> {
    const cacheMs = this.options.cacheMs ?? 1_000;
    if (this.cached && Date.now() - this.cached.at < cacheMs) return this.cached.advert;
    const raw = await this.redis().get(this.key);
    const advert = raw ? (JSON.parse(raw) as ExecutorAdvert) : null;
    this.cached = { advert, at: Date.now() };
    return advert;
  }
}
