import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError, type AppErrorCode } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';

const STATUS: Record<AppErrorCode, number> = {
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

/** The JSON error body every failing response has: what went wrong and a stable type. */
export interface ErrorBody {
  detail: string;
  type: AppErrorCode;
  errors?: unknown;
  [field: string]: unknown;
}

export function statusOf(code: AppErrorCode): number {
  return STATUS[code];
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('not_found', `No route for ${req.method} ${req.path}`));
};

/** Turns body-parser's own errors (bad JSON, too large) into AppErrors with a useful message. */
function fromFrameworkError(err: unknown): AppError | undefined {
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  if (e.type === 'entity.parse.failed') {
    return new AppError('bad_request', `Malformed JSON body: ${e.message ?? 'cannot parse'}`);
  }
  if (e.type === 'entity.too.large') {
    return new AppError(
      'payload_too_large',
      `Request body exceeds the limit of ${e.limit ?? '?'} bytes for this route; send a smaller body`,
    );
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError('bad_request', e.message ?? 'Bad request');
  }
  return undefined;
}

/** The central error handler of the HTTP edge: logs, maps to a status, never leaks internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const appError = fromFrameworkError(err) ?? AppError.from(err);
    const log = (req as { log?: Logger }).log ?? logger;
    if (appError.operational) log.info({ code: appError.code, detail: appError.message }, 'request failed');
    else log.error({ err }, 'request failed unexpectedly');
    const body: ErrorBody = {
      ...(appError.operational ? appError.fields : undefined),
      detail: appError.operational ? appError.message : 'Internal server error',
      type: appError.code,
    };
    if (appError.operational && appError.details !== undefined) body.errors = appError.details;
    if (res.headersSent) return;
    // A body still on its way (refused unread, or too large): close rather than read it to the end.
    if (!req.complete) res.setHeader('Connection', 'close');
    if (typeof body.retry_after === 'number') res.setHeader('Retry-After', String(body.retry_after));
    res.status(statusOf(appError.code)).json(body);
  };
}
