import type { RequestHandler } from 'express';
import { CSRF_HEADER } from './csrf.js';

/** Parses CORS_ORIGINS ("a, b") into the exact origins allowed; empty means none. */
export function parseOrigins(value: string): string[] {
  return value
    .split(',')
    .map((o) => o.trim().replace(/\/+$/, ''))
    .filter((o) => o !== '');
}

/**
 * CORS for an explicit list of origins, with credentials (the cookie) allowed. Any other origin
 * gets no CORS headers at all, so the browser keeps it from reading responses; preflights of
 * listed origins are answered here with 204.
 */
export function corsFor(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.header('origin');
    if (origin === undefined || !allowed.has(origin)) return next();
    res.vary('Origin');
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS' && req.header('access-control-request-method') !== undefined) {
      res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE');
      res.setHeader(
        'Access-Control-Allow-Headers',
        `Content-Type, Authorization, X-Request-ID, ${CSRF_HEADER}`,
      );
      res.setHeader('Access-Control-Max-Age', '600');
      res.status(204).end();
      return;
    }
    next();
  };
}

/** API answers are per user and often secret: no browser or proxy cache may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};
