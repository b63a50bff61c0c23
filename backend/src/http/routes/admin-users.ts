import { Router } from 'express';
import { z } from 'zod';
import type { AuthService } from '../../users/auth-service.js';
import { toPublicUser } from '../../users/user.js';
import type { UserAdmin } from '../../users/user-admin.js';
import { authenticate, requireRole, sessionOf } from '../authenticate.js';
import { jsonBody } from '../body.js';
import { parseInput } from '../validate.js';
import { Email, passwordField, Username } from './auth.js';

export interface AdminUserRoutesOptions {
  auth: AuthService;
  admin: UserAdmin;
  passwordMinLength: number;
  /** Largest create or update body. */
  bodyLimitBytes: number;
}

const Role = z.enum(['user', 'admin']);
const IdParams = z.object({ id: z.uuid('Must be a user id (UUID)') });
const BoolParam = z.enum(['true', 'false']).transform((v) => v === 'true');

const ListQuery = z.object({
  search: z.string().max(100).optional(),
  role: Role.optional(),
  active: BoolParam.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** /admin/users: list/search, create, get, update (incl. password reset), delete, unlock. Admins only. */
export function adminUserRoutes(options: AdminUserRoutesOptions): Router {
  const { auth, admin, passwordMinLength } = options;
  const router = Router();
  const json = jsonBody({ limitBytes: options.bodyLimitBytes });
  const CreateBody = z.object({
    username: Username,
    email: Email,
    password: passwordField(passwordMinLength),
    role: Role.default('user'),
  });
  const UpdateBody = z
    .object({
      email: Email.optional(),
      role: Role.optional(),
      active: z.boolean().optional(),
      password: passwordField(passwordMinLength).optional(),
    })
    .strict()
    .refine((b) => Object.values(b).some((v) => v !== undefined), 'Give at least one field to change');

  router.use('/admin/users', authenticate(auth), requireRole('admin'));

  router.get('/admin/users', async (req, res) => {
    const query = parseInput(ListQuery, req.query, 'query');
    const page = await admin.list(query);
    res.json({
      users: page.users.map(toPublicUser),
      total: page.total,
      limit: query.limit,
      offset: query.offset,
    });
  });

  router.post('/admin/users', json, async (req, res) => {
    const input = parseInput(CreateBody, req.body);
    res.status(201).json(toPublicUser(await admin.create(input, sessionOf(req).user)));
  });

  router.get('/admin/users/:id', async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    res.json(toPublicUser(await admin.get(id)));
  });

  router.patch('/admin/users/:id', json, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const changes = parseInput(UpdateBody, req.body);
    res.json(toPublicUser(await admin.update(id, changes, sessionOf(req).user)));
  });

  router.delete('/admin/users/:id', async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    await admin.delete(id, sessionOf(req).user);
    res.status(204).end();
  });

  router.post('/admin/users/:id/unlock', async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const user = await admin.unlock(id, sessionOf(req).user);
    res.json({ detail: `Unlocked ${user.username}`, user: toPublicUser(user) });
  });

  return router;
}
