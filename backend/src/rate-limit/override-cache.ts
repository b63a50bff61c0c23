import type { RateLimitOverride } from './policy.js';

export interface OverrideStore {
  find(userId: string): Promise<RateLimitOverride | null>;
  put(override: RateLimitOverride): Promise<RateLimitOverride>;
  remove(userId: string): Promise<boolean>;
}

export interface CachedOverridesOptions {
  store: OverrideStore;
  /** How long a lookup (including "no override") is reused in this process. */
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * Overrides with a short in-process cache, so a limited request costs no Mongo round trip. Writes
 * through this object invalidate its entry at once; another API process may keep its cached
 * entry for up to `ttlMs` (5 s by default): that is the cross-process staleness bound.
 */
export class CachedOverrides {
  private readonly entries = new Map<string, { value: RateLimitOverride | null; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  // Bumped by every write: a lookup that started before a write must not cache what it read.
  private generation = 0;

  constructor(private readonly options: CachedOverridesOptions) {
    this.ttlMs = options.ttlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  async find(userId: string): Promise<RateLimitOverride | null> {
    const cached = this.entries.get(userId);
    if (cached && cached.expiresAt > this.now()) return cached.value;
    const generation = this.generation;
    const value = await this.options.store.find(userId);
    if (generation !== this.generation) return value;
    if (this.entries.size >= this.maxEntries) this.prune();
    this.entries.set(userId, { value, expiresAt: this.now() + this.ttlMs });
    return value;
  }

  async put(override: RateLimitOverride): Promise<RateLimitOverride> {
    const stored = await this.options.store.put(override);
    this.generation += 1;
    this.entries.delete(override.userId);
    return stored;
  }

  async remove(userId: string): Promise<boolean> {
    const existed = await this.options.store.remove(userId);
    this.generation += 1;
    this.entries.delete(userId);
    return existed;
  }

  private prune(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    // Still full of live entries: drop the oldest inserted ones rather than grow without bound.
    for (const key of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
