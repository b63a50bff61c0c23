import type { Admin, Consumer, Kafka } from 'kafkajs';
import {
  TERMINAL_EVENT_TYPES,
  type ExecutionResult,
  type PlatformEvent,
  type PlatformEventCatalog,
} from '../../src/events/definitions.js';
import { eventually } from '../test-logger.js';
import { uniqueSuffix } from '../test-settings.js';

type EventType = PlatformEvent['event_type'];

/** What the worker reports about a run: started, output, and one terminal event. */
export const RUN_EVENT_TYPES: readonly EventType[] = [
  'execution_started',
  'execution_output',
  ...TERMINAL_EVENT_TYPES,
];

export interface Recorded {
  event: PlatformEvent;
  /** When the test consumer received it (ms since epoch). */
  at: number;
}

/** The result a recorded terminal event carries; throws for any other event. */
export function resultOf(recorded: Recorded): ExecutionResult {
  const { event } = recorded;
  if (
    event.event_type !== 'execution_completed' &&
    event.event_type !== 'execution_failed' &&
    event.event_type !== 'execution_timeout' &&
    event.event_type !== 'execution_cancelled'
  ) {
    throw new Error(`${event.event_type} is not terminal`);
  }
  return event.payload;
}

export interface EventRecorderOptions {
  kafka: Kafka;
  catalog: PlatformEventCatalog;
  /** The event types to record, each from the beginning of its topic. */
  types: readonly EventType[];
  /** Default deadline of terminalOf() and eventOf(). */
  timeoutMs?: number;
}

/**
 * Records every event of `types` the system publishes, through a throwaway consumer group, and
 * tracks how far it has consumed each partition so that caughtUp() can tell when it has seen
 * everything published before a given moment.
 */
export class EventRecorder {
  readonly recorded: Recorded[] = [];
  private readonly topics: string[];
  private readonly timeoutMs: number;
  /** Next offset to consume, by `topic:partition`. */
  private readonly positions = new Map<string, number>();
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;

  constructor(private readonly options: EventRecorderOptions) {
    this.topics = options.types.map((type) => options.catalog.topicFor(type));
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  async start(): Promise<void> {
    if (this.consumer) return;
    const { kafka, catalog } = this.options;
    this.admin = kafka.admin();
    await this.admin.connect();
    const consumer = kafka.consumer({ groupId: `rec-${uniqueSuffix()}`, maxWaitTimeInMs: 50 });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ topic, partition, message }) => {
        const parsed = catalog.parse(JSON.parse(message.value?.toString() ?? 'null'));
        if (parsed.ok) this.recorded.push({ event: parsed.event, at: Date.now() });
        this.positions.set(`${topic}:${partition}`, Number(message.offset) + 1);
        return Promise.resolve();
      },
    });
  }

  async stop(): Promise<void> {
    const { consumer, admin } = this;
    this.consumer = undefined;
    this.admin = undefined;
    await consumer?.disconnect();
    await admin?.disconnect();
  }

  /**
   * Resolves once everything published to the recorded topics before the call has been recorded:
   * the end offsets are read now, then the consumed positions must reach them. Await it before
   * asserting that something happened exactly once, or not at all.
   */
  async caughtUp(timeoutMs = this.timeoutMs): Promise<void> {
    if (!this.admin) throw new Error('EventRecorder.start() was not called');
    const admin = this.admin;
    const ends = (
      await Promise.all(
        this.topics.map(async (topic) =>
          (await admin.fetchTopicOffsets(topic)).map((p) => ({
            key: `${topic}:${p.partition}`,
            low: Number(p.low),
            high: Number(p.high),
          })),
        ),
      )
    ).flat();
    await eventually(
      () => (ends.every((p) => Math.max(this.positions.get(p.key) ?? 0, p.low) >= p.high) ? true : undefined),
      { what: 'the event recorder to consume up to the end offsets', timeoutMs },
    );
  }

  /** The recorded events of one execution, optionally of one type, in the order received. */
  of(executionId: string, type?: EventType): Recorded[] {
    return this.recorded.filter(
      (r) => r.event.aggregate_id === executionId && (type === undefined || r.event.event_type === type),
    );
  }

  terminals(executionId: string): Recorded[] {
    return this.of(executionId).filter((r) =>
      (TERMINAL_EVENT_TYPES as readonly EventType[]).includes(r.event.event_type),
    );
  }

  async terminalOf(executionId: string, timeoutMs = this.timeoutMs): Promise<Recorded> {
    return eventually(() => this.terminals(executionId)[0], {
      what: `terminal event of ${executionId}`,
      timeoutMs,
    });
  }

  async eventOf(executionId: string, type: EventType, timeoutMs = this.timeoutMs): Promise<Recorded> {
    return eventually(() => this.of(executionId, type)[0], { what: `${type} of ${executionId}`, timeoutMs });
  }
}
