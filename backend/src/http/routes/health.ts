import { Router } from 'express';
import { runHealthChecks, type HealthCheck } from '../../platform/health/health-check.js';

export interface HealthRoutesOptions {
  checks: readonly HealthCheck[];
  timeoutMs: number;
}

/** Liveness says the process answers; readiness says every dependency does too. */
export function healthRoutes({ checks, timeoutMs }: HealthRoutesOptions): Router {
  const router = Router();
  router.get('/health/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/health/ready', async (_req, res) => {
    const report = await runHealthChecks(checks, timeoutMs);
    if (report.ready) {
      res.json({ status: 'ready', checks: report.checks });
      return;
    }
    const down = Object.entries(report.checks)
      .filter(([, r]) => r.status === 'down')
      .map(([name, r]) => `${name} (${r.error})`);
    res.status(503).json({
      detail: `Not ready: ${down.join(', ')} unavailable`,
      type: 'dependency_unavailable',
      checks: report.checks,
    });
  });
  return router;
}
