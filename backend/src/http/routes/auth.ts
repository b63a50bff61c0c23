import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { AuthService, RequestOrigin } from '../../users/auth-service.js';
import type { IssuedToken } from '../../users/token-service.js';
import { toPublicUser } from '../../users/user.js';
import { ACCESS_TOKEN_COOKIE, authenticate, sessionOf } from '../authenticate.js';
import { parseInput } from '../validate.js';

export interface AuthRoutesOptions {
  auth: AuthService;
  passwordMinLength: number;
  /** Mark the cookie Secure (HTTPS only); off for local http development and tests. */
  secureCookie: boolean;
}

const Username = z
  .string()
  .min(3)
  .max(50)
  .regex(/^[A-Za-z0-9_.-]+$/, 'Only letters, digits, "_", "." and "-" are allowed');

// bcrypt reads at most 72 bytes; longer passwords would silently match on their prefix.
const MAX_PASSWORD_BYTES = 72;

function registerBody(passwordMinLength: number) {
  return z.object({
    username: Username,
    email: z.email().max(254),
    password: z
      .string()
      .min(passwordMinLength)
      .refine(
        (p) => Buffer.byteLength(p) <= MAX_PASSWORD_BYTES,
        `Must be at most ${MAX_PASSWORD_BYTES} bytes`,
      ),
  });
}

const LoginBody = z.object({ username: z.string().min(1).max(50), password: z.string().min(1).max(1024) });

function originOf(req: Request): RequestOrigin {
  return req.ip === undefined ? { correlationId: req.id } : { correlationId: req.id, ip: req.ip };
}

/** POST /auth/register, /auth/login, /auth/logout and GET /auth/me. */
export function authRoutes({ auth, passwordMinLength, secureCookie }: AuthRoutesOptions): Router {
  const router = Router();
  const RegisterBody = registerBody(passwordMinLength);
  const cookieOptions = { httpOnly: true, sameSite: 'strict', path: '/', secure: secureCookie } as const;

  function setTokenCookie(res: Response, token: IssuedToken): void {
    res.cookie(ACCESS_TOKEN_COOKIE, token.token, { ...cookieOptions, maxAge: token.expiresInSeconds * 1000 });
  }

  router.post('/auth/register', async (req, res) => {
    const input = parseInput(RegisterBody, req.body);
    const user = await auth.register(input, originOf(req));
    res.status(201).json(toPublicUser(user));
  });

  // JSON or an OAuth2 password-style form (application/x-www-form-urlencoded).
  router.post('/auth/login', async (req, res) => {
    const { username, password } = parseInput(LoginBody, req.body);
    const { user, token } = await auth.login(username, password, originOf(req));
    setTokenCookie(res, token);
    res.json({
      access_token: token.token,
      token_type: 'bearer',
      expires_in: token.expiresInSeconds,
      user: toPublicUser(user),
    });
  });

  router.get('/auth/me', authenticate(auth), (req, res) => {
    res.json(toPublicUser(sessionOf(req).user));
  });

  router.post('/auth/logout', authenticate(auth), async (req, res) => {
    await auth.logout(sessionOf(req), originOf(req));
    res.clearCookie(ACCESS_TOKEN_COOKIE, cookieOptions);
    res.json({ detail: 'Logged out' });
  });

  return router;
}
