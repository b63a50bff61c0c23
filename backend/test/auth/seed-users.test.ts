import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { PasswordHasher } from '../../src/users/password-hasher.js';
import { seedUsers, seedUsersAtStart, type Environment } from '../../src/users/seed-users.js';
import { UserRepository } from '../../src/users/user-repository.js';
import { testLogger } from '../test-logger.js';
import { ApiHarness } from './api-harness.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

describe('development seed users', () => {
  const settings = testSettings();
  const logger = testLogger();
  const hasher = new PasswordHasher(settings.BCRYPT_ROUNDS);
  const connections: MongoConnection[] = [];

  /** A fresh database per test: the seed names are fixed, so tests cannot share one. */
  async function freshUsers(): Promise<UserRepository> {
    const mongo = new MongoConnection({
      url: settings.MONGODB_URL,
      dbName: `it_seed_${uniqueSuffix()}`,
      logger,
    });
    const users = new UserRepository(mongo);
    await mongo.start();
    connections.push(mongo);
    return users;
  }

  beforeAll(() => {
    expect(settings.ENVIRONMENT).toBe('test');
  });
  afterAll(async () => {
    for (const mongo of connections) await mongo.stop();
  });

  it('when the API starts with ENVIRONMENT=development, then user and admin exist with their default passwords and roles', async () => {
    const users = await freshUsers();
    const result = await seedUsersAtStart({ users, hasher, environment: 'development', logger, env: {} });
    expect(result?.created).toEqual(['user', 'admin']);
    const user = await users.findByUsername('user');
    const admin = await users.findByUsername('admin');
    expect(user?.role).toBe('user');
    expect(admin?.role).toBe('admin');
    expect(await hasher.verify('user123', user?.passwordHash)).toBe(true);
    expect(await hasher.verify('admin123', admin?.passwordHash)).toBe(true);
  });

  it('when seeding runs twice, then the second run creates nothing and keeps the accounts as they were', async () => {
    const users = await freshUsers();
    await seedUsers({ users, hasher, environment: 'development', logger, env: {} });
    const before = await users.findByUsername('admin');
    const again = await seedUsers({
      users,
      hasher,
      environment: 'development',
      logger,
      env: { SEED_ADMIN_PASSWORD: 'something else entirely' },
    });
    expect(again).toEqual({ created: [], existing: ['user', 'admin'] });
    expect((await users.findByUsername('admin'))?.passwordHash).toBe(before?.passwordHash);
  });

  it('when SEED_USER_PASSWORD and SEED_ADMIN_PASSWORD are set, then they replace the default passwords', async () => {
    const users = await freshUsers();
    await seedUsers({
      users,
      hasher,
      environment: 'development',
      logger,
      env: { SEED_USER_PASSWORD: 'local-user-pw', SEED_ADMIN_PASSWORD: 'local-admin-pw' },
    });
    const admin = await users.findByUsername('admin');
    expect(await hasher.verify('local-admin-pw', admin?.passwordHash)).toBe(true);
    expect(await hasher.verify('admin123', admin?.passwordHash)).toBe(false);
    expect(await hasher.verify('local-user-pw', (await users.findByUsername('user'))?.passwordHash)).toBe(
      true,
    );
  });

  it.each<Environment>(['test', 'production'])(
    'when the API starts with ENVIRONMENT=%s, then no seed user is created',
    async (environment) => {
      const users = await freshUsers();
      expect(await seedUsersAtStart({ users, hasher, environment, logger, env: {} })).toBeUndefined();
      expect(await users.findByUsername('user')).toBeNull();
      expect(await users.findByUsername('admin')).toBeNull();
    },
  );

  it('when seeding is asked for explicitly with ENVIRONMENT=production, then it refuses and creates nothing', async () => {
    const users = await freshUsers();
    await expect(seedUsers({ users, hasher, environment: 'production', logger, env: {} })).rejects.toThrow(
      /Refusing to seed .* ENVIRONMENT=production/,
    );
    expect(await users.findByUsername('admin')).toBeNull();
  });

  it('when a real API process starts with ENVIRONMENT=development, then admin/admin123 can log in as admin', async () => {
    const api = new ApiHarness({ INTEGR8SCODE_ENVIRONMENT: 'development' });
    await api.start();
    try {
      const session = await api.login({ username: 'admin', password: 'admin123' });
      expect(session.user.role).toBe('admin');
      expect((await api.login({ username: 'user', password: 'user123' })).user.role).toBe('user');
    } finally {
      await api.stop();
    }
  });
});
