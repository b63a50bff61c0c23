import { AppError } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';
import type { LoginLockout } from './login-lockout.js';
import type { PasswordHasher } from './password-hasher.js';
import type { User, UserRole } from './user.js';
import type { UserPage, UserQuery, UserRepository } from './user-repository.js';

export interface UserAdminOptions {
  users: UserRepository;
  hasher: PasswordHasher;
  lockout: LoginLockout;
  logger: Logger;
}

export interface NewAccount {
  username: string;
  email: string;
  password: string;
  role: UserRole;
}

export interface AccountChanges {
  email?: string;
  role?: UserRole;
  active?: boolean;
  /** A new password (reset by an admin); stored hashed. */
  password?: string;
}

/**
 * The admin use cases on accounts. An admin may not delete, deactivate or demote their own
 * account, so a platform cannot lose its last admin by accident. A password reset, a role change
 * and deactivation bump the user's token version, so every token issued before stops working (and
 * stays dead after reactivation); a deleted user's tokens name a user that no longer exists.
 */
export class UserAdmin {
  constructor(private readonly options: UserAdminOptions) {}

  list(query: UserQuery): Promise<UserPage> {
    return this.options.users.list(query);
  }

  async get(id: string): Promise<User> {
    const user = await this.options.users.findById(id);
    if (!user) throw notFound(id);
    return user;
  }

  async create(input: NewAccount, actor: User): Promise<User> {
    const passwordHash = await this.options.hasher.hash(input.password);
    const user = await this.options.users.create({
      username: input.username,
      email: input.email,
      role: input.role,
      passwordHash,
    });
    this.options.logger.info({ actor: actor.id, user_id: user.id, role: user.role }, 'user created by admin');
    return user;
  }

  async update(id: string, changes: AccountChanges, actor: User): Promise<User> {
    if (id === actor.id) {
      if (changes.active === false) throw selfChange('deactivate');
      if (changes.role !== undefined && changes.role !== actor.role) throw selfChange('demote');
    }
    const before = await this.get(id);
    const { password, ...rest } = changes;
    const revokeSessions =
      password !== undefined ||
      (changes.role !== undefined && changes.role !== before.role) ||
      (changes.active !== undefined && changes.active !== before.active);
    const update = {
      ...rest,
      revokeSessions,
      ...(password === undefined ? {} : { passwordHash: await this.options.hasher.hash(password) }),
    };
    const user = await this.options.users.update(id, update);
    if (!user) throw notFound(id);
    this.options.logger.info(
      { actor: actor.id, user_id: id, fields: Object.keys(changes), sessions_revoked: revokeSessions },
      'user updated by admin',
    );
    return user;
  }

  async delete(id: string, actor: User): Promise<void> {
    if (id === actor.id) throw selfChange('delete');
    if (!(await this.options.users.delete(id))) throw notFound(id);
    this.options.logger.info({ actor: actor.id, user_id: id }, 'user deleted by admin');
  }

  /** Clears the failed-login lock of the user's name. */
  async unlock(id: string, actor: User): Promise<User> {
    const user = await this.get(id);
    await this.options.lockout.reset(user.username);
    this.options.logger.info({ actor: actor.id, user_id: id }, 'user unlocked by admin');
    return user;
  }
}

function notFound(id: string): AppError {
  return new AppError('not_found', `User ${id} not found`);
}

function selfChange(action: 'delete' | 'deactivate' | 'demote'): AppError {
  return new AppError('conflict', `Admins cannot ${action} their own account`);
}
