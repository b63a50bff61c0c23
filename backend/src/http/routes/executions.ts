import { Router, type Request } from 'express';
import { z } from 'zod';
import { ExecutionPriority, ExecutionVerdict } from '../../events/definitions.js';
import type { ExecutionRepository } from '../../executions/execution-repository.js';
import {
  maxLimits,
  type Caller,
  type ExecutionService,
  type ExecutionSettings,
} from '../../executions/execution-service.js';
import { executionView } from '../../executions/execution-view.js';
import type { RuntimeDirectory } from '../../executions/runtime-directory.js';
import type { EventStore } from '../../events-store/event-store.js';
import { AppError } from '../../platform/errors/app-error.js';
import type { ExecutionEventLog } from '../../sse/execution-event-log.js';
import { isStreamId } from '../../sse/execution-event-log.js';
import type { ExecutionStreamHub } from '../../sse/execution-stream-hub.js';
import { streamExecution } from '../../sse/execution-stream.js';
import type { StreamSlots } from '../../sse/stream-slots.js';
import type { AuthService } from '../../users/auth-service.js';
import { authenticate, sessionOf } from '../authenticate.js';
import { jsonBody } from '../body.js';
import { parseInput } from '../validate.js';

export interface ExecutionRoutesOptions {
  auth: AuthService;
  executions: ExecutionService;
  repository: ExecutionRepository;
  runtimes: RuntimeDirectory;
  log: ExecutionEventLog;
  /** GET /executions/{id}/events reads the event store, not the SSE log (which expires). */
  eventStore: Pick<EventStore, 'findByAggregate'>;
  hub: ExecutionStreamHub;
  settings: ExecutionSettings & { SSE_HEARTBEAT_INTERVAL: number };
  /** Whether the SSE bridge feeds the log (ENABLE_EVENT_STREAMING). */
  liveEvents: boolean;
  /** Each user's open SSE streams, capped at SSE_MAX_STREAMS_PER_USER. */
  streams: StreamSlots;
  /** Largest POST /execute body (scripts and stdin plus the rest). */
  bodyLimitBytes: number;
}

const Limits = z
  .object({
    wall_seconds: z.number().int().positive(),
    cpu_seconds: z.number().positive(),
    memory_bytes: z.number().int().positive(),
    max_processes: z.number().int().positive(),
    max_file_bytes: z.number().int().positive(),
    max_output_bytes: z.number().int().positive(),
  })
  .partial()
  .strict();

const ExecuteBody = z
  .object({
    script: z.string().min(1, 'Give a script to run'),
    lang: z.string().min(1).max(32),
    lang_version: z.string().min(1).max(32),
    stdin: z.string().optional(),
    args: z.array(z.string().max(4096)).max(64).optional(),
    limits: Limits.optional(),
    priority: ExecutionPriority.optional(),
  })
  .strict();

const IdParams = z.object({ id: z.uuid('Must be an execution id (UUID)') });
const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/;

const ListQuery = z.object({
  status: z.union([ExecutionVerdict, z.enum(['queued', 'scheduled', 'running'])]).optional(),
  lang: z.string().max(32).optional(),
  created_after: z.coerce.date().optional(),
  created_before: z.coerce.date().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  offset: z.coerce.number().int().min(0).default(0),
});

/** `event_types` comma-separated or repeated; `limit` oldest events first. */
const EventsQuery = z.object({
  event_types: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) =>
      (v === undefined ? [] : [v].flat())
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    )
    .pipe(z.array(z.string().regex(/^[a-z_]{1,64}$/, 'Must be event type names'))),
  limit: z.coerce.number().int().min(1).max(10_000).default(2_000),
});

function callerOf(req: Request): Caller {
  const { user } = sessionOf(req);
  return { id: user.id, role: user.role };
}

