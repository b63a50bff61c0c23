import bcrypt from 'bcrypt';

/**
 * bcrypt with BCRYPT_ROUNDS. `verify` with no stored hash (unknown user) still runs one bcrypt
 * comparison against a dummy hash of the same cost, so response time does not reveal whether a
 * username exists.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly rounds: number) {}

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.rounds);
  }

  async verify(password: string, hash: string | undefined): Promise<boolean> {
    if (hash === undefined) {
      this.dummyHash ??= bcrypt.hash('dummy password never matched', this.rounds);
      await bcrypt.compare(password, await this.dummyHash);
      return false;
    }
    return bcrypt.compare(password, hash);
  }
}
