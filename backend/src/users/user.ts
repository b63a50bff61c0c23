import type { UserRole } from '../events/definitions.js';

export type { UserRole };

/** A platform account as stored. `passwordHash` never leaves the backend (see `toPublicUser`). */
export interface User {
  id: string;
  username: string;
  email: string;
  role: UserRole;
  active: boolean;
  passwordHash: string;
  createdAt: Date;
  updatedAt: Date;
}

export type PublicUser = Omit<User, 'passwordHash'>;

export function toPublicUser(user: User): PublicUser {
  const { passwordHash: _hash, ...rest } = user;
  return rest;
}
