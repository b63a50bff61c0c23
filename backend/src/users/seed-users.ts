import { AppError } from '../platform/errors/app-error.js';
import { type Component, LifecycleGate } from '../platform/lifecycle/component.js';
import type { Logger } from '../platform/logging/logger.js';
import type { PasswordHasher } from './password-hasher.js';
import type { UserRole } from './user.js';
import type { UserRepository } from './user-repository.js';

export type Environment = 'development' | 'test' | 'production';

export interface SeedUsersOptions {
  users: UserRepository;
  hasher: PasswordHasher;
  environment: Environment;
  logger: Logger;
  /** Where SEED_USER_PASSWORD / SEED_ADMIN_PASSWORD are read from; default process.env. */
  env?: Record<string, string | undefined>;
}

export interface SeedResult {
  created: string[];
  existing: string[];
}

interface SeedAccount {
  username: string;
  email: string;
  role: UserRole;
  passwordEnv: string;
  defaultPassword: string;
}

// The well-known local-development accounts. Their default passwords are shorter than the default
// PASSWORD_MIN_LENGTH on purpose: seeding writes the hash directly and bypasses the registration
// rule, which is acceptable only because these accounts never exist in production.
const SEED_ACCOUNTS: readonly SeedAccount[] = [
  {
    username: 'user',
    email: 'user@integr8scode.local',
    role: 'user',
    passwordEnv: 'SEED_USER_PASSWORD',
    defaultPassword: 'user123',
  },
  {
    username: 'admin',
    email: 'admin@integr8scode.local',
    role: 'admin',
    passwordEnv: 'SEED_ADMIN_PASSWORD',
    defaultPassword: 'admin123',
  },
];

/**
 * Creates the development accounts `user` and `admin` unless they exist (an existing account is
 * left untouched, password included). Refuses to run in production.
 */
export async function seedUsers(options: SeedUsersOptions): Promise<SeedResult> {
  const { users, hasher, environment, logger } = options;
  if (environment === 'production') {
    throw new AppError(
      'forbidden',
      'Refusing to seed the development users (user/user123, admin/admin123) with ENVIRONMENT=production',
    );
  }
  const env = options.env ?? process.env;
  const result: SeedResult = { created: [], existing: [] };
  for (const account of SEED_ACCOUNTS) {
    if (await users.findByUsername(account.username)) {
      result.existing.push(account.username);
      continue;
    }
    const password = env[account.passwordEnv] || account.defaultPassword;
    try {
      await users.create({
        username: account.username,
        email: account.email,
        role: account.role,
        passwordHash: await hasher.hash(password),
      });
      result.created.push(account.username);
    } catch (err) {
      // Another API process seeded it between our lookup and insert.
      if (!(err instanceof AppError) || err.code !== 'conflict') throw err;
      result.existing.push(account.username);
    }
  }
  logger.info(result, 'development users seeded');
  return result;
}

/** The API start hook: seeds only with ENVIRONMENT=development, never in test or production. */
export async function seedUsersAtStart(options: SeedUsersOptions): Promise<SeedResult | undefined> {
  if (options.environment !== 'development') return undefined;
  return seedUsers(options);
}

/** Runs `seedUsersAtStart` as a start step of the API host (after Mongo, before the listener). */
export function seedUsersComponent(options: SeedUsersOptions): Component {
  const gate = new LifecycleGate();
  return {
    name: 'seed-users',
    start: () => gate.start(async () => void (await seedUsersAtStart(options))),
    stop: () => gate.stop(() => Promise.resolve()),
  };
}
