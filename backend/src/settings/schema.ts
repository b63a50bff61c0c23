import { DEFAULT_MAX_OUTPUT_EVENTS } from '../executor/output-events.js';
import { bool, int, num, oneOf, str, type KeySpec } from './keys.js';

const CPU_QUANTITY = /^(\d+m|\d+(\.\d+)?)$/;
const MEMORY_QUANTITY = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$/;
/** `lang/version=image`, comma-separated; parsed by executor/kubernetes/runtime-images.ts. */
export const RUNTIME_IMAGES_PATTERN =
  /^\s*[a-z]+\/[0-9][0-9.]*=[^\s,=]+(\s*,\s*[a-z]+\/[0-9][0-9.]*=[^\s,=]+)*\s*$/;
const DEFAULT_RUNTIME_IMAGES = [
  'python/3.12=python:3.12-slim',
  'python/3.11=python:3.11-slim',
  'node/22=node:22-slim',
  'node/20=node:20-slim',
  'ruby/3.3=ruby:3.3-slim',
  'bash/5.2=bash:5.2',
  'go/1.22=golang:1.22-alpine',
].join(',');
const DLQ_POLICY_ENTRY = String.raw`[a-z][a-z0-9_]*\s*=\s*(retry|immediate|manual)`;
/** Parsed by dlq/retry-policy.ts. */
const DLQ_RETRY_POLICIES_PATTERN = new RegExp(
  String.raw`^\s*$|^\s*${DLQ_POLICY_ENTRY}(\s*,\s*${DLQ_POLICY_ENTRY})*\s*$`,
);
export const RATE_LIMIT_PATTERN = /^\s*(\d+)\s*\/\s*(second|minute|hour|day)\s*$/;

const core = 'Core';
const k8s = 'Kubernetes';
const kafka = 'Kafka';
const sse = 'SSE (Server-Sent Events)';
const tracing = 'Tracing (OpenTelemetry)';
const dlq = 'Dead Letter Queue';
const service = 'Service & OTEL';
const server = 'Server';
const redis = 'Redis';
const exec = 'Execution';
const auth = 'Auth';
const http = 'HTTP';
const ORIGIN = String.raw`https?://[A-Za-z0-9.-]+(:\d+)?`;
const rateLimiting = 'Rate limiting';
const GROUP_RATE = new RegExp(`^$|${RATE_LIMIT_PATTERN.source}`);
const GROUP_RATE_HINT = 'rate like "10/minute", or empty for RATE_LIMITS';

/**
 * Every non-secret configuration key: the seed's keys with the seed's code defaults, then the keys
 * this project adds. TOML files and INTEGR8SCODE_* env vars may set any of them.
 */
