import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logging/logger.js';
import { executeBodyLimit, formBody, jsonBody, JsonDepthScanner } from './body.js';
import { errorHandler } from './error-handler.js';

describe('JsonDepthScanner', () => {
  const accepts = (max: number, ...chunks: string[]): boolean => {
    const scanner = new JsonDepthScanner(max);
    return chunks.every((c) => scanner.accept(Buffer.from(c)));
  };

  it('when arrays and objects nest up to the limit, then the text is accepted; one level more is not', () => {
    expect(accepts(3, '{"a":[{"b":1}]}')).toBe(true);
    expect(accepts(3, '{"a":[{"b":[1]}]}')).toBe(false);
  });

  it('when closed levels are followed by new ones, then only the current depth counts', () => {
    expect(accepts(2, '[[1],[2],{"a":3},[4]]')).toBe(true);
  });

  it('when the nesting continues in the next chunk, then the depth carries over', () => {
    expect(accepts(3, '[[', '[1]]]')).toBe(true);
    expect(accepts(3, '[[', '[[1]]]]')).toBe(false);
  });

  it('when brackets are inside strings, escaped quotes included, then they are not nesting', () => {
    expect(accepts(1, JSON.stringify(['[[[\\"{{{', '\\', '"[[[']))).toBe(true);
    // A string that ends in the next chunk, right after an escape split across chunks.
    expect(accepts(1, '["a\\', '"[[[["]')).toBe(true);
  });

  it('when a UTF-8 character has bytes above 0x7f, then they never count as brackets', () => {
    expect(accepts(1, '["ſ{ū[", "日本"]')).toBe(true);
  });
});

describe('executeBodyLimit', () => {
  it('when the script limit is 256 KiB, then script and stdin fit twice over (JSON escapes) plus 64 KiB', () => {
    expect(executeBodyLimit(256 * 1024)).toBe(4 * 256 * 1024 + 64 * 1024);
  });
});

describe('jsonBody and formBody on a route', () => {
  let server: Server;
  let base = '';

  beforeAll(async () => {
    const app = express();
    const limits = { limitBytes: 64, maxDepth: 4 };
    app.post('/echo', jsonBody(limits), formBody(limits), (req, res) => {
      res.json({ body: req.body as unknown });
    });
    app.use(errorHandler(createLogger({ service: 'body-test', version: '0', level: 'silent' })));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const post = (body: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  it('when the body is small and shallow, then the route sees it parsed', async () => {
    const res = await post('{"a":[1,{"b":2}]}');
    expect(await res.json()).toEqual({ body: { a: [1, { b: 2 }] } });
  });

  it('when the body exceeds the limit, then it is 413 naming the limit', async () => {
    const res = await post(JSON.stringify({ padding: 'x'.repeat(100) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      detail: 'Request body exceeds the limit of 64 bytes for this route; send a smaller body',
      type: 'payload_too_large',
    });
  });

  it('when the body nests deeper than the limit, then it is 400 naming the depth', async () => {
    const res = await post('[[[[[1]]]]]');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      detail: 'JSON body nests arrays or objects deeper than 4 levels; flatten it',
      type: 'bad_request',
    });
  });

  it('when the body is malformed, then it is 400 saying so', async () => {
    const res = await post('{"unterminated": ');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/^Malformed JSON body: /);
  });

  it('when the body is compressed, then it is 400 asking for it uncompressed', async () => {
    const res = await post('{}', { 'content-encoding': 'gzip' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { detail: string }).detail).toBe(
      'Content-Encoding gzip is not accepted; send the body uncompressed',
    );
  });

  it('when the body is a form, then its fields stay flat', async () => {
    const res = await post('a[b]=c&d=e', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(await res.json()).toEqual({ body: { 'a[b]': 'c', d: 'e' } });
  });

  it('when the body is empty, then the route sees no body', async () => {
    const res = await post('');
    expect(await res.json()).toEqual({});
  });
});
