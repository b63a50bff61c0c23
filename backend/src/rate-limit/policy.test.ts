import { describe, expect, it } from 'vitest';
import { effectiveLimit, rulesFromSettings, type GroupRules } from './policy.js';

// Built in each test, not at import: a throw at import fails the file without failing a test, and
// Stryker's vitest runner then counts the mutant that caused it as survived.
const settings = {
  RATE_LIMITS: '100/minute',
  RATE_LIMIT_EXECUTE: '10/minute',
  RATE_LIMIT_AUTH: '20/hour',
  RATE_LIMIT_ADMIN: '',
  RATE_LIMIT_SSE: '5/minute',
};
const groupRules = (): GroupRules => rulesFromSettings(settings);

describe('rulesFromSettings', () => {
  it('when a group setting is empty, then the group uses RATE_LIMITS', () => {
    const rules = groupRules();
    expect(rules.admin).toEqual({ limit: 100, windowMs: 60_000 });
    expect(rules.default).toEqual({ limit: 100, windowMs: 60_000 });
  });

  it('when a group setting is set, then the group uses it with its own window', () => {
    const rules = groupRules();
    expect(rules.execute).toEqual({ limit: 10, windowMs: 60_000 });
    expect(rules.auth).toEqual({ limit: 20, windowMs: 3_600_000 });
    expect(rules.sse).toEqual({ limit: 5, windowMs: 60_000 });
  });

  it('when group settings are only whitespace, then those groups fall back to RATE_LIMITS', () => {
    const r = rulesFromSettings({
      RATE_LIMITS: '30/second',
      RATE_LIMIT_EXECUTE: '  ',
      RATE_LIMIT_AUTH: '\t',
      RATE_LIMIT_ADMIN: '2/day',
      RATE_LIMIT_SSE: ' ',
    });
    expect(r).toEqual({
      execute: { limit: 30, windowMs: 1_000 },
      auth: { limit: 30, windowMs: 1_000 },
      admin: { limit: 2, windowMs: 86_400_000 },
      sse: { limit: 30, windowMs: 1_000 },
      default: { limit: 30, windowMs: 1_000 },
    });
  });

  it('when a group setting is malformed, then building the rules throws naming it', () => {
    expect(() =>
      rulesFromSettings({
        RATE_LIMITS: '100/minute',
        RATE_LIMIT_EXECUTE: '',
        RATE_LIMIT_AUTH: '',
        RATE_LIMIT_ADMIN: '',
        RATE_LIMIT_SSE: '5 per minute',
      }),
    ).toThrow('invalid rate "5 per minute"');
  });
});

describe('effectiveLimit', () => {
  const base = { bypass: false, multiplier: 1, limits: {} };

  it('when there is no override, then the group rule applies', () => {
    const rules = groupRules();
    expect(effectiveLimit(rules, 'default', null)).toEqual({ bypass: false, limit: 100, windowMs: 60_000 });
    expect(effectiveLimit(rules, 'execute', undefined)).toEqual({
      bypass: false,
      limit: 10,
      windowMs: 60_000,
    });
  });

  it('when the override multiplies by 3, then every group gets triple its budget in the same window', () => {
    const rules = groupRules();
    const o = { ...base, multiplier: 3 };
    expect(effectiveLimit(rules, 'execute', o)).toEqual({ bypass: false, limit: 30, windowMs: 60_000 });
    expect(effectiveLimit(rules, 'auth', o)).toEqual({ bypass: false, limit: 60, windowMs: 3_600_000 });
  });

  it('when the multiplier is fractional, then the limit rounds down but never below 1', () => {
    const rules = groupRules();
    expect(effectiveLimit(rules, 'execute', { ...base, multiplier: 0.25 })).toMatchObject({ limit: 2 });
    expect(effectiveLimit(rules, 'sse', { ...base, multiplier: 0.01 })).toMatchObject({ limit: 1 });
  });

  it('when the override sets a group limit, then that group uses it (unmultiplied) and the others do not', () => {
    const rules = groupRules();
    const o = { ...base, multiplier: 2, limits: { execute: 7 } };
    expect(effectiveLimit(rules, 'execute', o)).toEqual({ bypass: false, limit: 7, windowMs: 60_000 });
    expect(effectiveLimit(rules, 'default', o)).toEqual({ bypass: false, limit: 200, windowMs: 60_000 });
  });

  it('when the override bypasses, then no group is limited whatever else it says', () => {
    const rules = groupRules();
    const o = { bypass: true, multiplier: 0.5, limits: { execute: 1 } };
    for (const g of ['execute', 'auth', 'admin', 'sse', 'default'] as const) {
      expect(effectiveLimit(rules, g, o)).toEqual({ bypass: true });
    }
  });
});
