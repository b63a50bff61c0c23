import express, { type Express } from 'express';
import helmet from 'helmet';
import type { HealthCheck } from '../platform/health/health-check.js';
import type { Logger } from '../platform/logging/logger.js';
import { csrfProtection, type CsrfProtectionOptions } from './csrf.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { corsFor, noStore } from './headers.js';
import { requestContext } from './request-context.js';
import { adminUserRoutes, type AdminUserRoutesOptions } from './routes/admin-users.js';
import { authRoutes, type AuthRoutesOptions } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { adminRateLimitRoutes, type AdminRateLimitRoutesOptions } from './routes/admin-rate-limits.js';
import { executionRoutes, type ExecutionRoutesOptions } from './routes/executions.js';
import { rateLimiter, type RateLimitOptions } from '../rate-limit/middleware.js';

export interface AppOptions {
  logger: Logger;
  healthChecks: readonly HealthCheck[];
  healthTimeoutMs?: number;
  bodyLimitBytes?: number;
  /** The account routes; absent in apps built only to serve health checks. */
  auth?: AuthRoutesOptions;
  /** CSRF checks of cookie-authenticated mutating requests; absent in health-only apps. */
  csrf?: CsrfProtectionOptions;
  adminUsers?: AdminUserRoutesOptions;
  /** Browser origins allowed cross-origin access with credentials; none when absent. */
  corsOrigins?: readonly string[];
  /** Per-user/IP request limits of /api/v1; none when absent (RATE_LIMIT_ENABLED=false). */
  rateLimit?: RateLimitOptions;
  adminRateLimits?: AdminRateLimitRoutesOptions;
  /** Submit, follow (SSE) and manage executions. */
  executions?: ExecutionRoutesOptions;
  /** TRUSTED_PROXIES: senders whose X-Forwarded-For names the client; none when absent or empty. */
  trustedProxies?: readonly string[];
}

/** The express application: middleware, the /api/v1 routes, and JSON errors for everything else. */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const proxies = options.trustedProxies ?? [];
  app.set('trust proxy', proxies.length === 0 ? false : [...proxies]);
  app.use(requestContext(options.logger));
  app.use(helmet());
  app.use(corsFor(options.corsOrigins ?? []));
  app.use('/api/v1', noStore);
  const limit = options.bodyLimitBytes ?? 10 * 1024 * 1024;
  app.use(express.json({ limit }));
  // Flat form fields only: `extended: false` never turns `a[b]=c` into nested objects.
  app.use(express.urlencoded({ extended: false, limit }));
  if (options.rateLimit) app.use(rateLimiter(options.rateLimit));
  if (options.csrf) app.use('/api/v1', csrfProtection(options.csrf));
  app.use(
    '/api/v1',
    healthRoutes({ checks: options.healthChecks, timeoutMs: options.healthTimeoutMs ?? 2_000 }),
  );
  if (options.auth) app.use('/api/v1', authRoutes(options.auth));
  if (options.adminUsers) app.use('/api/v1', adminUserRoutes(options.adminUsers));
  if (options.adminRateLimits) app.use('/api/v1', adminRateLimitRoutes(options.adminRateLimits));
  if (options.executions) app.use('/api/v1', executionRoutes(options.executions));
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
}
