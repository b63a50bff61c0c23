import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors/app-error.js';
import { TokenService } from './token-service.js';

const SECRET = 'unit-test-secret-of-at-least-32-chars!!';
const T0 = Date.UTC(2026, 0, 1);

function service(now = () => T0): TokenService {
  return new TokenService({ secret: SECRET, algorithm: 'HS256', expireMinutes: 10, now });
}

function unauthorized(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('unauthorized');
    return err as AppError;
  }
  throw new Error('expected the token to be refused');
}

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('TokenService', () => {
  it('when a token it issued is verified, then it yields the user id, jti and expiry', () => {
    const tokens = service();
    const issued = tokens.issue('user-1', 3);
    expect(tokens.verify(issued.token)).toEqual({
      userId: 'user-1',
      jti: issued.jti,
      expiresAt: T0 / 1000 + 600,
      version: 3,
    });
    expect(issued.expiresInSeconds).toBe(600);
  });

  it('when a token says alg none and carries no signature, then it is refused', () => {
    const iat = T0 / 1000;
    const forged = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'admin', jti: 'x', iat, exp: iat + 60 })}.`;
    unauthorized(() => service().verify(forged));
  });

  it('when a token is signed with another HMAC algorithm, then it is refused', () => {
    const iat = T0 / 1000;
    const other = jwt.sign({ sub: 'user-1', jti: 'x', iat, exp: iat + 60 }, SECRET, { algorithm: 'HS512' });
    unauthorized(() => service().verify(other));
  });

  it('when the payload is changed after signing, then the signature no longer matches', () => {
    const tokens = service();
    const [header, , signature] = tokens.issue('user-1', 0).token.split('.');
    const iat = T0 / 1000;
    const tampered = `${header}.${b64url({ sub: 'someone-else', jti: 'x', iat, exp: iat + 600 })}.${signature}`;
    unauthorized(() => tokens.verify(tampered));
  });

  it('when a token is signed with another secret, then it is refused', () => {
    const iat = T0 / 1000;
    const other = jwt.sign({ sub: 'user-1', jti: 'x', iat, exp: iat + 60 }, `${SECRET}-other`, {
      algorithm: 'HS256',
    });
    unauthorized(() => service().verify(other));
  });

  it('when the token lifetime has passed, then it is refused as expired', () => {
    let now = T0;
    const tokens = service(() => now);
    const issued = tokens.issue('user-1', 0);
    now = T0 + 601_000;
    expect(unauthorized(() => tokens.verify(issued.token)).message).toBe('Token expired');
  });

  it('when a validly signed token carries no version, then it reads as version 0', () => {
    const iat = T0 / 1000;
    const old = jwt.sign({ sub: 'user-1', jti: 'x', iat, exp: iat + 60 }, SECRET, { algorithm: 'HS256' });
    expect(service().verify(old).version).toBe(0);
  });

  it('when a validly signed token lacks jti, then it is refused', () => {
    const iat = T0 / 1000;
    const noJti = jwt.sign({ sub: 'user-1', iat, exp: iat + 60 }, SECRET, { algorithm: 'HS256' });
    unauthorized(() => service().verify(noJti));
  });
});
