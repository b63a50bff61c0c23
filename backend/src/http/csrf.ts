import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../platform/errors/app-error.js';
import type { TokenService } from '../users/token-service.js';
import { ACCESS_TOKEN_COOKIE, readCookie } from './authenticate.js';

export const CSRF_COOKIE = 'csrf_token';
export const CSRF_HEADER = 'x-csrf-token';
const CSRF_REFUSED = 'CSRF token missing or invalid';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Double-submit CSRF tokens bound to one access token: HMAC-SHA256(secret, "csrf:" + jti),
 * base64url. A page on another site can make the browser send the cookie but can neither read the
 * csrf_token cookie nor compute the HMAC, so it cannot fill in the X-CSRF-Token header.
 */
export class CsrfTokens {
  constructor(private readonly secret: string) {}

  /** `binding` is the access token's jti, or the raw token when it cannot be verified. */
  issue(binding: string): string {
    return createHmac('sha256', this.secret).update(`csrf:${binding}`).digest('base64url');
  }

  /** Constant-time comparison of the presented token with the one `binding` yields. */
  verify(binding: string, presented: string | undefined): boolean {
    if (presented === undefined || presented === '') return false;
    const expected = Buffer.from(this.issue(binding));
    const given = Buffer.from(presented);
    // timingSafeEqual needs equal lengths; the length of a public-format token is no secret.
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

export interface CsrfProtectionOptions {
  csrf: CsrfTokens;
  tokens: TokenService;
  /** Paths (relative to the mount point) that take no session and must stay usable: login, register. */
  exemptPaths: readonly string[];
}

/**
 * Checks X-CSRF-Token on mutating requests authenticated by the access_token cookie. Requests with
 * an Authorization header are exempt (a browser never adds one on its own, and `tokenOf` then
 * ignores the cookie); requests without the cookie carry no credentials, so there is nothing to forge.
 */
export function csrfProtection({ csrf, tokens, exemptPaths }: CsrfProtectionOptions): RequestHandler {
  const exempt = new Set(exemptPaths);
  return (req, _res, next) => {
    if (!MUTATING.has(req.method) || exempt.has(req.path)) return next();
    if (req.header('authorization') !== undefined) return next();
    const cookie = readCookie(req.header('cookie'), ACCESS_TOKEN_COOKIE);
    if (cookie === undefined || cookie === '') return next();
    let binding = cookie;
    try {
      binding = req.authSession?.token.jti ?? tokens.verify(cookie).jti;
    } catch {
      // An invalid token authenticates nothing; binding to the raw token keeps the check uniform.
    }
    if (!csrf.verify(binding, req.header(CSRF_HEADER))) throw new AppError('forbidden', CSRF_REFUSED);
    next();
  };
}
