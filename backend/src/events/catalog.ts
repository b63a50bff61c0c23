import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { AppError } from '../platform/errors/app-error.js';
import { EventEnvelope, type EventMetadata } from './envelope.js';

export interface EventDefinition {
  readonly version: number;
  readonly payload: z.ZodType;
}

/** `event_type → { version, payload schema }`, declared once per catalog. */
export type EventDefinitions = Readonly<Record<string, EventDefinition>>;

export type EventType<D extends EventDefinitions> = Extract<keyof D, string>;
export type PayloadOf<D extends EventDefinitions, K extends EventType<D>> = z.output<D[K]['payload']>;
export type PayloadInputOf<D extends EventDefinitions, K extends EventType<D>> = z.input<D[K]['payload']>;

/** The envelope of one event type with its typed payload. */
export type EventOf<D extends EventDefinitions, K extends EventType<D>> = Omit<
  EventEnvelope,
  'event_type' | 'payload'
> & {
  event_type: K;
  payload: PayloadOf<D, K>;
};

/** Any event of the catalog, discriminated by `event_type`. */
export type AnyEventOf<D extends EventDefinitions> = { [K in EventType<D>]: EventOf<D, K> }[EventType<D>];

export interface EventValidationFailure {
  ok: false;
  /** One line naming every offending field, e.g. `payload.exit_code: Invalid input: ...`. */
  reason: string;
  issues: readonly string[];
}

export type EventParseResult<E> = { ok: true; event: E } | EventValidationFailure;

export function validationFailure(issues: readonly string[]): EventValidationFailure {
  return { ok: false, reason: issues.join('; '), issues };
}

export interface EventCatalogOptions {
  /** KAFKA_TOPIC_PREFIX: prepended to every topic name. */
  topicPrefix: string;
}

/** Declares the definitions with their literal event types kept, so payloads infer per type. */
export function defineEvents<const D extends EventDefinitions>(definitions: D): D {
  return definitions;
}

/**
 * The typed edge between code and Kafka: validates envelope + payload per event type, builds
 * valid envelopes, and names one topic per event type.
 */
export class EventCatalog<D extends EventDefinitions> {
  readonly eventTypes: readonly EventType<D>[];
  private readonly byType: ReadonlyMap<string, EventDefinition>;
  private readonly typeByTopic: ReadonlyMap<string, EventType<D>>;
  private readonly topicPrefix: string;

  constructor(definitions: D, options: EventCatalogOptions) {
    this.topicPrefix = options.topicPrefix;
    this.eventTypes = Object.keys(definitions) as EventType<D>[];
    this.byType = new Map(Object.entries(definitions));
    this.typeByTopic = new Map(this.eventTypes.map((type) => [this.topicFor(type), type]));
  }

  has(type: string): type is EventType<D> {
    return this.byType.has(type);
  }

  topicFor(type: EventType<D>): string {
    return `${this.topicPrefix}${type}`;
  }

  eventTypeOfTopic(topic: string): EventType<D> | undefined {
    return this.typeByTopic.get(topic);
  }

  topics(): string[] {
    return this.eventTypes.map((type) => this.topicFor(type));
  }

  /** Validates anything (a decoded Kafka value, an envelope about to be sent) into a typed event. */
  parse(raw: unknown): EventParseResult<AnyEventOf<D>> {
    const issues: string[] = [];
    const envelope = EventEnvelope.safeParse(raw);
    if (!envelope.success) issues.push(...formatIssues(envelope.error.issues));

    const type = isRecord(raw) ? raw.event_type : undefined;
    const definition = typeof type === 'string' ? this.byType.get(type) : undefined;
    if (typeof type === 'string' && definition === undefined) {
      issues.push(`event_type: unknown event type "${type}"`);
    }
    if (definition === undefined || !isRecord(raw)) return validationFailure(issues);

    if (typeof raw.event_version === 'number' && raw.event_version !== definition.version) {
      issues.push(
        `event_version: expected ${definition.version} for ${String(type)}, found ${String(raw.event_version)}`,
      );
    }
    const payload = definition.payload.safeParse(raw.payload);
    if (!payload.success) issues.push(...formatIssues(payload.error.issues, 'payload'));

    if (!envelope.success || !payload.success || issues.length > 0) return validationFailure(issues);
    // The envelope passed and the payload matched the schema of its event_type: that is AnyEventOf<D>.
    return { ok: true, event: { ...envelope.data, payload: payload.data } as AnyEventOf<D> };
  }

  /**
   * A new, validated envelope (current time; uuid v4 id unless `eventId` is given, which callers use
   * for events they may publish again after a restart, so consumers that dedupe by id see one);
   * throws AppError('validation') if the payload is wrong.
   */
  build<K extends EventType<D>>(
    type: K,
    aggregateId: string,
    payload: PayloadInputOf<D, K>,
    metadata: EventMetadata,
    options: { eventId?: string } = {},
  ): EventOf<D, K> {
    const definition = this.byType.get(type);
    const result = this.parse({
      event_id: options.eventId ?? randomUUID(),
      event_type: type,
      event_version: definition?.version,
      timestamp: new Date().toISOString(),
      aggregate_id: aggregateId,
      metadata,
      payload,
    });
    if (!result.ok) {
      throw new AppError('validation', `cannot build ${type} event: ${result.reason}`, {
        details: result.issues,
      });
    }
    return result.event as EventOf<D, K>;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function formatIssues(issues: readonly z.core.$ZodIssue[], prefix?: string): string[] {
  return issues.map((issue) => {
    const path = [...(prefix === undefined ? [] : [prefix]), ...issue.path.map(String)].join('.');
    return `${path === '' ? '(root)' : path}: ${issue.message}`;
  });
}
