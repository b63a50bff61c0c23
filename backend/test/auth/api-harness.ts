import { expect } from 'vitest';
import { createApiProcess, type ApiProcess } from '../../src/http/api-process.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import type { Settings } from '../../src/settings/settings.js';
import { PasswordHasher } from '../../src/users/password-hasher.js';
import type { UserRole } from '../../src/users/user.js';
import { UserRepository } from '../../src/users/user-repository.js';
import { testLogger } from '../test-logger.js';
import { testSettings, uniqueSuffix } from '../test-settings.js';

export interface UserBody {
  id: string;
  username: string;
  email: string;
  role: string;
  active: boolean;
  passwordHash?: unknown;
}

export interface LoginBody {
  access_token: string;
  csrf_token: string;
  token_type: string;
  expires_in: number;
  user: UserBody;
}

export interface ErrorBody {
  detail: string;
  type: string;
  locked_until?: string;
  retry_after?: number;
  errors?: Array<{ field: string; message: string }>;
}

export interface Credentials {
  username: string;
  email: string;
  password: string;
}

/** A real API process on its own database and topic prefix, plus direct access to its users. */
export class ApiHarness {
  readonly settings: Settings;
  readonly users: UserRepository;
  private readonly mongo: MongoConnection;
  private api: ApiProcess | undefined;
  private baseUrl = '';

  constructor(env: Record<string, string> = {}) {
    this.settings = testSettings({
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `it.${uniqueSuffix()}.`,
      INTEGR8SCODE_DATABASE_NAME: `it_accounts_${uniqueSuffix()}`,
      ...env,
    });
    const logger = testLogger();
    this.mongo = new MongoConnection({
      url: this.settings.MONGODB_URL,
      dbName: this.settings.DATABASE_NAME,
      logger,
    });
    this.users = new UserRepository(this.mongo);
  }

  get base(): string {
    return this.baseUrl;
  }

  async start(): Promise<void> {
    this.api = createApiProcess(this.settings, testLogger());
    await this.api.host.start();
    await this.mongo.start();
    this.baseUrl = `http://127.0.0.1:${this.api.http.port}/api/v1`;
  }

  async stop(): Promise<void> {
    await this.mongo.stop();
    await this.api?.host.stop();
  }

  request(
    method: string,
    path: string,
    { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    return fetch(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  newCredentials(tag = 'u'): Credentials {
    const username = `${tag}_${uniqueSuffix()}`;
    return { username, email: `${username}@example.com`, password: 'correct horse battery' };
  }

  /** Registers through the API (role user). */
  async register(credentials = this.newCredentials()): Promise<{ credentials: Credentials; user: UserBody }> {
    const res = await this.request('POST', '/auth/register', { body: credentials });
    expect(res.status).toBe(201);
    return { credentials, user: (await res.json()) as UserBody };
  }

  /** Creates a user of any role directly in Mongo (the way an operator would seed an admin). */
  async createUser(role: UserRole, tag = role): Promise<Credentials & { id: string }> {
    const credentials = this.newCredentials(tag);
    const hash = await new PasswordHasher(this.settings.BCRYPT_ROUNDS).hash(credentials.password);
    const user = await this.users.create({
      username: credentials.username,
      email: credentials.email,
      role,
      passwordHash: hash,
    });
    return { ...credentials, id: user.id };
  }

  async login(credentials: { username: string; password: string }): Promise<LoginBody & { cookie: string }> {
    const res = await this.request('POST', '/auth/login', {
      body: { username: credentials.username, password: credentials.password },
    });
    expect(res.status).toBe(200);
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0] ?? '')
      .join('; ');
    return { ...((await res.json()) as LoginBody), cookie };
  }
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
