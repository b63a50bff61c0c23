import { Router } from 'express';
import { z } from 'zod';
import type { EventStore } from '../../events-store/event-store.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { AuthService } from '../../users/auth-service.js';
import { authenticate, requireRole, sessionOf } from '../authenticate.js';
import { parseInput } from '../validate.js';

export interface AdminEventRoutesOptions {
  auth: AuthService;
  store: Pick<EventStore, 'archiveAndDelete'>;
}

const IdParams = z.object({ id: z.string().min(1).max(100) });

/** /admin/events: deleting a stored event archives it first (events_archive). Admins only. */
export function adminEventRoutes(options: AdminEventRoutesOptions): Router {
  const router = Router();
  router.use('/admin/events', authenticate(options.auth), requireRole('admin'));

  router.delete('/admin/events/:id', async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const deleted = await options.store.archiveAndDelete(id, sessionOf(req).user.id);
    if (!deleted) throw new AppError('not_found', 'Event not found');
    res.status(204).end();
  });

  return router;
}
