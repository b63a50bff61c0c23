import { request as httpRequest } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { executeBodyLimit, MAX_JSON_DEPTH, SMALL_JSON_BYTES } from '../../src/http/body.js';
import { ApiHarness, bearer, type ErrorBody } from '../auth/api-harness.js';

const MB8 = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;

interface RawAnswer {
  status: number;
  body: ErrorBody;
  /** Body bytes written before the answer came (the server never needed the rest). */
  sent: number;
}

/**
 * Sends `total` bytes of `[` (or `fill`) in 64 KiB chunks, declared by Content-Length unless
 * `chunked`, and stops writing as soon as the answer arrives; the write side's errors after the
 * answer (the server closing its end) are expected and ignored.
 */
function sendBody(
  url: string,
  {
    method = 'POST',
    total = MB8,
    chunked = false,
    headers = {},
  }: { method?: string; total?: number; chunked?: boolean; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = false;
    const req = httpRequest(
      url,
      {
        method,
        headers: {
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': String(total) }),
          ...headers,
        },
      },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorBody, sent });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(CHUNK, '[');
    const pump = (): void => {
      while (!answered && sent < total) {
        const piece = chunk.subarray(0, Math.min(CHUNK, total - sent));
        sent += piece.length;
        if (!req.write(piece)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });
}

const origin = (h: ApiHarness): string => h.base.replace(/\/api\/v1$/, '');

describe('request bodies: parsed only by routes that take them, with limits checked while reading', () => {
  const h = new ApiHarness();

  beforeAll(() => h.start());
  afterAll(() => h.stop());
  afterEach(() => vi.restoreAllMocks());

  it('when 8 MB of nested [ go to an unknown path, then it is 404 before the body is read', async () => {
    for (const url of [`${h.base}/nope`, `${origin(h)}/not-the-api`]) {
      const res = await sendBody(url);
      expect(res.status).toBe(404);
      expect(res.body.type).toBe('not_found');
      expect(res.sent).toBeLessThan(MB8);
    }
  });

  it('when 8 MB of nested [ are declared to login, then it is 413 naming the route limit, before the body is read', async () => {
    const res = await sendBody(`${h.base}/auth/login`);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      detail: `Request body exceeds the limit of ${SMALL_JSON_BYTES} bytes for this route; send a smaller body`,
      type: 'payload_too_large',
    });
    expect(res.sent).toBeLessThan(MB8);
  });

  it('when nested [ stream to login without a length, then it is 400 naming the depth limit after the first chunk', async () => {
    const res = await sendBody(`${h.base}/auth/login`, { chunked: true });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      detail: `JSON body nests arrays or objects deeper than ${MAX_JSON_DEPTH} levels; flatten it`,
      type: 'bad_request',
    });
    expect(res.sent).toBeLessThan(MB8);
  });

  it('when a small well-formed body nests too deep, then it is refused before JSON.parse sees it', async () => {
    const parse = vi.spyOn(JSON, 'parse');
    const deep = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const res = await fetch(`${h.base}/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: deep,
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).detail).toMatch(/deeper than 32 levels/);
    expect(parse.mock.calls.some(([text]) => typeof text === 'string' && text.startsWith('[[['))).toBe(false);
  });

  it('when brackets sit inside JSON strings, then they do not count as nesting', async () => {
    const res = await h.request('POST', '/auth/login', {
      body: { username: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[', password: `{${'['.repeat(100)}\\"` },
    });
    expect(res.status).toBe(401);
  });

  it('when deep bodies are being sent, then liveness answers and the event loop is never blocked for long', async () => {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const attacks = [
      sendBody(`${h.base}/nope`),
      sendBody(`${h.base}/auth/login`, { chunked: true }),
      sendBody(`${h.base}/auth/register`),
    ];
    const live = await fetch(`${h.base}/health/live`);
    expect(live.status).toBe(200);
    expect((await Promise.all(attacks)).map((a) => a.status)).toEqual([404, 400, 413]);
    delay.disable();
    // Parsing one such body took 0.7-2.5 s; here nothing is parsed. Generous for a shared CI core.
    expect(delay.max / 1e6).toBeLessThan(500);
  });

  it('when a login body is larger than the route limit but far below the ceiling, then it is 413', async () => {
    const res = await h.request('POST', '/auth/login', {
      body: { username: 'someone', password: 'x'.repeat(SMALL_JSON_BYTES) },
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).detail).toContain(`limit of ${SMALL_JSON_BYTES} bytes`);
  });

  it('when the JSON body is malformed, then a JSON 400 says so', async () => {
    const res = await fetch(`${h.base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"username": ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.type).toBe('bad_request');
    expect(body.detail).toMatch(/^Malformed JSON body: /);
  });

  it('when a body is sent to a route that takes none, then it is not parsed', async () => {
    const res = await fetch(`${h.base}/health/live`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"script": ',
    });
    expect(res.status).toBe(404);
  });

  it('when an execute body exceeds the script limit plus envelope, then it is 413; anonymous callers are refused before it is read', async () => {
    const limit = executeBodyLimit(h.settings.EXECUTION_MAX_SCRIPT_BYTES);
    const anonymous = await sendBody(`${h.base}/execute`, { total: limit + 1 });
    expect(anonymous.status).toBe(401);

    const session = await h.login((await h.register()).credentials);
    const res = await sendBody(`${h.base}/execute`, {
      total: limit + 1,
      headers: bearer(session.access_token),
    });
    expect(res.status).toBe(413);
    expect(res.body.detail).toContain(`limit of ${limit} bytes`);
  });
});
