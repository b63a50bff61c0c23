import { Router } from 'express';
import { z } from 'zod';
import type { DlqAdmin } from '../../dlq/dlq-admin.js';
import { DLQ_STATUSES, type DlqMessage } from '../../dlq/dlq-message.js';
import type { AuthService } from '../../users/auth-service.js';
import { authenticate, requireRole, sessionOf } from '../authenticate.js';
import { jsonBody } from '../body.js';
import { parseInput } from '../validate.js';

export interface AdminDlqRoutesOptions {
  auth: AuthService;
  admin: DlqAdmin;
  bodyLimitBytes: number;
}

const IdParams = z.object({ id: z.string().min(1).max(300) });
const ListQuery = z.object({
  status: z.enum(DLQ_STATUSES).optional(),
  topic: z.string().min(1).max(300).optional(),
  event_type: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});
const RetryTopicBody = z.object({ topic: z.string().min(1).max(300) }).strict();

/** The API's view of a DLQ message: snake_case, dates as ISO strings. */
export function toPublicDlqMessage(m: DlqMessage) {
  return {
    id: m.id,
    status: m.status,
    original_topic: m.originalTopic,
    original_partition: m.originalPartition,
    original_offset: m.originalOffset,
    consumer_group: m.consumerGroup,
    event_id: m.eventId,
    event_type: m.eventType,
    key: m.key,
    value: m.value,
    headers: m.headers,
    error: m.error,
    reason: m.reason,
    attempt: m.attempt,
    attempts: m.retryCount,
    failed_at: m.failedAt.toISOString(),
    received_at: m.receivedAt.toISOString(),
    next_retry_at: m.nextRetryAt?.toISOString() ?? null,
    retried_at: m.retriedAt?.toISOString() ?? null,
    discarded_at: m.discardedAt?.toISOString() ?? null,
    expires_at: m.expiresAt?.toISOString() ?? null,
  };
}

/**
 * /admin/dlq: list/filter, get, stats, retry now, discard, retry a topic. Admins only. A retry makes
 * the message due now; the DLQ processor republishes it within its poll interval.
 */
export function adminDlqRoutes(options: AdminDlqRoutesOptions): Router {
  const { auth, admin } = options;
  const router = Router();
  const json = jsonBody({ limitBytes: options.bodyLimitBytes });

  router.use('/admin/dlq', authenticate(auth), requireRole('admin'));

  router.get('/admin/dlq/messages', async (req, res) => {
    const query = parseInput(ListQuery, req.query, 'query');
    const page = await admin.list({
      status: query.status,
      topic: query.topic,
      eventType: query.event_type,
      limit: query.limit,
      offset: query.offset,
    });
    res.json({
      messages: page.messages.map(toPublicDlqMessage),
      total: page.total,
      limit: query.limit,
      offset: query.offset,
    });
  });

  router.get('/admin/dlq/stats', async (_req, res) => {
    const stats = await admin.stats();
    res.json({
      total: stats.total,
      by_status: stats.byStatus,
      by_topic: stats.byTopic,
      by_error: stats.byError,
    });
  });

  router.get('/admin/dlq/messages/:id', async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    res.json(toPublicDlqMessage(await admin.get(id)));
  });

  router.post('/admin/dlq/messages/:id/retry', async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    res.status(202).json(toPublicDlqMessage(await admin.retryNow(id, sessionOf(req).user.id)));
  });

  router.post('/admin/dlq/messages/:id/discard', async (req, res) => {
    const { id } = parseInput(IdParams, req.params, 'path');
    res.json(toPublicDlqMessage(await admin.discard(id, sessionOf(req).user.id)));
  });

  router.post('/admin/dlq/retry', json, async (req, res) => {
    const { topic } = parseInput(RetryTopicBody, req.body);
    const scheduled = await admin.retryTopic(topic, sessionOf(req).user.id);
    res.status(202).json({ topic, scheduled });
  });

  return router;
}
