import { RATE_LIMIT_PATTERN } from '../settings/schema.js';

/** A request budget: at most `limit` requests per window of `windowMs`. */
export interface Rate {
  limit: number;
  windowMs: number;
}

export type RateUnit = 'second' | 'minute' | 'hour' | 'day';

const UNIT_MS: Record<RateUnit, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** Parses "100/minute" (unit second, minute, hour or day; limit ≥ 1); throws on anything else. */
export function parseRate(text: string): Rate {
  const match = RATE_LIMIT_PATTERN.exec(text);
  if (!match) throw new Error(`invalid rate "${text}": expected "<count>/<second|minute|hour|day>"`);
  const limit = Number(match[1]);
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new Error(`invalid rate "${text}": the count must be an integer ≥ 1`);
  }
  return { limit, windowMs: UNIT_MS[match[2] as RateUnit] };
}

/** The unit a window was written in ("minute" for 60 000 ms); windows are always one unit long. */
export function unitOf(windowMs: number): string {
  const unit = (Object.keys(UNIT_MS) as RateUnit[]).find((u) => UNIT_MS[u] === windowMs);
  return unit ?? `${windowMs / 1000} s`;
}

export function formatRate(rate: Rate): string {
  return `${rate.limit}/${unitOf(rate.windowMs)}`;
}
