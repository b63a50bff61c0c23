import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Settings, SettingsError } from '../settings/settings.js';
import { alertLevelOf, isRise } from './queue-alert.js';
import {
  archiveExpiry,
  cappedDelayMs,
  eventCategory,
  parseRetryPolicies,
  planArrival,
  policyFor,
  retryDelayMs,
  retryRulesFrom,
} from './retry-policy.js';

const backoff = { baseMs: 1_000, maxMs: 10_000 };

describe('DLQ retry backoff', () => {
  it('when retries follow each other, then the delay doubles from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => cappedDelayMs(n, backoff))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
  });

  it('when jitter is drawn, then the delay lies in the upper half of the capped delay', () => {
    expect(retryDelayMs(3, backoff, () => 0)).toBe(2_000);
    expect(retryDelayMs(3, backoff, () => 0.999_999)).toBe(4_000);
    expect(retryDelayMs(3, backoff, () => 0.5)).toBe(3_000);
    expect(retryDelayMs(9, backoff, () => 1)).toBe(10_000);
  });
});

describe('DLQ retry policies', () => {
  it('when the policies are well formed, then each category, exact type and default is read', () => {
    const p = parseRetryPolicies(' execution=retry, pod = immediate,user=manual,execution_output=manual ');
    expect(policyFor(p, 'execution_requested')).toBe('retry');
    expect(policyFor(p, 'execution_output')).toBe('manual');
    expect(policyFor(p, 'pod_created')).toBe('immediate');
    expect(policyFor(p, 'user_registered')).toBe('manual');
    expect(policyFor(p, 'order_placed')).toBe('retry');
    expect(policyFor(p, null)).toBe('retry');
    expect(policyFor(parseRetryPolicies('default=manual'), 'order_placed')).toBe('manual');
  });

  it('when an entry is wrong or repeated, then parsing fails naming each problem', () => {
    expect(() => parseRetryPolicies('execution=sometimes,pod')).toThrow(
      /DLQ_RETRY_POLICIES: "execution=sometimes" is not .*; "pod" is not/,
    );
    expect(() => parseRetryPolicies('pod=retry,pod=manual')).toThrow(/"pod" is given twice/);
  });

  it('when DLQ_RETRY_POLICIES is malformed in the configuration, then loading the settings fails naming the key and the format', () => {
    const baseDir = mkdtempSync(join(tmpdir(), 'dlq-policies-'));
    writeFileSync(join(baseDir, 'config.toml'), 'DLQ_RETRY_POLICIES = "execution=sometimes"\n');
    let error: unknown;
    try {
      new Settings({ baseDir, env: {} });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SettingsError);
    expect((error as Error).message).toMatch(/DLQ_RETRY_POLICIES[^\n]*retry\|immediate\|manual/);
    writeFileSync(join(baseDir, 'config.toml'), '');
    const env = { INTEGR8SCODE_DLQ_RETRY_POLICIES: 'pod=manual' };
    expect(parseRetryPolicies(new Settings({ baseDir, env }).DLQ_RETRY_POLICIES).get('pod')).toBe('manual');
  });

  it('when an event type is split, then its category is the first word', () => {
    expect(eventCategory('create_pod_command')).toBe('create');
    expect(eventCategory('execution_requested')).toBe('execution');
  });
});

describe('what a DLQ message becomes on arrival', () => {
  const rules = retryRulesFrom({
    DLQ_RETRY_POLICIES: 'pod=immediate,user=manual,default=retry',
    DLQ_RETRY_MAX_ATTEMPTS: 3,
    DLQ_RETRY_BASE_DELAY_SECONDS: 1,
    DLQ_RETRY_MAX_DELAY_SECONDS: 10,
    DLQ_RETENTION_DAYS: 7,
  });
  const now = new Date('2026-12-01T00:00:00Z');
  const msg = (eventType: string, retryCount = 0, reason = 'retries_exhausted') => ({
    originalTopic: eventType,
    eventType,
    reason,
    retryCount,
  });

  it('when the policy is retry, then it is scheduled after the backoff of its next retry', () => {
    expect(planArrival(msg('execution_requested', 2), rules, now, () => 1)).toEqual({
      status: 'scheduled',
      nextRetryAt: new Date(now.getTime() + 4_000),
    });
  });

  it('when the policy is immediate or manual, then it is due now or waits for an admin', () => {
    expect(planArrival(msg('pod_created'), rules, now)).toEqual({ status: 'scheduled', nextRetryAt: now });
    expect(planArrival(msg('user_registered'), rules, now)).toEqual({ status: 'pending' });
  });

  it('when it failed validation or has no original topic, then it waits for an admin', () => {
    expect(planArrival(msg('execution_requested', 0, 'invalid'), rules, now)).toEqual({ status: 'pending' });
    expect(planArrival({ ...msg('pod_created'), originalTopic: 'unknown' }, rules, now)).toEqual({
      status: 'pending',
    });
  });

  it('when it already had the last retry, then it is archived until the retention ends, whatever the policy', () => {
    const expected = { status: 'discarded', discardedAt: now, expiresAt: archiveExpiry(now, 7) };
    expect(planArrival(msg('execution_requested', 3), rules, now)).toEqual(expected);
    expect(planArrival(msg('user_registered', 3), rules, now)).toEqual(expected);
    expect(expected.expiresAt.toISOString()).toBe('2026-12-08T00:00:00.000Z');
  });
});

describe('DLQ queue-size alert', () => {
  const thresholds = { warning: 10, critical: 100 };

  it('when the count reaches a threshold, then that level is returned', () => {
    expect([0, 9, 10, 99, 100, 5_000].map((c) => alertLevelOf(c, thresholds))).toEqual([
      'normal',
      'normal',
      'warning',
      'warning',
      'critical',
      'critical',
    ]);
  });

  it('when the level changes, then only a rise is an alert', () => {
    expect(isRise('normal', 'warning')).toBe(true);
    expect(isRise('warning', 'critical')).toBe(true);
    expect(isRise('normal', 'critical')).toBe(true);
    expect(isRise('critical', 'warning')).toBe(false);
    expect(isRise('warning', 'normal')).toBe(false);
  });
});
