import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app.js';
import { HttpServer } from '../../src/http/http-server.js';
import { createApiProcess, type ApiProcess } from '../../src/http/api-process.js';
import { kafkaHealth, mongoHealth, redisHealth } from '../../src/platform/health/dependency-checks.js';
import { createKafka } from '../../src/platform/kafka/client.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { RedisConnections } from '../../src/platform/redis/redis-connections.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

describe('API process against the real servers', () => {
  const settings = testSettings({ INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `it.${uniqueSuffix()}.` });
  let api: ApiProcess;
  let base: string;

  beforeAll(async () => {
    api = createApiProcess(settings, testLogger());
    await api.host.start();
    base = `http://127.0.0.1:${api.http.port}/api/v1`;
  });
  afterAll(() => api.host.stop());

  it('when liveness is asked, then it answers ok', async () => {
    const res = await fetch(`${base}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('when Mongo, Redis and Kafka all answer, then readiness is 200 with each check ok', async () => {
    const res = await fetch(`${base}/health/ready`);
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
    expect(res.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(Object.fromEntries(Object.entries(body.checks).map(([k, v]) => [k, v.status]))).toEqual({
      mongo: 'ok',
      redis: 'ok',
      kafka: 'ok',
    });
  });

  it('when a route does not exist, then a JSON 404 names the method and path', async () => {
    const res = await fetch(`${base}/nope?x=1`, { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'No route for DELETE /api/v1/nope', type: 'not_found' });
  });

  it('when a request carries an X-Request-ID, then the response echoes it', async () => {
    const res = await fetch(`${base}/health/live`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
  });
});

describe('readiness with a dependency down', () => {
  const settings = testSettings();
  const logger = testLogger();
  const mongo = new MongoConnection({ url: settings.MONGODB_URL, dbName: `it_${uniqueSuffix()}`, logger });
  const redis = new RedisConnections({
    host: settings.REDIS_HOST,
    port: settings.REDIS_PORT,
    db: 0,
    password: settings.REDIS_PASSWORD,
    maxConnections: 5,
    logger,
  });
  // A broker address where nothing listens: a real client that cannot reach Kafka.
  const deadKafka = createKafka(
    { KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:1', KAFKA_REQUEST_TIMEOUT_MS: 500, TRACING_SERVICE_NAME: 'it' },
    logger,
  ).admin({ retry: { retries: 0 } });
  let http: HttpServer;

  beforeAll(async () => {
    await Promise.all([mongo.start(), redis.start()]);
    http = new HttpServer({
      app: createApp({
        logger,
        healthChecks: [mongoHealth(mongo), redisHealth(redis), kafkaHealth(deadKafka)],
        healthTimeoutMs: 1_500,
      }),
      host: '127.0.0.1',
      port: 0,
      backlog: 16,
      requestTimeoutMs: 5_000,
      logger,
    });
    await http.start();
  });
  afterAll(async () => {
    await http.stop();
    await Promise.all([mongo.stop(), redis.stop()]);
  });

  it('when Kafka does not answer, then readiness is 503 naming kafka and the others stay ok', async () => {
    const res = await fetch(`http://127.0.0.1:${http.port}/api/v1/health/ready`);
    const body = (await res.json()) as {
      detail: string;
      type: string;
      checks: Record<string, { status: string }>;
    };
    expect(res.status).toBe(503);
    expect(body.type).toBe('dependency_unavailable');
    expect(body.detail).toMatch(/^Not ready: kafka \(.+\) unavailable$/);
    expect(body.checks.mongo?.status).toBe('ok');
    expect(body.checks.redis?.status).toBe('ok');
    expect(body.checks.kafka?.status).toBe('down');
  });

  it('when Redis goes away after start, then readiness reports redis down', async () => {
    await redis.stop();
    const res = await fetch(`http://127.0.0.1:${http.port}/api/v1/health/ready`);
    const body = (await res.json()) as { checks: Record<string, { status: string }> };
    expect(res.status).toBe(503);
    expect(body.checks.redis?.status).toBe('down');
  });
});
