import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type {
  ExecutionLimits,
  ExecutionPriority,
  PlatformEvent,
  PlatformEventCatalog,
} from '../events/definitions.js';
import { AppError } from '../platform/errors/app-error.js';
import type { Logger } from '../platform/logging/logger.js';
import type { SettingValues } from '../settings/schema.js';
import { isTerminal, type Execution, type ExecutionStatus } from './execution.js';
import type { ExecutionListFilter, ExecutionRepository } from './execution-repository.js';
import {
  encodedRequestBytes,
  requestPayload,
  resultWithoutOutput,
  unpublishableReason,
} from './execution-events.js';
import { memoryQuantityBytes } from './quantity.js';
import { isRecordError } from '../platform/kafka/producer.js';
import type { RuntimeDirectory } from './runtime-directory.js';

export interface Caller {
  id: string;
  role: 'user' | 'admin';
}

export interface SubmitInput {
  script: string;
  lang: string;
  lang_version: string;
  stdin?: string | undefined;
  args?: string[] | undefined;
  limits?: Partial<ExecutionLimits> | undefined;
  priority?: ExecutionPriority | undefined;
}

export type ExecutionSettings = Pick<
  SettingValues,
  | 'K8S_POD_EXECUTION_TIMEOUT'
  | 'K8S_POD_MEMORY_LIMIT'
  | 'EXECUTION_MAX_CPU_SECONDS'
  | 'EXECUTION_MAX_PROCESSES'
  | 'EXECUTION_MAX_FILE_BYTES'
  | 'EXECUTION_MAX_OUTPUT_BYTES'
  | 'EXECUTION_MAX_SCRIPT_BYTES'
  | 'KAFKA_MAX_MESSAGE_BYTES'
  | 'TRACING_SERVICE_NAME'
  | 'TRACING_SERVICE_VERSION'
>;

export interface ExecutionServiceOptions {
  executions: ExecutionRepository;
  runtimes: RuntimeDirectory;
  redis: () => Redis;
  catalog: PlatformEventCatalog;
  publish: (event: PlatformEvent) => Promise<void>;
  settings: ExecutionSettings;
  logger: Logger;
  /** How long an Idempotency-Key keeps pointing at its execution. */
  idempotencyTtlSeconds?: number;
}

/** The most a request may ask for; also what it gets when it asks for nothing. */
export function maxLimits(s: ExecutionSettings): ExecutionLimits {
  return {
    wall_seconds: s.K8S_POD_EXECUTION_TIMEOUT,
    cpu_seconds: s.EXECUTION_MAX_CPU_SECONDS,
    memory_bytes: memoryQuantityBytes(s.K8S_POD_MEMORY_LIMIT),
    max_processes: s.EXECUTION_MAX_PROCESSES,
    max_file_bytes: s.EXECUTION_MAX_FILE_BYTES,
    max_output_bytes: s.EXECUTION_MAX_OUTPUT_BYTES,
  };
}

/** Requested limits within the maxima; every field over its maximum is named. */
export function resolveLimits(
  requested: Partial<ExecutionLimits> | undefined,
  max: ExecutionLimits,
): ExecutionLimits {
  const problems: Array<{ field: string; message: string }> = [];
  const resolved = { ...max };
  for (const key of Object.keys(max) as Array<keyof ExecutionLimits>) {
    const value = requested?.[key];
    if (value === undefined) continue;
    if (value > max[key]) problems.push({ field: `limits.${key}`, message: `at most ${max[key]}` });
    else resolved[key] = value;
  }
  if (problems.length > 0) {
    throw new AppError(
      'validation',
      `Requested limits exceed the maximum: ${problems.map((p) => `${p.field} ${p.message}`).join(', ')}`,
      {
        details: problems,
      },
    );
  }
  return resolved;
}

/**
 * The execution use cases behind the HTTP routes: submit (store, then publish), cancel, retry,
 * read and list. Access: the owner or an admin; anyone else gets 403.
 */
export class ExecutionService {
  constructor(private readonly o: ExecutionServiceOptions) {}

  async submit(caller: Caller, input: SubmitInput, idempotencyKey?: string): Promise<Execution> {
    const scriptBytes = Buffer.byteLength(input.script, 'utf8');
    const maxScript = this.o.settings.EXECUTION_MAX_SCRIPT_BYTES;
    if (scriptBytes > maxScript) {
      throw new AppError('validation', `script is ${scriptBytes} bytes; the limit is ${maxScript}`, {
        details: [{ field: 'script', message: `at most ${maxScript} bytes` }],
      });
    }
    if (input.stdin !== undefined && Buffer.byteLength(input.stdin, 'utf8') > maxScript) {
      throw new AppError('validation', `stdin exceeds ${maxScript} bytes`, {
        details: [{ field: 'stdin', message: `at most ${maxScript} bytes` }],
      });
    }
    const priority = input.priority ?? 'normal';
    if ((priority === 'critical' || priority === 'high') && caller.role !== 'admin') {
      throw new AppError('forbidden', `Only admins may submit with priority ${priority}`);
    }
    const advert = await this.o.runtimes.current();
    if (!advert) {
      throw new AppError('dependency_unavailable', 'No executor is running; try again shortly');
    }
    const runtime = advert.runtimes.find((r) => r.lang === input.lang && r.version === input.lang_version);
    if (!runtime) {
      const supported = advert.runtimes.map((r) => `${r.lang} ${r.version}`).join(', ');
      throw new AppError(
        'validation',
        `Unsupported runtime ${input.lang} ${input.lang_version}; supported: ${supported}`,
        {
          details: [{ field: 'lang_version', message: `supported: ${supported}` }],
        },
      );
    }
    const limits = resolveLimits(input.limits, maxLimits(this.o.settings));

    const id = randomUUID();
    const now = new Date();
    const execution: Execution = {
      id,
      userId: caller.id,
      lang: input.lang,
      langVersion: input.lang_version,
      script: input.script,
      stdin: input.stdin ?? '',
      args: input.args ?? [],
      limits,
      priority,
      status: 'queued',
      requestPublished: false,
      outcome: null,
      createdAt: now,
      updatedAt: now,
      scheduledAt: null,
      startedAt: null,
      finishedAt: null,
    };
    this.assertPublishable(execution);
    if (idempotencyKey !== undefined) {
      const existing = await this.claimIdempotencyKey(caller.id, idempotencyKey, id);
      if (typeof existing !== 'string') return existing;
    }
    await this.o.executions.create(execution);
    await this.publishRequested(execution);
    return execution;
  }

