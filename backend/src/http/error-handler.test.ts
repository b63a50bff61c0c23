import express, { type Express } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError, type AppErrorCode } from '../platform/errors/app-error.js';
import { createLogger, type Logger } from '../platform/logging/logger.js';
import { createApp } from './app.js';
import { errorHandler, notFoundHandler, statusOf } from './error-handler.js';
import { HttpServer } from './http-server.js';

const quietLogger = (): Logger => createLogger({ service: 'http-test', version: '0', level: 'silent' });

const servers: HttpServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

/** Serves `app` on a free loopback port and returns its base URL. */
async function serve(app: Express, logger: Logger = quietLogger()): Promise<string> {
  const server = new HttpServer({
    app,
    host: '127.0.0.1',
    port: 0,
    backlog: 16,
    requestTimeoutMs: 5_000,
    logger,
  });
  servers.push(server);
  await server.start();
  return `http://127.0.0.1:${server.port}`;
}

describe('createApp error responses', () => {
  it('when a JSON body is posted where no route takes one, then it is 404 whatever the body holds', async () => {
    const base = await serve(createApp({ logger: quietLogger(), healthChecks: [], bodyLimitBytes: 100 }));
    for (const body of [
      JSON.stringify({ padding: 'x'.repeat(200) }),
      '{"unterminated": ',
      '['.repeat(1000),
    ]) {
      const res = await fetch(`${base}/api/v1/health/live`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { type: string }).type).toBe('not_found');
    }
  });

  it('when no route matches, then the answer is 404 JSON naming the method and path', async () => {
    const base = await serve(createApp({ logger: quietLogger(), healthChecks: [] }));
    const res = await fetch(`${base}/api/v1/no-such-thing?x=1`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(await res.json()).toEqual({ detail: 'No route for GET /api/v1/no-such-thing', type: 'not_found' });
  });
});

describe('statusOf', () => {
  it("when given each AppErrorCode, then it returns that code's HTTP status", () => {
    // A Record over the union makes the compiler fail this file when a code is added without a row.
    const expected: Record<AppErrorCode, number> = {
      validation: 422,
      not_found: 404,
      conflict: 409,
      unauthorized: 401,
      forbidden: 403,
      locked: 423,
      rate_limited: 429,
      payload_too_large: 413,
      bad_request: 400,
      dependency_unavailable: 503,
      internal: 500,
    };
    for (const [code, status] of Object.entries(expected) as Array<[AppErrorCode, number]>) {
      expect(statusOf(code), code).toBe(status);
    }
  });
});

describe('errorHandler', () => {
  function appWith(mount: (app: Express) => void, logger: Logger): Express {
    const app = express();
    mount(app);
    app.use(notFoundHandler);
    app.use(errorHandler(logger));
    return app;
  }

  it('when a route throws a plain Error, then the answer is 500 without its message and the error is logged', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({
      service: 'http-test',
      version: '0',
      level: 'info',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    });
    const app = appWith((a) => {
      a.get('/sync', () => {
        throw new Error('secret internals');
      });
      a.get('/async', () => Promise.reject(new Error('secret internals')));
    }, logger);
    const base = await serve(app);
    for (const path of ['/sync', '/async']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(500);
      const text = await res.text();
      expect(text, path).not.toContain('secret internals');
      expect(JSON.parse(text), path).toEqual({ detail: 'Internal server error', type: 'internal' });
    }
    const logged = lines.filter((l) => l.msg === 'request failed unexpectedly');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 'error', err: { message: 'secret internals' } });
  });

  it('when a route throws an operational AppError with details, then its status, message and details are sent', async () => {
    const app = appWith((a) => {
      a.get('/taken', () => {
        throw new AppError('conflict', 'Username already taken', { details: [{ field: 'username' }] });
      });
    }, quietLogger());
    const base = await serve(app);
    const res = await fetch(`${base}/taken`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      detail: 'Username already taken',
      type: 'conflict',
      errors: [{ field: 'username' }],
    });
  });

  it('when a route throws a non-operational AppError, then neither its message nor its details are sent', async () => {
    const app = appWith((a) => {
      a.get('/broken', () => {
        throw new AppError('internal', 'invariant broken in ledger', { details: { row: 7 } });
      });
    }, quietLogger());
    const base = await serve(app);
    const res = await fetch(`${base}/broken`);
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ detail: 'Internal server error', type: 'internal' });
  });
});
