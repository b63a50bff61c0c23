import { Router } from 'express';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.js';
import { RATE_LIMIT_GROUPS, type RateLimitGroup } from '../../rate-limit/groups.js';
import { userCounterKey } from '../../rate-limit/middleware.js';
import type { CachedOverrides } from '../../rate-limit/override-cache.js';
import { effectiveLimit, type GroupRules, type RateLimitOverride } from '../../rate-limit/policy.js';
import { formatRate } from '../../rate-limit/rate.js';
import type { AuthService } from '../../users/auth-service.js';
import type { User } from '../../users/user.js';
import { authenticate, requireRole, sessionOf } from '../authenticate.js';
import { jsonBody } from '../body.js';
import { parseInput } from '../validate.js';

export interface AdminRateLimitRoutesOptions {
  auth: AuthService;
  users: { findById(id: string): Promise<User | null> };
  overrides: CachedOverrides;
  rules: GroupRules;
  redis: () => Redis;
  keyPrefix: string;
  /** Largest override body. */
  bodyLimitBytes: number;
}

const GroupLimit = z.number().int().min(1).max(1_000_000_000);

const OverrideBody = z.strictObject({
  bypass: z.boolean().default(false),
  multiplier: z.number().positive().max(1_000_000).default(1),
  limits: z
    .strictObject({
      execute: GroupLimit.optional(),
      auth: GroupLimit.optional(),
      admin: GroupLimit.optional(),
      sse: GroupLimit.optional(),
      default: GroupLimit.optional(),
    })
    .default({}),
});

function overrideJson(o: RateLimitOverride) {
  return {
    user_id: o.userId,
    bypass: o.bypass,
    multiplier: o.multiplier,
    limits: o.limits,
    updated_at: o.updatedAt.toISOString(),
    updated_by: o.updatedBy,
  };
}

function perGroup<T>(f: (group: RateLimitGroup) => T): Record<RateLimitGroup, T> {
  return Object.fromEntries(RATE_LIMIT_GROUPS.map((g) => [g, f(g)])) as Record<RateLimitGroup, T>;
}

/** GET/PUT/DELETE /admin/rate-limits/:user_id and POST …/reset; admins only. */
export function adminRateLimitRoutes(options: AdminRateLimitRoutesOptions): Router {
  const { rules, overrides } = options;
  const router = Router();
  router.use('/admin/rate-limits', authenticate(options.auth), requireRole('admin'));

  function view(userId: string, override: RateLimitOverride | null) {
    return {
      user_id: userId,
      override: override ? overrideJson(override) : null,
      defaults: perGroup((g) => ({
        limit: rules[g].limit,
        window_ms: rules[g].windowMs,
        rate: formatRate(rules[g]),
      })),
      effective: perGroup((g) => {
        const e = effectiveLimit(rules, g, override);
        return e.bypass
          ? { bypass: true }
          : { bypass: false, limit: e.limit, window_ms: e.windowMs, rate: formatRate(e) };
      }),
    };
  }

  async function existingUser(userId: string): Promise<void> {
    if (!(await options.users.findById(userId))) throw new AppError('not_found', `No user ${userId}`);
  }

  router.get('/admin/rate-limits/:user_id', async (req, res) => {
    const userId = req.params.user_id;
    await existingUser(userId);
    res.json(view(userId, await overrides.find(userId)));
  });

  router.put(
    '/admin/rate-limits/:user_id',
    jsonBody({ limitBytes: options.bodyLimitBytes }),
    async (req, res) => {
      // The body parser in front hides the path's parameter names from the types.
      const userId = String(req.params.user_id);
      const input = parseInput(OverrideBody, req.body);
      await existingUser(userId);
      const stored = await overrides.put({
        userId,
        bypass: input.bypass,
        multiplier: input.multiplier,
        limits: Object.fromEntries(Object.entries(input.limits).filter(([, v]) => v !== undefined)),
        updatedAt: new Date(),
        updatedBy: sessionOf(req).user.id,
      });
      req.log.info({ target_user_id: userId, override: overrideJson(stored) }, 'rate limit override set');
      res.json(view(userId, stored));
    },
  );

  router.delete('/admin/rate-limits/:user_id', async (req, res) => {
    const userId = req.params.user_id;
    if (!(await overrides.remove(userId)))
      throw new AppError('not_found', `No rate limit override for user ${userId}`);
    req.log.info({ target_user_id: userId }, 'rate limit override removed');
    res.json(view(userId, null));
  });

  router.post('/admin/rate-limits/:user_id/reset', async (req, res) => {
    const userId = req.params.user_id;
    const keys = RATE_LIMIT_GROUPS.map((g) => userCounterKey(options.keyPrefix, g, userId));
    let cleared: number;
    try {
      cleared = await options.redis().del(...keys);
    } catch (err) {
      throw new AppError('dependency_unavailable', 'Cannot reset counters: Redis does not answer', {
        cause: err,
      });
    }
    req.log.info({ target_user_id: userId, cleared }, 'rate limit counters reset');
    res.json({ user_id: userId, cleared });
  });

  return router;
}
