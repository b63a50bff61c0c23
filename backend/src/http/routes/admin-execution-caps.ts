import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../platform/errors/app-error.js';
import type { ExecutionQueue } from '../../queue/execution-queue.js';
import type { AuthService } from '../../users/auth-service.js';
import type { User } from '../../users/user.js';
import { authenticate, requireRole } from '../authenticate.js';
import { jsonBody } from '../body.js';
import { parseInput } from '../validate.js';

export interface AdminExecutionCapRoutesOptions {
  auth: AuthService;
  users: { findById(id: string): Promise<User | null> };
  /** The queue, once Redis is connected. */
  queue: () => Pick<ExecutionQueue, 'setUserCap' | 'userCap'>;
  /** EXECUTION_MAX_CONCURRENT_PER_USER: what a user without an override gets. */
  defaultCap: number;
  /** Largest body. */
  bodyLimitBytes: number;
}

const CapBody = z.strictObject({ max_concurrent: z.number().int().min(1).max(100_000) });

/**
 * GET/PUT/DELETE /admin/users/:user_id/execution-cap: how many executions one user may run at
 * once (EXECUTION_MAX_CONCURRENT_PER_USER unless an admin set an override); admins only.
 */
export function adminExecutionCapRoutes(options: AdminExecutionCapRoutesOptions): Router {
  const router = Router();
  const path = '/admin/users/:user_id/execution-cap';
  router.use(path, authenticate(options.auth), requireRole('admin'));

  async function view(userId: string) {
    if (!(await options.users.findById(userId))) throw new AppError('not_found', `No user ${userId}`);
    const override = await options.queue().userCap(userId);
    return {
      user_id: userId,
      default: options.defaultCap,
      override,
      effective: override ?? options.defaultCap,
    };
  }

  router.get(path, async (req, res) => {
    res.json(await view(req.params.user_id));
  });

  router.put(path, jsonBody({ limitBytes: options.bodyLimitBytes }), async (req, res) => {
    // The body parser in front hides the path's parameter names from the types.
    const userId = String(req.params.user_id);
    const input = parseInput(CapBody, req.body);
    await view(userId);
    await options.queue().setUserCap(userId, input.max_concurrent);
    req.log.info({ target_user_id: userId, max_concurrent: input.max_concurrent }, 'execution cap set');
    res.json(await view(userId));
  });

  router.delete(path, async (req, res) => {
    const userId = req.params.user_id;
    await view(userId);
    await options.queue().setUserCap(userId, null);
    req.log.info({ target_user_id: userId }, 'execution cap override removed');
    res.json(await view(userId));
  });

  return router;
}
