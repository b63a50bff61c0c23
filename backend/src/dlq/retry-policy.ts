/**
 * The DLQ retry policy as pure functions: which policy an event type follows, how long to wait
 * before retry n, and what a message that just arrived in the DLQ becomes.
 */
export type RetryPolicy = 'retry' | 'immediate' | 'manual';
const POLICIES: readonly RetryPolicy[] = ['retry', 'immediate', 'manual'];

/** Category (or exact event type) → policy; `default` applies to everything not named. */
export type RetryPolicies = ReadonlyMap<string, RetryPolicy>;

const ENTRY = /^([a-z][a-z0-9_]*)\s*=\s*([a-z]+)$/;

/**
 * Parses DLQ_RETRY_POLICIES, e.g. "execution=retry,pod=immediate,user=manual,default=retry".
 * Throws with every wrong entry named; a missing `default` means `retry`.
 */
export function parseRetryPolicies(text: string): RetryPolicies {
  const policies = new Map<string, RetryPolicy>();
  const problems: string[] = [];
  for (const raw of text.split(',').map((e) => e.trim())) {
    if (raw === '') continue;
    const match = ENTRY.exec(raw);
    const policy = match?.[2] as RetryPolicy | undefined;
    if (!match?.[1] || policy === undefined || !POLICIES.includes(policy)) {
      problems.push(`"${raw}" is not "<category>=${POLICIES.join('|')}"`);
    } else if (policies.has(match[1])) {
      problems.push(`"${match[1]}" is given twice`);
    } else {
      policies.set(match[1], policy);
    }
  }
  if (problems.length > 0) throw new Error(`DLQ_RETRY_POLICIES: ${problems.join('; ')}`);
  if (!policies.has('default')) policies.set('default', 'retry');
  return policies;
}

/** The category of an event type is its first word: execution_requested → execution. */
export function eventCategory(eventType: string): string {
  return eventType.split('_')[0] ?? eventType;
}

/** An exact event type wins over its category, which wins over `default`. */
export function policyFor(policies: RetryPolicies, eventType: string | null): RetryPolicy {
  if (eventType !== null) {
    const policy = policies.get(eventType) ?? policies.get(eventCategory(eventType));
    if (policy) return policy;
  }
  return policies.get('default') ?? 'retry';
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before retry `attempt` (1, 2, …): base·2^(attempt−1) capped at max, then "equal jitter"
 * (a random point in its upper half) so messages that failed together do not retry together.
 */
export function retryDelayMs(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = cappedDelayMs(attempt, backoff);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** The delay before jitter; retryDelayMs is within [half of it, it]. */
export function cappedDelayMs(attempt: number, { baseMs, maxMs }: Backoff): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export interface RetryRules {
  policies: RetryPolicies;
  maxAttempts: number;
  backoff: Backoff;
  retentionDays: number;
}

/** The rules of DLQ_* settings; throws on a DLQ_RETRY_POLICIES the schema's pattern let through. */
export function retryRulesFrom(settings: {
  DLQ_RETRY_POLICIES: string;
  DLQ_RETRY_MAX_ATTEMPTS: number;
  DLQ_RETRY_BASE_DELAY_SECONDS: number;
  DLQ_RETRY_MAX_DELAY_SECONDS: number;
  DLQ_RETENTION_DAYS: number;
}): RetryRules {
  return {
    policies: parseRetryPolicies(settings.DLQ_RETRY_POLICIES),
    maxAttempts: settings.DLQ_RETRY_MAX_ATTEMPTS,
    backoff: {
      baseMs: settings.DLQ_RETRY_BASE_DELAY_SECONDS * 1000,
      maxMs: settings.DLQ_RETRY_MAX_DELAY_SECONDS * 1000,
    },
    retentionDays: settings.DLQ_RETENTION_DAYS,
  };
}

/** What a message becomes on arrival; `retryCount` is how many DLQ retries it already had. */
export type ArrivalPlan =
  | { status: 'pending' }
  | { status: 'scheduled'; nextRetryAt: Date }
  | { status: 'discarded'; discardedAt: Date; expiresAt: Date };

export function planArrival(
  message: { originalTopic: string; eventType: string | null; reason: string; retryCount: number },
  rules: RetryRules,
  now: Date,
  random: () => number = Math.random,
): ArrivalPlan {
  if (message.retryCount >= rules.maxAttempts) {
    return { status: 'discarded', discardedAt: now, expiresAt: archiveExpiry(now, rules.retentionDays) };
  }
  // A message that failed validation fails it again until the code changes, and one without its
  // original topic has nowhere to go: an admin decides.
  if (message.reason === 'invalid' || message.originalTopic === 'unknown') return { status: 'pending' };
  const policy = policyFor(rules.policies, message.eventType);
  switch (policy) {
    case 'manual':
      return { status: 'pending' };
    case 'immediate':
      return { status: 'scheduled', nextRetryAt: now };
    case 'retry':
      return {
        status: 'scheduled',
        nextRetryAt: new Date(now.getTime() + retryDelayMs(message.retryCount + 1, rules.backoff, random)),
      };
  }
}

/** Retried and discarded messages are kept this long, then pruned (TTL index + scheduled prune). */
export function archiveExpiry(at: Date, retentionDays: number): Date {
  return new Date(at.getTime() + retentionDays * 24 * 60 * 60 * 1000);
}
