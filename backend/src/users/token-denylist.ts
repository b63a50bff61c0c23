import type { Redis } from 'ioredis';

export interface TokenDenylistOptions {
  redis: () => Redis;
  now?: () => number;
}

/**
 * Revoked token ids in Redis (`auth:revoked:<jti>`), each kept only until its token would expire
 * anyway, so the list never outgrows the set of live tokens.
 */
export class TokenDenylist {
  private readonly now: () => number;

  constructor(private readonly options: TokenDenylistOptions) {
    this.now = options.now ?? Date.now;
  }

  async revoke(jti: string, expiresAt: number): Promise<void> {
    const seconds = expiresAt - Math.floor(this.now() / 1000);
    if (seconds <= 0) return;
    await this.options.redis().set(key(jti), '1', 'EX', seconds);
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.options.redis().exists(key(jti))) === 1;
  }
}

function key(jti: string): string {
  return `auth:revoked:${jti}`;
}