  /**
   * Refuses a request whose events would exceed the broker's message size: accepted, it could
   * never be published and would wait in `queued` until the queue timeout.
   */
  private assertPublishable(e: Execution): void {
    const bytes = encodedRequestBytes(requestPayload(e));
    const max = this.o.settings.KAFKA_MAX_MESSAGE_BYTES;
    if (bytes <= max) return;
    throw new AppError(
      'payload_too_large',
      `script, stdin and args encode to ${bytes} bytes as an event; the limit is ${max} (control characters and other escaped characters take up to 6 bytes each)`,
      { details: [{ field: 'script', message: `encoded event at most ${max} bytes` }] },
    );
  }

  /**
   * Publishes execution_requested; if Kafka is unavailable the reconciler publishes it later. A
   * record the broker refuses can never go out, so that execution fails at once instead.
   */
  async publishRequested(e: Execution): Promise<void> {
    const event = this.o.catalog.build(
      'execution_requested',
      e.id,
      requestPayload(e),
      this.metadata(e.userId, e.id),
    );
    try {
      await this.o.publish(event);
      await this.o.executions.markRequestPublished(e.id);
    } catch (err) {
      if (isRecordError(err)) {
        await this.failUnpublishable(e, err);
        return;
      }
      this.o.logger.warn(
        { err, execution_id: e.id },
        'execution_requested not published yet; the reconciler will',
      );
    }
  }

  private async failUnpublishable(e: Execution, err: unknown): Promise<void> {
    const reason = unpublishableReason(err);
    this.o.logger.error(
      { err, execution_id: e.id },
      'execution_requested refused by the broker; execution failed',
    );
    try {
      await this.o.publish(
        this.o.catalog.build(
          'execution_failed',
          e.id,
          resultWithoutOutput(e.id, 'failed', reason),
          this.metadata(e.userId, e.id),
        ),
      );
      await this.o.executions.markRequestPublished(e.id);
    } catch (failErr) {
      this.o.logger.warn(
        { err: failErr, execution_id: e.id },
        'failure not published yet; the reconciler will',
      );
    }
  }

  /**
   * The same key from the same user maps to one execution. Returns the id that owns the key:
   * `candidate` when this call claimed it, else the earlier execution's id (once it exists).
   */
  private async claimIdempotencyKey(
    userId: string,
    key: string,
    candidate: string,
  ): Promise<Execution | string> {
    const redisKey = `idempotency:${userId}:${key}`;
    const ttl = this.o.idempotencyTtlSeconds ?? 24 * 3600;
    const claimed = await this.o.redis().set(redisKey, candidate, 'EX', ttl, 'NX');
    if (claimed === 'OK') return candidate;
    const owner = await this.o.redis().get(redisKey);
    // A concurrent request with the same key may still be storing its execution.
    for (let i = 0; i < 50 && owner; i++) {
      const existing = await this.o.executions.findById(owner);
      if (existing) return existing;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new AppError('conflict', 'A request with this Idempotency-Key is still being processed; retry');
  }

  async get(caller: Caller, id: string): Promise<Execution> {
    const execution = await this.o.executions.findById(id);
    if (!execution) throw new AppError('not_found', `Execution ${id} not found`);
    if (execution.userId !== caller.id && caller.role !== 'admin') {
      throw new AppError('forbidden', 'This execution belongs to another user');
    }
    return execution;
  }

  async cancel(caller: Caller, id: string): Promise<Execution> {
    const execution = await this.get(caller, id);
    if (isTerminal(execution.status)) {
      throw new AppError('conflict', `Execution already finished (${execution.status})`);
    }
    await this.o.publish(
      this.o.catalog.build(
        'execution_cancel_requested',
        id,
        { execution_id: id, requested_by: caller.id, reason: `cancelled by ${caller.role} ${caller.id}` },
        this.metadata(caller.id, id),
      ),
    );
    return execution;
  }

  async retry(caller: Caller, id: string): Promise<Execution> {
    const original = await this.get(caller, id);
    return this.submit(caller, {
      script: original.script,
      lang: original.lang,
      lang_version: original.langVersion,
      stdin: original.stdin,
      args: original.args,
      limits: original.limits,
      priority: caller.role === 'admin' ? original.priority : 'normal',
    });
  }

  async list(caller: Caller, filter: Omit<ExecutionListFilter, 'userId'> & { status?: ExecutionStatus }) {
    return this.o.executions.list({ ...filter, userId: caller.id });
  }

  async delete(caller: Caller, id: string): Promise<void> {
    if (caller.role !== 'admin') throw new AppError('forbidden', 'Only admins may delete executions');
    if (!(await this.o.executions.delete(id))) throw new AppError('not_found', `Execution ${id} not found`);
  }

  private metadata(userId: string, correlationId: string) {
    return {
      service_name: this.o.settings.TRACING_SERVICE_NAME,
      service_version: this.o.settings.TRACING_SERVICE_VERSION,
      user_id: userId,
      correlation_id: correlationId,
    };
  }
}
