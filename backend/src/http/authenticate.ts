import type { Request, RequestHandler } from 'express';
import { AppError } from '../platform/errors/app-error.js';
import type { AuthService, Session } from '../users/auth-service.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `authenticate` on the routes it guards. */
    authSession?: Session;
  }
}

export const ACCESS_TOKEN_COOKIE = 'access_token';

/** The value of one cookie from a raw Cookie header; undefined when absent or badly encoded. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      return decodeURIComponent(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The bearer token of a request: the Authorization header first, else the access_token cookie. */
export function tokenOf(req: Request): string | undefined {
  const authorization = req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  const cookie = readCookie(req.header('cookie'), ACCESS_TOKEN_COOKIE);
  return cookie === '' ? undefined : cookie;
}

/** Guards a route: a valid, unrevoked token of an existing, active user, else 401. */
export function authenticate(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const token = tokenOf(req);
    if (token === undefined) throw new AppError('unauthorized', 'Not authenticated');
    // identify() may already have verified this very token earlier in the chain.
    req.authSession ??= await auth.currentUser(token);
    req.log = req.log.child({ user_id: req.authSession.user.id });
    next();
  };
}

/** The session `authenticate` put on the request; a route without the guard is a bug. */
export function sessionOf(req: Request): Session {
  if (req.authSession === undefined)
    throw new AppError('internal', 'route reads the session without authenticate()');
  return req.authSession;
}

/**
 * Attaches the session when the request carries a valid token, and lets it through either way:
 * for middleware that must know the caller before the route decides (rate-limit keys, CSRF).
 */
export function identify(auth: AuthService): RequestHandler {
  return async (req, _res, next) => {
    const token = tokenOf(req);
    if (token !== undefined) {
      try {
        req.authSession = await auth.currentUser(token);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'unauthorized') throw err;
      }
    }
    next();
  };
}

/** Guards a route for one role (after `authenticate`): 403 for any other role. */
export function requireRole(role: 'admin' | 'user'): RequestHandler {
  return (req, _res, next) => {
    if (sessionOf(req).user.role !== role) {
      throw new AppError('forbidden', `This action requires the ${role} role`);
    }
    next();
  };
}
