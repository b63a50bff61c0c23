import type { Settings } from '../settings/settings.js';
import type { RateLimitGroup } from './groups.js';
import { parseRate, type Rate } from './rate.js';

export type GroupRules = Record<RateLimitGroup, Rate>;

/** An admin's per-user adjustment of the limits. Stored in Mongo; it does not expire. */
export interface RateLimitOverride {
  userId: string;
  /** Never limit this user. */
  bypass: boolean;
  /** Scales every group's limit that `limits` does not set (> 0). */
  multiplier: number;
  /** Absolute limits per group, counted over that group's window; the multiplier does not apply. */
  limits: Partial<Record<RateLimitGroup, number>>;
  updatedAt: Date;
  updatedBy: string;
}

export type Effective = { bypass: true } | { bypass: false; limit: number; windowMs: number };

/** The rules of each group from the settings; an empty group setting falls back to RATE_LIMITS. */
export function rulesFromSettings(
  s: Pick<
    Settings,
    'RATE_LIMITS' | 'RATE_LIMIT_EXECUTE' | 'RATE_LIMIT_AUTH' | 'RATE_LIMIT_ADMIN' | 'RATE_LIMIT_SSE'
  >,
): GroupRules {
  const fallback = parseRate(s.RATE_LIMITS);
  const or = (value: string): Rate => (value.trim() === '' ? fallback : parseRate(value));
  return {
    execute: or(s.RATE_LIMIT_EXECUTE),
    auth: or(s.RATE_LIMIT_AUTH),
    admin: or(s.RATE_LIMIT_ADMIN),
    sse: or(s.RATE_LIMIT_SSE),
    default: fallback,
  };
}

/** What applies to one request of a group, given the caller's override (if any). */
export function effectiveLimit(
  rules: GroupRules,
  group: RateLimitGroup,
  override: Pick<RateLimitOverride, 'bypass' | 'multiplier' | 'limits'> | null | undefined,
): Effective {
  const rule = rules[group];
  if (!override) return { bypass: false, limit: rule.limit, windowMs: rule.windowMs };
  if (override.bypass) return { bypass: true };
  const explicit = override.limits[group];
  if (explicit !== undefined) return { bypass: false, limit: explicit, windowMs: rule.windowMs };
  // At least 1: a limit of 0 would lock the user out, which is what deactivating them is for.
  const limit = Math.max(1, Math.floor(rule.limit * override.multiplier));
  return { bypass: false, limit, windowMs: rule.windowMs };
}
