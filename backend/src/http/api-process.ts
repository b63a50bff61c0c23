import { mongoFromSettings, redisFromSettings } from '../platform/clients.js';
import { dependencyChecks } from '../platform/health/dependency-checks.js';
import { eventPlatform } from '../platform/event-platform.js';
import { ServiceHost } from '../platform/lifecycle/service-host.js';
import type { Logger } from '../platform/logging/logger.js';
import type { Settings } from '../settings/settings.js';
import { AuthService } from '../users/auth-service.js';
import { LoginLockout } from '../users/login-lockout.js';
import { PasswordHasher } from '../users/password-hasher.js';
import { TokenDenylist } from '../users/token-denylist.js';
import { TokenService } from '../users/token-service.js';
import { seedUsersComponent } from '../users/seed-users.js';
import { UserAdmin } from '../users/user-admin.js';
import { UserRepository } from '../users/user-repository.js';
import { DlqAdmin } from '../dlq/dlq-admin.js';
import { DlqEvents } from '../dlq/dlq-events.js';
import { DlqMessageRepository } from '../dlq/dlq-message-repository.js';
import { createApp } from './app.js';
import { CsrfTokens } from './csrf.js';
import { parseOrigins } from './headers.js';
import { executionWiring } from './execution-wiring.js';
import { HttpServer } from './http-server.js';
import { rateLimiting } from './rate-limiting.js';
import { defaultQueueKeyPrefix, ExecutionQueue } from '../queue/execution-queue.js';
import { SettingsHistoryRepository } from '../user-settings/settings-history-repository.js';
import { UserSettingsService } from '../user-settings/user-settings-service.js';
import { SavedScriptRepository } from '../scripts/saved-script-repository.js';
import { SavedScriptService } from '../scripts/saved-script-service.js';
import { EventStore } from '../events-store/event-store.js';

export interface ApiProcess {
  host: ServiceHost;
  http: HttpServer;
}

/** Wires the API process: clients first, the HTTP listener last (and first to stop). */
export function createApiProcess(settings: Settings, logger: Logger): ApiProcess {
  const { catalog, kafka, producer, telemetry, topicAdmin } = eventPlatform(settings, logger);
  const mongo = mongoFromSettings(settings, logger);
  const redis = redisFromSettings(settings, logger);
  const kafkaAdmin = topicAdmin();
  const users = new UserRepository(mongo);
  const hasher = new PasswordHasher(settings.BCRYPT_ROUNDS);
  const tokens = new TokenService({
    secret: settings.SECRET_KEY,
    algorithm: settings.ALGORITHM,
    expireMinutes: settings.ACCESS_TOKEN_EXPIRE_MINUTES,
  });
  const lockout = new LoginLockout({
    redis: () => redis.commands,
    maxAttempts: settings.LOGIN_MAX_ATTEMPTS,
    windowSeconds: settings.LOGIN_LOCKOUT_MINUTES * 60,
  });
  const csrf = new CsrfTokens(settings.SECRET_KEY);
  const seedUsers = seedUsersComponent({
    users,
    hasher,
    environment: settings.ENVIRONMENT,
    logger: logger.child({ component: 'seed-users' }),
  });
  const auth = new AuthService({
    users,
    hasher,
    tokens,
    denylist: new TokenDenylist({ redis: () => redis.commands }),
    lockout,
    catalog,
    publish: (event) => producer.publish(event),
    service: { name: settings.TRACING_SERVICE_NAME, version: settings.TRACING_SERVICE_VERSION },
    logger: logger.child({ component: 'auth' }),
  });
  const userSettings = new UserSettingsService({
    history: new SettingsHistoryRepository(mongo),
    catalog,
    publish: (event) => producer.publish(event),
    service: { name: settings.TRACING_SERVICE_NAME, version: settings.TRACING_SERVICE_VERSION },
    logger: logger.child({ component: 'user-settings' }),
  });
  const executions = executionWiring({ settings, mongo, redis, kafka, catalog, producer, auth, logger });
  const app = createApp({
    logger,
    executions: executions.routes,
    scripts: {
      auth,
      scripts: new SavedScriptService({
        scripts: new SavedScriptRepository(mongo),
        executions: executions.routes.executions,
        maxScriptBytes: settings.EXECUTION_MAX_SCRIPT_BYTES,
      }),
      maxScriptBytes: settings.EXECUTION_MAX_SCRIPT_BYTES,
    },
    healthChecks: dependencyChecks({ mongo, redis, kafkaAdmin: kafkaAdmin.admin }),
    auth: {
      auth,
      passwordMinLength: settings.PASSWORD_MIN_LENGTH,
      secureCookie: settings.ENVIRONMENT === 'production',
      csrf,
    },
    csrf: { csrf, tokens, exemptPaths: ['/auth/login', '/auth/register'] },
    adminUsers: {
      auth,
      admin: new UserAdmin({ users, hasher, lockout, logger: logger.child({ component: 'user-admin' }) }),
      passwordMinLength: settings.PASSWORD_MIN_LENGTH,
    },
    adminDlq: {
      auth,
      admin: new DlqAdmin({
        repository: new DlqMessageRepository(mongo),
        events: new DlqEvents({
          catalog,
          publish: (event) => producer.publish(event),
          service: { name: settings.TRACING_SERVICE_NAME, version: settings.TRACING_SERVICE_VERSION },
        }),
        retentionDays: settings.DLQ_RETENTION_DAYS,
        logger: logger.child({ component: 'dlq-admin' }),
      }),
    },
    adminEvents: { auth, store: new EventStore(mongo) },
    userSettings: { auth, settings: userSettings },
    adminExecutionCaps: {
      auth,
      users,
      queue: () => new ExecutionQueue(redis.commands, defaultQueueKeyPrefix(settings)),
      defaultCap: settings.EXECUTION_MAX_CONCURRENT_PER_USER,
    },
    corsOrigins: parseOrigins(settings.CORS_ORIGINS),
    bodyLimitBytes: settings.MAX_REQUEST_BODY_BYTES,
    ...rateLimiting({ settings, mongo, redis, auth, users, logger }),
  });
  const http = new HttpServer({
    app,
    host: settings.SERVER_HOST,
    port: settings.SERVER_PORT,
    backlog: settings.WEB_BACKLOG,
    requestTimeoutMs: settings.WEB_TIMEOUT * 1000,
    logger: logger.child({ component: 'http' }),
  });
  const host = new ServiceHost({
    logger,
    components: [telemetry, mongo, redis, kafkaAdmin, producer, seedUsers, ...executions.components, http],
    stopTimeoutMs: settings.SHUTDOWN_TIMEOUT_SECONDS * 1000,
  });
  return { host, http };
}