/** Execution endpoints: submit, read, cancel, retry, list, delete, runtimes and limits, SSE. */
export function executionRoutes(o: ExecutionRoutesOptions): Router {
  const router = Router();
  const auth = authenticate(o.auth);

  // Authenticated before the body is read: anonymous callers cannot make us read a script.
  router.post('/execute', auth, jsonBody({ limitBytes: o.bodyLimitBytes }), async (req, res) => {
    const body = parseInput(ExecuteBody, req.body, 'body');
    const key = req.header('idempotency-key');
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new AppError('validation', 'Idempotency-Key must be 1-128 characters of A-Z a-z 0-9 . _ : -', {
        details: [{ field: 'Idempotency-Key', message: 'invalid format' }],
      });
    }
    const execution = await o.executions.submit(callerOf(req), body, key);
    res.status(202).json({ execution_id: execution.id, status: execution.status });
  });

  router.get('/executions/:id/result', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    res.json(executionView(await o.executions.get(callerOf(req), id)));
  });

  router.post('/executions/:id/cancel', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const execution = await o.executions.cancel(callerOf(req), id);
    res.status(202).json({ execution_id: id, status: execution.status, detail: 'Cancellation requested' });
  });

  router.post('/executions/:id/retry', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const execution = await o.executions.retry(callerOf(req), id);
    res.status(202).json({ execution_id: execution.id, status: execution.status, retry_of: id });
  });

  router.get('/executions/:id/events', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const q = parseInput(EventsQuery, req.query, 'query');
    await o.executions.get(callerOf(req), id);
    const events = await o.eventStore.findByAggregate(id, { eventTypes: q.event_types, limit: q.limit });
    res.json({ execution_id: id, events });
  });

  router.delete('/executions/:id', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    await o.executions.delete(callerOf(req), id);
    res.status(204).end();
  });

  router.get('/user/executions', auth, async (req, res) => {
    const q = parseInput(ListQuery, req.query, 'query');
    const page = await o.executions.list(callerOf(req), {
      status: q.status,
      lang: q.lang,
      createdAfter: q.created_after,
      createdBefore: q.created_before,
      limit: q.limit,
      offset: q.offset,
    });
    res.json({
      executions: page.items.map(executionView),
      total: page.total,
      limit: q.limit,
      offset: q.offset,
    });
  });

  router.get('/example-scripts', async (_req, res) => {
    const advert = await o.runtimes.current();
    const scripts: Record<string, Record<string, string>> = {};
    for (const r of advert?.runtimes ?? []) (scripts[r.lang] ??= {})[r.version] = r.exampleScript;
    res.json({ scripts });
  });

  router.get('/k8s-limits', async (_req, res) => {
    const advert = await o.runtimes.current();
    res.json({
      limits: maxLimits(o.settings),
      backend: advert?.backend ?? null,
      runtimes: (advert?.runtimes ?? []).map((r) => ({
        lang: r.lang,
        version: r.version,
        full_version: r.fullVersion,
        file_extension: r.fileExtension,
      })),
      enforcement: advert?.enforcement ?? null,
    });
  });

  router.get('/events/executions/:id', auth, async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    const execution = await o.executions.get(callerOf(req), id);
    const slot = await o.streams.acquire(sessionOf(req).user.id);
    if (slot === undefined) {
      throw new AppError(
        'rate_limited',
        `Too many open event streams: at most ${o.streams.maxPerUser} per user; close one and retry`,
      );
    }
    const lastEventId = req.header('last-event-id');
    try {
      await streamExecution(res, {
        execution,
        reload: () => o.repository.findById(id),
        log: o.log,
        hub: o.hub,
        lastEventId: isStreamId(lastEventId) ? lastEventId : undefined,
        heartbeatMs: o.settings.SSE_HEARTBEAT_INTERVAL * 1000,
        renderResult: executionView,
        poll: o.liveEvents ? { everyMs: 2_000, graceMs: 5_000 } : { everyMs: 500, graceMs: 0 },
        logger: req.log,
      });
    } finally {
      await slot.release();
    }
  });

  return router;
}
