import type { UserRole } from '../events/definitions.js';

export type { UserRole };

/**
 * A platform account as stored. `passwordHash` and `tokenVersion` never leave the backend (see
 * `toPublicUser`).
 */
export interface User {
  id: string;
  /** As registered; unique ignoring case (see `usernameKey`). */
  username: string;
  email: string;
  role: UserRole;
  active: boolean;
  passwordHash: string;
  /** Carried in every access token; bumping it revokes all of the user's tokens at once. */
  tokenVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

export type PublicUser = Omit<User, 'passwordHash' | 'tokenVersion'>;

export function toPublicUser(user: User): PublicUser {
  const { passwordHash: _hash, tokenVersion: _version, ...rest } = user;
  return rest;
}

/** The form usernames are compared in: "Alice" and "alice" are one account. */
export function usernameKey(username: string): string {
  return username.toLowerCase();
}
