import express, { type Request, type RequestHandler } from 'express';
import { AppError } from '../platform/errors/app-error.js';

/** Arrays and objects nested deeper than this are refused before JSON.parse sees the body. */
export const MAX_JSON_DEPTH = 32;
/** The body limit of account and admin routes: a few short fields. */
export const SMALL_JSON_BYTES = 16 * 1024;

export interface BodyLimits {
  limitBytes: number;
  maxDepth?: number;
}

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Follows the nesting depth of JSON text chunk by chunk, outside strings, so a body of nested
 * `[` is refused after `maxDepth + 1` bytes instead of costing JSON.parse seconds of event loop.
 * Byte-wise is safe for UTF-8: bytes of multi-byte characters never look like ASCII.
 */
export class JsonDepthScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxDepth: number) {}

  /** False as soon as the text so far nests deeper than `maxDepth`. */
  accept(chunk: Uint8Array): boolean {
    for (const byte of chunk) {
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === BACKSLASH) this.escaped = true;
        else if (byte === QUOTE) this.inString = false;
      } else if (byte === QUOTE) this.inString = true;
      else if (byte === OPEN_BRACKET || byte === OPEN_BRACE) {
        if (++this.depth > this.maxDepth) return false;
      } else if (byte === CLOSE_BRACKET || byte === CLOSE_BRACE) this.depth--;
    }
    return true;
  }
}

function tooLarge(limitBytes: number): AppError {
  return new AppError(
    'payload_too_large',
    `Request body exceeds the limit of ${limitBytes} bytes for this route; send a smaller body`,
  );
}

function tooDeep(maxDepth: number): AppError {
  return new AppError(
    'bad_request',
    `JSON body nests arrays or objects deeper than ${maxDepth} levels; flatten it`,
  );
}

/** Reads the raw body up to `limitBytes`, refusing on the first chunk that nests too deep. */
async function readJson(req: Request, limitBytes: number, maxDepth: number): Promise<string> {
  const declared = Number(req.header('content-length'));
  if (Number.isFinite(declared) && declared > limitBytes) throw tooLarge(limitBytes);
  const scanner = new JsonDepthScanner(maxDepth);
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (!scanner.accept(chunk)) throw tooDeep(maxDepth);
      received += chunk.length;
      if (received > limitBytes) throw tooLarge(limitBytes);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('bad_request', 'The request body ended before it was complete', { cause: err });
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses an `application/json` body for one route: at most `limitBytes` (and never more than the
 * app-wide ceiling) and `maxDepth` levels deep, checked while reading. Other content types leave
 * `req.body` undefined, which the route's validation reports. Compressed bodies are refused: their
 * size on the wire says nothing about the size after inflating.
 */
export function jsonBody({ limitBytes, maxDepth = MAX_JSON_DEPTH }: BodyLimits): RequestHandler {
  return async (req, _res, next) => {
    if (req.body !== undefined || !req.is('application/json')) return next();
    const encoding = (req.header('content-encoding') ?? 'identity').toLowerCase();
    if (encoding !== 'identity') {
      throw new AppError(
        'bad_request',
        `Content-Encoding ${encoding} is not accepted; send the body uncompressed`,
      );
    }
    const text = await readJson(req, limitBytes, maxDepth);
    if (text.trim() === '') return next();
    try {
      req.body = JSON.parse(text) as unknown;
    } catch (err) {
      throw new AppError('bad_request', `Malformed JSON body: ${(err as Error).message}`);
    }
    next();
  };
}

/** A flat `application/x-www-form-urlencoded` body (`a[b]=c` stays a plain key), up to `limitBytes`. */
export function formBody({ limitBytes }: BodyLimits): RequestHandler {
  return express.urlencoded({ extended: false, limit: limitBytes });
}

/** The execute route's limit: script and stdin (each up to the script limit, ×2 for JSON escapes) plus 64 KiB. */
export function executeBodyLimit(maxScriptBytes: number): number {
  return 4 * maxScriptBytes + 64 * 1024;
}
