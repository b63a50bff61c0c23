import type { PayloadInputOf } from '../events/catalog.js';
import type { PlatformEvent, PlatformEventCatalog, PlatformEventDefinitions } from '../events/definitions.js';
import { AppError } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';
import type { LoginLockout, LoginRefusal } from './login-lockout.js';
import type { PasswordHasher } from './password-hasher.js';
import type { IssuedToken, TokenService, VerifiedToken } from './token-service.js';
import type { TokenDenylist } from './token-denylist.js';
import type { User } from './user.js';
import type { UserRepository } from './user-repository.js';

export interface AuthServiceOptions {
  users: UserRepository;
  hasher: PasswordHasher;
  tokens: TokenService;
  denylist: TokenDenylist;
  lockout: LoginLockout;
  catalog: PlatformEventCatalog;
  publish: (event: PlatformEvent) => Promise<void>;
  service: { name: string; version: string };
  logger: Logger;
}

/** Who asked: ties the published events to the request. */
export interface RequestOrigin {
  correlationId: string;
  ip?: string;
  /** What failed logins are counted under: the IP, or its /56 network for IPv6; default `ip`. */
  client?: string;
}

export interface Registration {
  username: string;
  email: string;
  password: string;
}

export interface Session {
  user: User;
  token: VerifiedToken;
}

const INVALID_CREDENTIALS = 'Invalid username or password';

function refusalError(refusal: LoginRefusal, maxAttempts: number): AppError {
  switch (refusal.kind) {
    case 'locked': {
      const until = refusal.until.toISOString();
      return new AppError(
        'locked',
        `Login locked for this client after ${maxAttempts} failed attempts; try again after ${until}`,
        { fields: { locked_until: until } },
      );
    }
    case 'backoff': {
      const seconds = Math.ceil(refusal.retryAfterMs / 1000);
      return new AppError('rate_limited', `Too many failed logins for this username; retry in ${seconds} s`, {
        fields: { retry_after: seconds },
      });
    }
  }
}

/** The account use cases: register, log in, log out, and resolve a token to its user. */
export class AuthService {
  constructor(private readonly options: AuthServiceOptions) {}

  async register(input: Registration, origin: RequestOrigin): Promise<User> {
    const { users, hasher } = this.options;
    const passwordHash = await hasher.hash(input.password);
    // Self-registration always yields a plain user; admins are made by admins.
    const user = await users.create({
      username: input.username,
      email: input.email,
      role: 'user',
      passwordHash,
    });
    await this.emit('user_registered', user.id, user.id, origin, {
      user_id: user.id,
      username: user.username,
      email: user.email,
      role: user.role,
    });
    return user;
  }

  async login(
    username: string,
    password: string,
    origin: RequestOrigin,
  ): Promise<{ user: User; token: IssuedToken }> {
    const { users, hasher, tokens, lockout } = this.options;
    const client = origin.client ?? origin.ip ?? 'unknown';
    // Checked before the password: while refused, even the right password is not tried.
    const refusal = await lockout.refusal(username, client);
    if (refusal) {
      await this.emitAuthFailed(username, refusal.kind === 'locked' ? 'locked' : 'backoff', origin);
      throw refusalError(refusal, lockout.maxAttempts);
    }
    const user = await users.findByUsername(username);
    const matches = await hasher.verify(password, user?.passwordHash);
    if (!user || !matches) {
      // Unknown names count too, so the lock reveals nothing about which names exist.
      await lockout.recordFailure(username, client);
      await this.emitAuthFailed(username, user ? 'wrong_password' : 'unknown_user', origin);
      throw new AppError('unauthorized', INVALID_CREDENTIALS);
    }
    await lockout.succeeded(username, client);
    // Checked after the password so a disabled account is only revealed to its owner.
    if (!user.active) {
      await this.emitAuthFailed(username, 'inactive_user', origin);
      throw new AppError('unauthorized', 'Account is disabled');
    }
    const token = tokens.issue(user.id, user.tokenVersion);
    await this.emit('user_logged_in', user.id, user.id, origin, {
      user_id: user.id,
      username: user.username,
    });
    return { user, token };
  }

  async logout(session: Session, origin: RequestOrigin): Promise<void> {
    await this.options.denylist.revoke(session.token.jti, session.token.expiresAt);
    await this.emit('user_logged_out', session.user.id, session.user.id, origin, {
      user_id: session.user.id,
      username: session.user.username,
    });
  }

  /**
   * Changes the caller's own password after checking the current one, and revokes every session
   * of theirs (this one too): whoever held a token must log in with the new password.
   */
  async changePassword(session: Session, currentPassword: string, newPassword: string): Promise<void> {
    const { users, hasher } = this.options;
    if (!(await hasher.verify(currentPassword, session.user.passwordHash))) {
      throw new AppError('validation', 'The current password is wrong', {
        details: [{ field: 'current_password', message: 'does not match' }],
      });
    }
    const passwordHash = await hasher.hash(newPassword);
    if (!(await users.update(session.user.id, { passwordHash, revokeSessions: true }))) {
      throw new AppError('unauthorized', 'User no longer exists');
    }
  }

  /** The active user a bearer token belongs to; AppError('unauthorized') for any other token. */
  async currentUser(rawToken: string): Promise<Session> {
    const { tokens, denylist, users } = this.options;
    const token = tokens.verify(rawToken);
    // Both lookups at once: every authenticated request waits for them.
    const [revoked, user] = await Promise.all([denylist.isRevoked(token.jti), users.findById(token.userId)]);
    if (revoked) throw new AppError('unauthorized', 'Token revoked');
    if (!user) throw new AppError('unauthorized', 'User no longer exists');
    if (!user.active) throw new AppError('unauthorized', 'Account is disabled');
    // Password changes, resets, role changes and deactivation bump the version (UserAdmin).
    if (token.version !== user.tokenVersion) throw new AppError('unauthorized', 'Session revoked');
    return { user, token };
  }

  private emitAuthFailed(username: string, reason: string, origin: RequestOrigin): Promise<void> {
    const payload = origin.ip === undefined ? { username, reason } : { username, reason, ip: origin.ip };
    // No user id to key on: a failed login is about the name that was tried.
    return this.emit('auth_failed', username === '' ? 'anonymous' : username, null, origin, payload);
  }

  /**
   * Auth events are an audit trail, not part of the use case's outcome: the account change is
   * already in Mongo, so a Kafka outage is logged loudly rather than turning the request into a 5xx.
   */
  private async emit<K extends 'user_registered' | 'user_logged_in' | 'user_logged_out' | 'auth_failed'>(
    type: K,
    aggregateId: string,
    userId: string | null,
    origin: RequestOrigin,
    payload: PayloadInputOf<PlatformEventDefinitions, K>,
  ): Promise<void> {
    const { catalog, publish, service, logger } = this.options;
    const event = catalog.build(type, aggregateId, payload, {
      service_name: service.name,
      service_version: service.version,
      user_id: userId,
      correlation_id: origin.correlationId,
    });
    try {
      // EventOf<D, K> for a generic K is one member of the PlatformEvent union; TS cannot see it.
      await publish(event as PlatformEvent);
    } catch (err) {
      logger.error({ err, event_type: type, event_id: event.event_id }, 'could not publish auth event');
    }
  }
}
