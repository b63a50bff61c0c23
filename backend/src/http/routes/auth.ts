import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AuthService, RequestOrigin } from '../../users/auth-service.js';
import type { IssuedToken } from '../../users/token-service.js';
import { toPublicUser } from '../../users/user.js';
import { ACCESS_TOKEN_COOKIE, authenticate, sessionOf } from '../authenticate.js';
import { ipKeyGenerator } from 'express-rate-limit';
import { formBody, jsonBody } from '../body.js';
import { CSRF_COOKIE, type CsrfTokens } from '../csrf.js';
import { parseInput } from '../validate.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  passwordMinLength: number;
  /** Mark the cookie Secure (HTTPS only); off for local http development and tests. */
  secureCookie: boolean;
  csrf: CsrfTokens;
  /** Largest login, register or password-change body. */
  bodyLimitBytes: number;
}

export const Username = z
  .string()
  .min(3)
  .max(50)
  .regex(/^[A-Za-z0-9_.-]+$/, 'Only letters, digits, "_", "." and "-" are allowed');

// bcrypt reads at most 72 bytes; longer passwords would silently match on their prefix.
const MAX_PASSWORD_BYTES = 72;

/** The password rule of registration and admin resets. */
export function passwordField(passwordMinLength: number) {
  return z
    .string()
    .min(passwordMinLength)
    .refine((p) => Buffer.byteLength(p) <= MAX_PASSWORD_BYTES, `Must be at most ${MAX_PASSWORD_BYTES} bytes`);
}

export const Email = z.email().max(254);

function registerBody(passwordMinLength: number) {
  return z.object({ username: Username, email: Email, password: passwordField(passwordMinLength) });
}

const LoginBody = z.object({ username: z.string().min(1).max(50), password: z.string().min(1).max(1024) });

function originOf(req: Request): RequestOrigin {
  if (req.ip === undefined) return { correlationId: req.id };
  // An IPv6 client owns a whole network: count its failed logins by /56, as the rate limiter does.
  return { correlationId: req.id, ip: req.ip, client: ipKeyGenerator(req.ip) };
}

/** POST /auth/register, /auth/login, /auth/password, /auth/logout and GET /auth/me. */
export function authRoutes(options: AuthRoutesOptions): Router {
  const { auth, passwordMinLength, secureCookie, csrf } = options;
  const router = Router();
  const RegisterBody = registerBody(passwordMinLength);
  const PasswordChangeBody = z.object({
    current_password: z.string().min(1).max(1024),
    new_password: passwordField(passwordMinLength),
  });
  const json = jsonBody({ limitBytes: options.bodyLimitBytes });
  const form = formBody({ limitBytes: options.bodyLimitBytes });
  const cookieOptions = { httpOnly: true, sameSite: 'strict', path: '/', secure: secureCookie } as const;

  // Readable by the page's script (not httpOnly): it copies the value into X-CSRF-Token.
  const csrfCookieOptions = { ...cookieOptions, httpOnly: false } as const;

  function setTokenCookies(res: Response, token: IssuedToken, csrfToken: string): void {
    const maxAge = token.expiresInSeconds * 1000;
    res.cookie(ACCESS_TOKEN_COOKIE, token.token, { ...cookieOptions, maxAge });
    res.cookie(CSRF_COOKIE, csrfToken, { ...csrfCookieOptions, maxAge });
  }

  router.post('/auth/register', json, form, async (req, res) => {
    const input = parseInput(RegisterBody, req.body);
    const user = await auth.register(input, originOf(req));
    res.status(201).json(toPublicUser(user));
  });

  // JSON or an OAuth2 password-style form (application/x-www-form-urlencoded).
  router.post('/auth/login', json, form, async (req, res) => {
    const { username, password } = parseInput(LoginBody, req.body);
    const { user, token } = await auth.login(username, password, originOf(req));
    const csrfToken = csrf.issue(token.jti);
    setTokenCookies(res, token, csrfToken);
    res.json({
      access_token: token.token,
      token_type: 'bearer',
      csrf_token: csrfToken,
      expires_in: token.expiresInSeconds,
      user: toPublicUser(user),
    });
  });

  router.get('/auth/me', authenticate(auth), (req, res) => {
    res.json(toPublicUser(sessionOf(req).user));
  });

  // Every session of the user ends, this one too: the client logs in again with the new password.
  router.post('/auth/password', authenticate(auth), json, async (req, res) => {
    const input = parseInput(PasswordChangeBody, req.body);
    await auth.changePassword(sessionOf(req), input.current_password, input.new_password);
    res.clearCookie(ACCESS_TOKEN_COOKIE, cookieOptions);
    res.clearCookie(CSRF_COOKIE, csrfCookieOptions);
    res.json({ detail: 'Password changed; every session has ended, log in again' });
  });

  router.post('/auth/logout', authenticate(auth), async (req, res) => {
    await auth.logout(sessionOf(req), originOf(req));
    res.clearCookie(ACCESS_TOKEN_COOKIE, cookieOptions);
    res.clearCookie(CSRF_COOKIE, csrfCookieOptions);
    res.json({ detail: 'Logged out' });
  });

  return router;
}
