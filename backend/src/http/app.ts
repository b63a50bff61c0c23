import express, { type Express } from 'express';
import helmet from 'helmet';
import type { HealthCheck } from '../platform/health/health-check.js';
import type { Logger } from '../platform/logging/logger.js';
import { executeBodyLimit, SMALL_JSON_BYTES } from './body.js';
import { csrfProtection, type CsrfProtectionOptions } from './csrf.js';
import { errorHandler, notFoundHandler } from './error-handler.js';
import { corsFor, noStore } from './headers.js';
import { requestContext } from './request-context.js';
import {
  adminExecutionCapRoutes,
  type AdminExecutionCapRoutesOptions,
} from './routes/admin-execution-caps.js';
import { adminUserRoutes, type AdminUserRoutesOptions } from './routes/admin-users.js';
import { adminDlqRoutes, type AdminDlqRoutesOptions } from './routes/admin-dlq.js';
import { adminEventRoutes, type AdminEventRoutesOptions } from './routes/admin-events.js';
import { authRoutes, type AuthRoutesOptions } from './routes/auth.js';
import { healthRoutes } from './routes/health.js';
import { adminRateLimitRoutes, type AdminRateLimitRoutesOptions } from './routes/admin-rate-limits.js';
import { executionRoutes, type ExecutionRoutesOptions } from './routes/executions.js';
import { userSettingsRoutes, type UserSettingsRoutesOptions } from './routes/user-settings.js';
import { scriptRoutes, type ScriptRoutesOptions } from './routes/scripts.js';
import { rateLimiter, type RateLimitOptions } from '../rate-limit/middleware.js';

export interface AppOptions {
  logger: Logger;
  healthChecks: readonly HealthCheck[];
  healthTimeoutMs?: number;
  /** MAX_REQUEST_BODY_BYTES: a ceiling on every route's own body limit. */
  bodyLimitBytes?: number;
  /** The account routes; absent in apps built only to serve health checks. */
  auth?: Omit<AuthRoutesOptions, 'bodyLimitBytes'>;
  /** CSRF checks of cookie-authenticated mutating requests; absent in health-only apps. */
  csrf?: CsrfProtectionOptions;
  adminUsers?: Omit<AdminUserRoutesOptions, 'bodyLimitBytes'>;
  /** Inspect, retry and discard dead-lettered messages. */
  adminDlq?: Omit<AdminDlqRoutesOptions, 'bodyLimitBytes'>;
  /** Delete a stored event (archived first). */
  adminEvents?: AdminEventRoutesOptions;
  /** Browser origins allowed cross-origin access with credentials; none when absent. */
  corsOrigins?: readonly string[];
  /** Per-user/IP request limits of /api/v1; none when absent (RATE_LIMIT_ENABLED=false). */
  rateLimit?: RateLimitOptions;
  adminRateLimits?: Omit<AdminRateLimitRoutesOptions, 'bodyLimitBytes'>;
  /** Per-user overrides of EXECUTION_MAX_CONCURRENT_PER_USER. */
  adminExecutionCaps?: Omit<AdminExecutionCapRoutesOptions, 'bodyLimitBytes'>;
  /** Submit, follow (SSE) and manage executions. */
  executions?: Omit<ExecutionRoutesOptions, 'bodyLimitBytes'>;
  /** The signed-in user's settings, their history and restore. */
  userSettings?: Omit<UserSettingsRoutesOptions, 'bodyLimitBytes'>;
  /** Saved scripts: CRUD and run. */
  scripts?: Omit<ScriptRoutesOptions, 'bodyLimitBytes'>;
  /** TRUSTED_PROXIES: senders whose X-Forwarded-For names the client; none when absent or empty. */
  trustedProxies?: readonly string[];
}

/**
 * The express application: middleware, the /api/v1 routes, and JSON errors for everything else.
 * Bodies are parsed only by the routes that take one, each with its own limit, so a request to any
 * other path is answered without its body ever being read.
 */
export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  const proxies = options.trustedProxies ?? [];
  app.set('trust proxy', proxies.length === 0 ? false : [...proxies]);
  app.use(requestContext(options.logger));
  app.use(helmet());
  app.use(corsFor(options.corsOrigins ?? []));
  app.use('/api/v1', noStore);
  const ceiling = options.bodyLimitBytes ?? 10 * 1024 * 1024;
  const small = Math.min(SMALL_JSON_BYTES, ceiling);
  if (options.rateLimit) app.use(rateLimiter(options.rateLimit));
  if (options.csrf) app.use('/api/v1', csrfProtection(options.csrf));
  app.use(
    '/api/v1',
    healthRoutes({ checks: options.healthChecks, timeoutMs: options.healthTimeoutMs ?? 2_000 }),
  );
  if (options.auth) app.use('/api/v1', authRoutes({ ...options.auth, bodyLimitBytes: small }));
  if (options.adminUsers) {
    app.use('/api/v1', adminUserRoutes({ ...options.adminUsers, bodyLimitBytes: small }));
  }
  if (options.adminDlq) {
    app.use('/api/v1', adminDlqRoutes({ ...options.adminDlq, bodyLimitBytes: small }));
  }
  if (options.adminEvents) app.use('/api/v1', adminEventRoutes(options.adminEvents));
  if (options.adminExecutionCaps) {
    app.use('/api/v1', adminExecutionCapRoutes({ ...options.adminExecutionCaps, bodyLimitBytes: small }));
  }
  if (options.adminRateLimits) {
    app.use('/api/v1', adminRateLimitRoutes({ ...options.adminRateLimits, bodyLimitBytes: small }));
  }
  if (options.userSettings) {
    app.use('/api/v1', userSettingsRoutes({ ...options.userSettings, bodyLimitBytes: small }));
  }
  if (options.executions) {
    const executeLimit = executeBodyLimit(options.executions.settings.EXECUTION_MAX_SCRIPT_BYTES);
    app.use(
      '/api/v1',
      executionRoutes({ ...options.executions, bodyLimitBytes: Math.min(executeLimit, ceiling) }),
    );
  }
  if (options.scripts) {
    // A saved script is at most an execution's script, and running one may send stdin as big.
    const scriptsLimit = executeBodyLimit(options.scripts.maxScriptBytes);
    app.use('/api/v1', scriptRoutes({ ...options.scripts, bodyLimitBytes: Math.min(scriptsLimit, ceiling) }));
  }
  app.use(notFoundHandler);
  app.use(errorHandler(options.logger));
  return app;
}
