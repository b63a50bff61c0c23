import { PasswordHasher } from '../users/password-hasher.js';
import { mongoFromSettings } from '../platform/clients.js';
import { seedUsers } from '../users/seed-users.js';
import { UserRepository } from '../users/user-repository.js';
import { bootstrapProcess } from './bootstrap.js';

// `npm run seed-users`: creates the development accounts user/user123 and admin/admin123 (passwords
// from SEED_USER_PASSWORD / SEED_ADMIN_PASSWORD when set) and exits. Refuses with ENVIRONMENT=production.
const { settings, logger } = bootstrapProcess(process.argv.slice(2), undefined);

async function main(): Promise<number> {
  if (settings.ENVIRONMENT === 'production') {
    process.stderr.write(
      'Refusing to seed the development users with ENVIRONMENT=production: they have well-known passwords.\n',
    );
    return 1;
  }
  const mongo = mongoFromSettings(settings, logger);
  const users = new UserRepository(mongo);
  await mongo.start();
  try {
    const result = await seedUsers({
      users,
      hasher: new PasswordHasher(settings.BCRYPT_ROUNDS),
      environment: settings.ENVIRONMENT,
      logger,
    });
    process.stdout.write(
      `created: ${result.created.join(', ') || 'none'}; already present: ${result.existing.join(', ') || 'none'}\n`,
    );
    return 0;
  } finally {
    await mongo.stop();
  }
}

main().then(
  (code) => {
    logger.flush();
    process.exit(code);
  },
  (err: unknown) => {
    logger.error({ err }, 'seeding users failed');
    logger.flush();
    process.exit(1);
  },
);
