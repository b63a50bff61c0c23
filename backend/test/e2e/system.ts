import { randomUUID } from 'node:crypto';
import { spawnEntry, type SpawnedProcess } from '../processes/spawn-process.js';
import { eventually } from '../test-logger.js';

export type ProcessName = 'api' | 'saga-orchestrator' | 'k8s-worker' | 'result-processor' | 'event-replay';

/**
 * config.toml's commit mode, for SystemUnderTest's env: offsets committed in the background
 * (config.test.toml commits per batch, for its tests).
 */
export const PRODUCTION_COMMIT_MODE: Readonly<Record<string, string>> = {
  INTEGR8SCODE_KAFKA_ENABLE_AUTO_COMMIT: 'true',
  INTEGR8SCODE_KAFKA_AUTO_COMMIT_INTERVAL_MS: '200',
};

/**
 * The whole system as real processes, the way deployments run it: each entry file in its own
 * process, sharing the test servers, isolated from other tests by a topic prefix, database and
 * consumer groups of its own.
 */
export class SystemUnderTest {
  readonly suffix = randomUUID().slice(0, 8);
  private readonly running = new Map<string, SpawnedProcess>();
  private apiPorts: number[] = [];

  constructor(private readonly extraEnv: Record<string, string> = {}) {}

  private env(name: string): Record<string, string> {
    return {
      INTEGR8SCODE_KAFKA_TOPIC_PREFIX: `e2e.${this.suffix}.`,
      INTEGR8SCODE_DATABASE_NAME: `e2e_${this.suffix}`,
      INTEGR8SCODE_KAFKA_CONSUMER_GROUP_ID: `${name}-${this.suffix}`,
      INTEGR8SCODE_RATE_LIMIT_KEY_PREFIX: `e2e:${this.suffix}:`,
      ...this.extraEnv,
    };
  }

  /** Starts one process (optionally a second instance under another label) and waits until it runs. */
  async start(name: ProcessName, label: string = name): Promise<SpawnedProcess> {
    const override = name === 'api' ? [] : ['--override', `config.${name}.toml`];
    const proc = spawnEntry(`${name}.ts`, ['--config', 'config.test.toml', ...override], this.env(name));
    this.running.set(label, proc);
    if (name === 'api') {
      const listening = await proc.waitForLog((e) => e.msg === 'http listening', 60_000);
      this.apiPorts.push(Number(listening.port));
    }
    await proc.waitForLog((e) => e.msg === 'started', 60_000);
    return proc;
  }

  async startAll(): Promise<void> {
    await Promise.all([
      this.start('api'),
      this.start('saga-orchestrator'),
      this.start('k8s-worker'),
      this.start('result-processor'),
      this.start('event-replay'),
    ]);
  }

  process(label: string): SpawnedProcess {
    const proc = this.running.get(label);
    if (!proc) throw new Error(`no process ${label}`);
    return proc;
  }

  /** kill -9: no drain, no commits, no goodbye. */
  async crash(label: string): Promise<void> {
    const proc = this.process(label);
    proc.child.kill('SIGKILL');
    await proc.exited;
    this.running.delete(label);
  }

  apiUrl(index = 0): string {
    const port = this.apiPorts[index];
    if (port === undefined) throw new Error(`no API process #${index}`);
    return `http://127.0.0.1:${port}/api/v1`;
  }

  async stop(): Promise<void> {
    const all = [...this.running.values()];
    this.running.clear();
    for (const p of all) p.child.kill('SIGTERM');
    await Promise.all(
      all.map(async (p) => {
        const timer = setTimeout(() => p.child.kill('SIGKILL'), 20_000);
        await p.exited;
        clearTimeout(timer);
      }),
    );
  }
}

export interface Client {
  token: string;
  userId: string;
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
}

export async function signUp(apiUrl: string, username = `u${randomUUID().slice(0, 10)}`): Promise<Client> {
  const password = 'correct horse battery';
  const register = await fetch(`${apiUrl}/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, email: `${username}@example.test`, password }),
  });
  if (register.status !== 201) throw new Error(`register: ${register.status} ${await register.text()}`);
  const login = await fetch(`${apiUrl}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const body = (await login.json()) as { access_token: string; user: { id: string } };
  return clientFor(apiUrl, body.access_token, body.user.id);
}

export function clientFor(apiUrl: string, token: string, userId: string): Client {
  return {
    token,
    userId,
    request: (path, init = {}) => {
      const { json, headers, ...rest } = init;
      return fetch(`${apiUrl}${path}`, {
        ...rest,
        headers: {
          authorization: `Bearer ${token}`,
          ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(headers as Record<string, string> | undefined),
        },
        ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
      });
    },
  };
}

/** Waits until the API advertises a runtime (the worker has started and published its advert). */
export async function waitForRuntimes(client: Client): Promise<Array<{ lang: string; version: string }>> {
  return eventually(
    async () => {
      const res = await client.request('/k8s-limits');
      const body = (await res.json()) as { runtimes: Array<{ lang: string; version: string }> };
      return body.runtimes.length > 0 ? body.runtimes : undefined;
    },
    { timeoutMs: 60_000, what: 'the executor advert' },
  );
}

export async function submit(
  client: Client,
  script: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<string> {
  const res = await client.request('/execute', {
    method: 'POST',
    json: { script, lang: 'python', lang_version: '3.11', ...extra },
    headers,
  });
  if (res.status !== 202) throw new Error(`execute: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { execution_id: string }).execution_id;
}

export interface ResultView {
  execution_id: string;
  status: string;
  finished: boolean;
  exit_code: number | null;
  stdout: string;
  stderr: string;
  output_truncated: boolean;
  reason: string | null;
  resource_usage: { wall_seconds: number; cpu_seconds: number; peak_memory_bytes: number } | null;
}

export async function waitForResult(client: Client, id: string, timeoutMs = 60_000): Promise<ResultView> {
  return eventually(
    async () => {
      const res = await client.request(`/executions/${id}/result`);
      const body = (await res.json()) as ResultView;
      return body.finished ? body : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `the result of ${id}` },
  );
}

export interface SseEvent {
  id?: string;
  event: string;
  data: unknown;
}

/** Reads an SSE stream to its end (or until `stopAfter` says so), returning every event. */
export async function readSse(
  client: Client,
  id: string,
  options: { lastEventId?: string; stopAfter?: (events: SseEvent[]) => boolean; timeoutMs?: number } = {},
): Promise<SseEvent[]> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 60_000);
  const res = await client.request(`/events/executions/${id}`, {
    signal: controller.signal,
    headers: options.lastEventId ? { 'last-event-id': options.lastEventId } : {},
  });
  if (res.status !== 200 || !res.body) throw new Error(`sse: ${res.status} ${await res.text()}`);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let at: number;
      while ((at = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const event: SseEvent = { event: 'message', data: null };
        let isComment = true;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          isComment = false;
          if (line.startsWith('id: ')) event.id = line.slice(4);
          else if (line.startsWith('event: ')) event.event = line.slice(7);
          else if (line.startsWith('data: ')) event.data = JSON.parse(line.slice(6)) as unknown;
        }
        if (!isComment) events.push(event);
      }
      if (options.stopAfter?.(events)) {
        controller.abort();
        break;
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
  }
  return events;
}
