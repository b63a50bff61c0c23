import { Router, type Request } from 'express';
import { z } from 'zod';
import { ExecutionLimits, ExecutionPriority } from '../../events/definitions.js';
import type { Caller } from '../../executions/execution-service.js';
import { savedScriptView } from '../../scripts/saved-script.js';
import type { SavedScriptService } from '../../scripts/saved-script-service.js';
import type { AuthService } from '../../users/auth-service.js';
import { authenticate, sessionOf } from '../authenticate.js';
import { jsonBody } from '../body.js';
import { parseInput } from '../validate.js';

export interface ScriptRoutesOptions {
  auth: AuthService;
  scripts: SavedScriptService;
  /** EXECUTION_MAX_SCRIPT_BYTES; the app derives the body limit from it. */
  maxScriptBytes: number;
  /** Largest save or run body (a script, or stdin, plus the rest). */
  bodyLimitBytes: number;
}

/** The languages the executor backends know; which versions run is up to the running workers. */
const Lang = z.enum(['python', 'node', 'ruby', 'bash', 'go']);

const ScriptBody = z.strictObject({
  name: z.string().trim().min(1, 'Give a name that is not blank').max(100, 'At most 100 characters'),
  lang: Lang,
  lang_version: z.string().regex(/^\d+(\.\d+){0,2}$/, 'A version like "3.11" or "20"'),
  script: z.string().min(1, 'Give a script'),
  description: z.string().max(1000, 'At most 1000 characters').default(''),
});

const RunBody = z.strictObject({
  stdin: z.string().optional(),
  args: z.array(z.string().max(4096)).max(64).optional(),
  limits: ExecutionLimits.partial().strict().optional(),
  priority: ExecutionPriority.optional(),
});

const IdParams = z.object({ id: z.uuid('Must be a saved script id (UUID)') });

const ListQuery = z.object({
  search: z.string().max(100).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});

function callerOf(req: Request): Caller {
  const { user } = sessionOf(req);
  return { id: user.id, role: user.role };
}

function fieldsOf(body: z.output<typeof ScriptBody>) {
  return {
    name: body.name,
    lang: body.lang,
    langVersion: body.lang_version,
    script: body.script,
    description: body.description,
  };
}

/** /scripts: save, list and search, read, replace, delete, and run a saved script. */
export function scriptRoutes(o: ScriptRoutesOptions): Router {
  const router = Router();
  // Authenticated before the body is read, as for /execute.
  const auth = authenticate(o.auth);
  const json = jsonBody({ limitBytes: o.bodyLimitBytes });

  router.get('/scripts', auth, async (req, res) => {
    const q = parseInput(ListQuery, req.query, 'query');
    const page = await o.scripts.list(callerOf(req), q);
    res.json({
      scripts: page.items.map(savedScriptView),
      total: page.total,
      limit: q.limit,
      offset: q.offset,
    });
  });

  router.post('/scripts', auth, json, async (req, res) => {
    const body = parseInput(ScriptBody, req.body);
    res.status(201).json(savedScriptView(await o.scripts.create(callerOf(req), fieldsOf(body))));
  });

  router.get('/scripts/:id', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    res.json(savedScriptView(await o.scripts.get(callerOf(req), id)));
  });

  router.put('/scripts/:id', auth, json, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const body = parseInput(ScriptBody, req.body);
    res.json(savedScriptView(await o.scripts.replace(callerOf(req), id, fieldsOf(body))));
  });

  router.delete('/scripts/:id', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    await o.scripts.delete(callerOf(req), id);
    res.status(204).end();
  });

  router.post('/scripts/:id/execute', auth, json, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const options = parseInput(RunBody, req.body);
    const execution = await o.scripts.run(callerOf(req), id, options);
    res.status(202).json({ execution_id: execution.id, status: execution.status, script_id: id });
  });

  return router;
}