export const settingKeys = {
  // --- Core (seed) ---
  PROJECT_NAME: str('integr8scode', {
    section: core,
    minLength: 1,
    description: 'Application name for logs and metadata',
  }),
  DATABASE_NAME: str('integr8scode_db', {
    section: core,
    minLength: 1,
    description: 'MongoDB database the application reads and writes',
  }),
  ALGORITHM: oneOf(['HS256', 'HS384', 'HS512'] as const, 'HS256', {
    section: core,
    description: 'JWT signing algorithm (HMAC family; tokens signed otherwise are refused)',
  }),
  ACCESS_TOKEN_EXPIRE_MINUTES: int(1440, { section: core, min: 1, description: 'Token lifetime in minutes' }),
  MONGO_HOST: str('mongo', {
    section: core,
    minLength: 1,
    description: 'MongoDB host used to build MONGODB_URL',
  }),
  MONGO_PORT: int(27017, {
    section: core,
    min: 1,
    max: 65535,
    description: 'MongoDB port used to build MONGODB_URL',
  }),
  MONGO_DB: str('integr8scode', {
    section: core,
    minLength: 1,
    description: 'Database named in MONGODB_URL (the authentication database is admin)',
  }),
  ENVIRONMENT: oneOf(['development', 'test', 'production'] as const, 'development', {
    section: core,
    description:
      'Deployment environment; outside development/test a default or weak SECRET_KEY refuses to start',
  }),

  // --- Kubernetes (seed) ---
  KUBERNETES_CONFIG_PATH: str('~/.kube/config', {
    section: k8s,
    description: 'Path to kubeconfig (in-cluster config is used when running inside a pod)',
  }),
  KUBERNETES_CA_CERTIFICATE_PATH: str('', {
    section: k8s,
    description: 'Custom CA certificate for the Kubernetes API (empty: the kubeconfig CA)',
  }),
  K8S_POD_CPU_LIMIT: str('1000m', {
    section: k8s,
    pattern: CPU_QUANTITY,
    patternHint: 'CPU quantity like "1000m" or "0.5"',
    description: 'CPU limit per executor pod',
  }),
  K8S_POD_MEMORY_LIMIT: str('128Mi', {
    section: k8s,
    pattern: MEMORY_QUANTITY,
    patternHint: 'memory quantity like "128Mi"',
    description: 'Memory limit per executor pod',
  }),
  K8S_POD_CPU_REQUEST: str('200m', {
    section: k8s,
    pattern: CPU_QUANTITY,
    patternHint: 'CPU quantity like "200m"',
    description: 'CPU request (guaranteed) per executor pod',
  }),
  K8S_POD_MEMORY_REQUEST: str('128Mi', {
    section: k8s,
    pattern: MEMORY_QUANTITY,
    patternHint: 'memory quantity like "128Mi"',
    description: 'Memory request (guaranteed) per executor pod',
  }),
  K8S_POD_EXECUTION_TIMEOUT: int(300, {
    section: k8s,
    min: 1,
    description: 'Max execution time in seconds (wall clock)',
  }),
  K8S_NAMESPACE: str('integr8scode', {
    section: k8s,
    minLength: 1,
    description: 'Namespace for executor pods (the default namespace is refused)',
  }),
  K8S_RUNNER_IMAGE: str('ghcr.io/integr8scode/executor-runner:0.1.0', {
    section: k8s,
    minLength: 1,
    description:
      'Image holding the executor runner (backend/executor-runner); an init container copies it into each pod',
  }),
  K8S_RUNTIME_IMAGES: str(DEFAULT_RUNTIME_IMAGES, {
    section: k8s,
    pattern: RUNTIME_IMAGES_PATTERN,
    patternHint: 'comma-separated "lang/version=image" entries, e.g. "python/3.12=python:3.12-slim"',
    description: 'Runtimes the Kubernetes backend offers, each with the image it runs in',
  }),
  K8S_RUNTIME_CLASS: str('', {
    section: k8s,
    description: 'runtimeClassName of executor pods (e.g. gvisor); empty: the cluster default',
  }),
  K8S_IMAGE_PULL_POLICY: oneOf(['IfNotPresent', 'Always', 'Never'] as const, 'IfNotPresent', {
    section: k8s,
    description: 'imagePullPolicy of executor pods (pre-pull with deploy/executor/prepull-daemonset.yaml)',
  }),
  K8S_POD_EPHEMERAL_STORAGE_LIMIT: str('64Mi', {
    section: k8s,
    pattern: MEMORY_QUANTITY,
    patternHint: 'Kubernetes quantity like "64Mi"',
    description: 'ephemeral-storage limit per executor pod (its emptyDirs and logs)',
  }),
  K8S_POD_DEADLINE_SLACK_SECONDS: int(30, {
    section: k8s,
    min: 1,
    description:
      'activeDeadlineSeconds = wall limit + this; covers start-up, while the runner enforces the wall limit itself',
  }),
  K8S_UNSCHEDULABLE_TIMEOUT_SECONDS: int(120, {
    section: k8s,
    min: 1,
    description: 'How long an executor pod may stay unschedulable before its execution fails',
  }),
  K8S_MONITOR_RECONCILE_INTERVAL_SECONDS: num(30, {
    section: k8s,
    min: 0.1,
    description: 'How often the pod monitor compares pods with executions (orphans, vanished pods)',
  }),
  RATE_LIMITS: str('100/minute', {
    section: k8s,
    pattern: RATE_LIMIT_PATTERN,
    patternHint: 'rate like "100/minute" (unit second, minute, hour or day)',
    description: 'Default rate limit for API requests',
  }),

  // --- Kafka (seed) ---
  KAFKA_BOOTSTRAP_SERVERS: str('kafka:29092', {
    section: kafka,
    minLength: 1,
    description: 'Broker addresses (comma-separated host:port)',
  }),
  ENABLE_EVENT_STREAMING: bool(false, {
    section: kafka,
    description: 'Bridge execution events to SSE clients (off: SSE sends status from the database only)',
  }),
  EVENT_RETENTION_DAYS: int(30, { section: kafka, min: 1, description: 'Days to retain events in MongoDB' }),
  KAFKA_CONSUMER_GROUP_ID: str('integr8scode-backend', {
    section: kafka,
    minLength: 1,
    description: 'Consumer group ID of this process',
  }),
  KAFKA_AUTO_OFFSET_RESET: oneOf(['earliest', 'latest'] as const, 'earliest', {
    section: kafka,
    description: 'Where a consumer group with no committed offset starts',
  }),
  KAFKA_ENABLE_AUTO_COMMIT: bool(true, {
    section: kafka,
    description:
      'Commit processed offsets in the background (true) or synchronously after each batch (false); only offsets whose work finished are ever committed',
  }),
  KAFKA_AUTO_COMMIT_INTERVAL_MS: int(200, {
    section: kafka,
    min: 1,
    description:
      'With KAFKA_ENABLE_AUTO_COMMIT, least time between two background offset commits of a consumer; a crash delivers up to about this much of handled messages again',
  }),
  KAFKA_SESSION_TIMEOUT_MS: int(45000, {
    section: kafka,
    min: 1000,
    description: 'Session timeout before the group rebalances',
  }),
  KAFKA_HEARTBEAT_INTERVAL_MS: int(10000, { section: kafka, min: 100, description: 'Heartbeat frequency' }),
  KAFKA_REQUEST_TIMEOUT_MS: int(40000, { section: kafka, min: 100, description: 'Broker request timeout' }),
  KAFKA_MAX_POLL_RECORDS: int(500, {
    section: kafka,
    min: 1,
    description:
      'Max records handled per fetched batch before the next fetch (with auto commit off, their offsets are committed first)',
  }),
  KAFKA_TOPIC_PREFIX: str('', {
    section: kafka,
    description: 'Prefix for every topic name (lets several deployments or test runs share a broker)',
  }),
  KAFKA_TOPIC_PARTITIONS: int(3, {
    section: kafka,
    min: 1,
    description: 'Partitions of topics created at start',
  }),
  KAFKA_REPLICATION_FACTOR: int(1, {
    section: kafka,
    min: 1,
    description: 'Replication factor of topics created at start',
  }),
  KAFKA_CONSUMER_MAX_ATTEMPTS: int(3, {
    section: kafka,
    min: 1,
    description:
      'Attempts of a failing handler (transient errors) before the message goes to the dead-letter topic',
  }),
  KAFKA_CONSUMER_RETRY_BASE_MS: int(200, {
    section: kafka,
    min: 1,
    description: 'First backoff between handler attempts; doubles per attempt',
  }),
  KAFKA_CONSUMER_RETRY_MAX_MS: int(5000, {
    section: kafka,
    min: 1,
    description: 'Cap of the handler backoff',
  }),
  KAFKA_MAX_MESSAGE_BYTES: int(1_000_000, {
    section: kafka,
    min: 1024,
    description:
      "Largest event an execution request may become (keep below the broker's message.max.bytes): a script, stdin and args whose JSON-escaped form would exceed it are refused with 413 instead of never being published",
  }),
  KAFKA_DLQ_TOPIC: str('dead_letter_queue', {
    section: kafka,
    minLength: 1,
    description: 'Dead-letter topic for invalid messages and exhausted retries',
  }),

  // --- SSE (seed) ---
  SSE_CONSUMER_POOL_SIZE: int(10, {
    section: sse,
    min: 1,
    description: 'Concurrent Kafka partitions the API bridges to SSE clients',
  }),
  SSE_HEARTBEAT_INTERVAL: int(30, { section: sse, min: 1, description: 'Keepalive interval in seconds' }),
  SSE_MAX_STREAMS_PER_USER: int(10, {
    section: sse,
    min: 1,
    description: 'Open execution streams one user may hold at once across all API processes (more: 429)',
  }),

  // --- Tracing (seed) ---
  OTLP_TRACES_ENDPOINT: str('', {
    section: tracing,
    description: 'OTLP gRPC endpoint; tracing is enabled when non-empty',
  }),
  TRACING_SERVICE_NAME: str('integr8scode-backend', {
    section: tracing,
    minLength: 1,
    description: 'Service name in traces and logs',
  }),
  TRACING_SERVICE_VERSION: str('1.0.0', { section: tracing, description: 'Version in trace metadata' }),
  TRACING_SAMPLING_RATE: num(0.1, { section: tracing, min: 0, max: 1, description: 'Sample rate (0.0-1.0)' }),

  // --- DLQ (seed) ---
  DLQ_RETRY_MAX_ATTEMPTS: int(5, { section: dlq, min: 0, description: 'Retries before archiving' }),
  DLQ_RETRY_BASE_DELAY_SECONDS: num(60, { section: dlq, min: 0, description: 'Base delay between retries' }),
  DLQ_RETRY_MAX_DELAY_SECONDS: num(3600, { section: dlq, min: 0, description: 'Max delay (backoff cap)' }),
  DLQ_RETRY_POLICIES: str('execution=retry,pod=immediate,user=manual,default=retry', {
    section: dlq,
    pattern: DLQ_RETRY_POLICIES_PATTERN,
    patternHint:
      'comma-separated "<event category or type>=retry|immediate|manual", e.g. "pod=immediate,default=retry"',
    description:
      'Retry policy per event category (first word of the event type) or exact event type; default covers the rest (retry when absent)',
  }),
  DLQ_RETENTION_DAYS: int(7, { section: dlq, min: 1, description: 'Days to keep DLQ messages' }),
  DLQ_WARNING_THRESHOLD: int(100, { section: dlq, min: 1, description: 'Warning alert threshold' }),
  DLQ_CRITICAL_THRESHOLD: int(1000, { section: dlq, min: 1, description: 'Critical alert threshold' }),

  // --- Service & OTEL (seed) ---
  APP_URL: str('https://integr8scode.cc', { section: service, description: 'Public URL for notifications' }),
  SERVICE_NAME: str('integr8scode-backend', {
    section: service,
    minLength: 1,
    description: 'Service identifier',
  }),
  SERVICE_VERSION: str('1.0.0', { section: service, description: 'Service version' }),
  OTEL_EXPORTER_OTLP_ENDPOINT: str('', {
    section: service,
    description: 'OTLP collector endpoint for metrics (empty: metrics not exported)',
  }),
  OTEL_SERVICE_NAME: str('', {
    section: service,
    description: 'OTEL service name (empty: TRACING_SERVICE_NAME)',
  }),
  OTEL_SERVICE_VERSION: str('', {
    section: service,
    description: 'OTEL service version (empty: TRACING_SERVICE_VERSION)',
  }),
  OTEL_RESOURCE_ATTRIBUTES: str('', {
    section: service,
    pattern: /^$|^[^=,]+=[^,]*(,[^=,]+=[^,]*)*$/,
    patternHint: 'comma-separated key=value pairs',
    description: 'Additional resource attributes (key=value,key=value)',
  }),

  // --- Server (seed) ---
  WEB_CONCURRENCY: int(4, { section: server, min: 1, description: 'API worker processes' }),
  WEB_THREADS: int(1, {
    section: server,
    min: 1,
    max: 1024,
    description: 'libuv threads per API process (bcrypt and DNS run there)',
  }),
  WEB_TIMEOUT: int(60, { section: server, min: 1, description: 'Request timeout in seconds' }),
  WEB_BACKLOG: int(2048, { section: server, min: 1, description: 'TCP connection backlog' }),
  SERVER_HOST: str('localhost', { section: server, minLength: 1, description: 'Bind address' }),
  SERVER_PORT: int(8000, { section: server, min: 0, max: 65535, description: 'API port (0: any free port)' }),
  BCRYPT_ROUNDS: int(12, { section: server, min: 4, max: 31, description: 'Password hashing rounds' }),
  SHUTDOWN_TIMEOUT_SECONDS: int(30, {
    section: server,
    min: 1,
    description: 'How long SIGTERM/SIGINT waits for in-flight work before the process exits anyway',
  }),
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info', {
    section: server,
    description: 'Minimum log level',
  }),

  // --- Redis (added) ---
  REDIS_HOST: str('redis', { section: redis, minLength: 1, description: 'Redis host' }),
  REDIS_PORT: int(6379, { section: redis, min: 1, max: 65535, description: 'Redis port' }),
  REDIS_DB: int(0, { section: redis, min: 0, max: 15, description: 'Redis database index' }),
  REDIS_MAX_CONNECTIONS: int(200, {
    section: redis,
    min: 1,
    description: 'Most Redis connections one process opens (commands, pub/sub, blocking reads)',
  }),

  // --- Execution (added) ---
  EXECUTOR_BACKEND: oneOf(['local', 'kubernetes'] as const, 'local', {
    section: exec,
    description: 'Where scripts run: local bubblewrap sandbox on this host, or Kubernetes pods',
  }),
  SANDBOX_UID_BASE: int(200_000, {
    section: exec,
    min: 1,
    max: 4_294_000_000,
    description:
      'First host uid (and gid) of the local sandbox when the worker is root; no host user or group may use the range',
  }),
  SANDBOX_UID_COUNT: int(1000, {
    section: exec,
    min: 1,
    max: 65_536,
    description:
      'Host uids from SANDBOX_UID_BASE on, one per run until its processes are gone; a run finding none free fails',
  }),
  MAX_CONCURRENT_EXECUTIONS: int(10, {
    section: exec,
    min: 1,
    description: 'Executions running at once across the whole system (the queue holds the rest)',
  }),
  EXECUTION_MAX_CONCURRENT_PER_USER: int(5, {
    section: exec,
    min: 1,
    description:
      "Executions one user may run at once (an admin can override it per user); the rest of that user's work waits in the queue while others' runs go ahead",
  }),
  EXECUTION_MAX_SCRIPT_BYTES: int(256 * 1024, {
    section: exec,
    min: 1,
    description: 'Largest accepted script (UTF-8 bytes); stdin is capped at the same size',
  }),
  EXECUTION_MAX_CPU_SECONDS: num(10, {
    section: exec,
    min: 0.1,
    description: 'Most CPU time a script may use (and the default); wall time is K8S_POD_EXECUTION_TIMEOUT',
  }),
  EXECUTION_MAX_PROCESSES: int(64, {
    section: exec,
    min: 1,
    description: 'Most processes/threads a script may run at once (fork bombs stop here)',
  }),
  EXECUTION_MAX_FILE_BYTES: int(16 * 1024 * 1024, {
    section: exec,
    min: 1,
    description: 'Largest file a script may write, and the size of its private work dir',
  }),
  EXECUTION_MAX_OUTPUT_BYTES: int(256 * 1024, {
    section: exec,
    min: 1,
    max: 700 * 1024,
    description:
      'Output (stdout + stderr) kept per execution; beyond it the run ends as output_limit. Capped so the base64 result fits one Kafka message',
  }),
  EXECUTION_MAX_OUTPUT_EVENTS: int(DEFAULT_MAX_OUTPUT_EVENTS, {
    section: exec,
    min: 1,
    description:
      'Live output events per execution (each batches up to ~20 ms of one stream); after them live output stops, the result still holds all output',
  }),
  EXECUTION_LEASE_GRACE_SECONDS: int(30, {
    section: exec,
    min: 1,
    description:
      'How long past its wall limit a running execution may go unreported before it is failed as lost',
  }),
  EXECUTION_MAX_QUEUE_SECONDS: int(600, {
    section: exec,
    min: 1,
    description: 'How long an execution may wait for a slot before it fails as not scheduled',
  }),
  RECONCILE_INTERVAL_SECONDS: num(5, {
    section: exec,
    min: 0.1,
    description: 'How often the saga orchestrator looks for stuck executions and unpublished requests',
  }),
  WORKER_OUTBOX_MAX_BYTES: int(256 * 1024 * 1024, {
    section: exec,
    min: 1,
    description:
      "Most bytes of finished runs' events a worker keeps in Mongo while Kafka cannot take them; beyond it a run's command is retried instead",
  }),
  WORKER_OUTBOX_AFTER_MS: int(2000, {
    section: exec,
    min: 1,
    description:
      "How long a finished run's result may wait for Kafka before the worker keeps it in its outbox and re-sends it from there",
  }),

  // --- Auth (added) ---
  PASSWORD_MIN_LENGTH: int(8, {
    section: auth,
    min: 1,
    max: 72,
    description: 'Shortest password accepted at registration (bcrypt reads at most 72 bytes)',
  }),
  LOGIN_MAX_ATTEMPTS: int(5, {
    section: auth,
    min: 1,
    description:
      'Failed logins for one username from one client IP within LOGIN_LOCKOUT_MINUTES after which that client is locked out of it (423)',
  }),
  LOGIN_LOCKOUT_MINUTES: int(15, {
    section: auth,
    min: 1,
    description: 'Window of counted failed logins, starting at the first; a lock lasts until it ends',
  }),

  // --- HTTP (added) ---
  CORS_ORIGINS: str('', {
    section: http,
    pattern: new RegExp(`^\\s*$|^\\s*${ORIGIN}(\\s*,\\s*${ORIGIN})*\\s*$`),
    patternHint: 'comma-separated origins like "http://localhost:5173", or empty',
    description: 'Browser origins allowed to call the API with credentials (empty: no cross-origin access)',
  }),
  MAX_REQUEST_BODY_BYTES: int(10 * 1024 * 1024, {
    section: http,
    min: 1,
    description:
      'Ceiling on any request body (413 above it); routes have lower limits: 16 KiB for account and admin JSON',
  }),

  // --- Rate limiting (added) ---
  RATE_LIMIT_ENABLED: bool(true, {
    section: rateLimiting,
    description: 'Limit API requests per user (per client IP when anonymous), counted in Redis',
  }),
  RATE_LIMIT_EXECUTE: str('10/minute', {
    section: rateLimiting,
    pattern: GROUP_RATE,
    patternHint: GROUP_RATE_HINT,
    description: 'Limit of POST /execute and /executions/{id}/retry (empty: RATE_LIMITS)',
  }),
  RATE_LIMIT_AUTH: str('20/minute', {
    section: rateLimiting,
    pattern: GROUP_RATE,
    patternHint: GROUP_RATE_HINT,
    description: 'Limit of /auth/* (empty: RATE_LIMITS)',
  }),
  RATE_LIMIT_ADMIN: str('100/minute', {
    section: rateLimiting,
    pattern: GROUP_RATE,
    patternHint: GROUP_RATE_HINT,
    description: 'Limit of /admin/* (empty: RATE_LIMITS)',
  }),
  RATE_LIMIT_SSE: str('5/minute', {
    section: rateLimiting,
    pattern: GROUP_RATE,
    patternHint: GROUP_RATE_HINT,
    description: 'Limit of opening /events/* streams (empty: RATE_LIMITS)',
  }),
  RATE_LIMIT_REDIS_FAILURE: oneOf(['open', 'closed'] as const, 'open', {
    section: rateLimiting,
    description: 'When Redis is unreachable: open lets requests through (and logs), closed answers 503',
  }),
  RATE_LIMIT_KEY_PREFIX: str('ratelimit:', {
    section: rateLimiting,
    description: 'Prefix of the Redis counter keys (lets several deployments or test runs share a Redis)',
  }),
  TRUSTED_PROXIES: str('', {
    section: rateLimiting,
    pattern: /^\s*$|^\s*[0-9A-Za-z:./]+(\s*,\s*[0-9A-Za-z:./]+)*\s*$/,
    patternHint: 'comma-separated IPs or CIDRs (or loopback, linklocal, uniquelocal)',
    description:
      'Proxies whose X-Forwarded-For is believed for the client IP (empty: trust none, use the socket address)',
  }),
} satisfies Record<string, KeySpec<unknown>>;

export type SettingKey = keyof typeof settingKeys;
export type SettingValues = {
  -readonly [K in SettingKey]: (typeof settingKeys)[K]['default'];
};

/** Secrets: env vars only, never TOML, with dev defaults so local development needs no setup. */
export const secretKeys = {
  SECRET_KEY: {
    default: 'CHANGE_ME_min_32_chars_long_!!!!',
    minLength: 32,
    description: 'JWT signing key, at least 32 characters; a random one is required outside development/test',
  },
  MONGO_USER: {
    default: 'root',
    minLength: 0,
    description: 'MongoDB username (set to the empty string for a server without authentication)',
  },
  MONGO_PASSWORD: { default: 'rootpassword', minLength: 0, description: 'MongoDB password' },
  REDIS_PASSWORD: {
    default: 'redispassword',
    minLength: 0,
    description: 'Redis password (empty: no AUTH)',
  },
} as const;

export type SecretKey = keyof typeof secretKeys;
export const ENV_PREFIX = 'INTEGR8SCODE_';
