import express, { type Express } from 'express';
import type { HealthCheck } from '../platform/health/health-check.js';
import type { Logger } from '../platform/logging/logger.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { requestContext } from './request-context.js';
import { authRoutes, type AuthRoutesOptions } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';

export interface AppOptions {
  logger: Logger;
  healthChecks: readonly HealthCheck[];
  healthTimeoutMs?: number;
  bodyLimitBytes?: number;
  /** The account routes; absent in apps built only to serve health checks. */
  auth?: AuthRoutesOptions;
}

/** The express application: middleware, the /api/v1 routes, and JSON errors for everything else. */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestContext(options.logger));
  const limit = options.bodyLimitBytes ?? 10 * 1024 * 1024;
  app.use(express.json({ limit }));
  // Flat form fields only: `extended: false` never turns `a[b]=c` into nested objects.
  app.use(express.urlencoded({ extended: false, limit }));
  app.use(
    '/api/v1',
    healthRoutes({ checks: options.healthChecks, timeoutMs: options.healthTimeoutMs ?? 2_000 }),
  );
  if (options.auth) app.use('/api/v1', authRoutes(options.auth));
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
}
