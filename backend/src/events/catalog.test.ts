import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../platform/errors/app-error.js';
import { defineEvents, EventCatalog } from './catalog.js';

const definitions = defineEvents({
  parcel_sent: {
    version: 2,
    payload: z.object({ parcel_id: z.string().min(1), weight_grams: z.number().int().positive() }),
  },
  parcel_lost: { version: 1, payload: z.object({ parcel_id: z.string(), last_seen: z.string().optional() }) },
});

const catalog = new EventCatalog(definitions, { topicPrefix: 'unit.' });
const metadata = { service_name: 'unit', service_version: '1.0.0', correlation_id: 'corr-1' };

function validRaw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: '5b0f7a1e-3c2d-4e5f-8a9b-0c1d2e3f4a5b',
    event_type: 'parcel_sent',
    event_version: 2,
    timestamp: '2025-01-02T03:04:05.678Z',
    aggregate_id: 'parcel-1',
    metadata,
    payload: { parcel_id: 'parcel-1', weight_grams: 250 },
    ...overrides,
  };
}

describe('EventCatalog', () => {
  it('when an event is built, then it has a v4 uuid, the current time, the declared version and the payload', () => {
    const before = Date.now();
    const event = catalog.build(
      'parcel_sent',
      'parcel-9',
      { parcel_id: 'parcel-9', weight_grams: 10 },
      metadata,
    );

    expect(event.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Date.parse(event.timestamp)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.timestamp)).toBeLessThanOrEqual(Date.now());
    expect(event).toMatchObject({
      event_type: 'parcel_sent',
      event_version: 2,
      aggregate_id: 'parcel-9',
      metadata,
      payload: { parcel_id: 'parcel-9', weight_grams: 10 },
    });
    expectTypeOf(event.payload).toEqualTypeOf<{ parcel_id: string; weight_grams: number }>();
  });

  it('when two events are built, then their ids differ', () => {
    const a = catalog.build('parcel_lost', 'p', { parcel_id: 'p' }, metadata);
    const b = catalog.build('parcel_lost', 'p', { parcel_id: 'p' }, metadata);
    expect(a.event_id).not.toBe(b.event_id);
  });

  it('when a payload breaks its schema at build time, then a validation AppError names the field', () => {
    const build = () => catalog.build('parcel_sent', 'p', { parcel_id: 'p', weight_grams: -1 }, metadata);
    expect(build).toThrow(AppError);
    expect(build).toThrow(/payload\.weight_grams/);
  });

  it('when a valid envelope is parsed, then the event is returned with its payload typed by event type', () => {
    const result = catalog.parse(validRaw());

    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const event = result.event;
    expect(event.payload).toEqual({ parcel_id: 'parcel-1', weight_grams: 250 });
    if (event.event_type === 'parcel_sent') {
      expectTypeOf(event.payload.weight_grams).toEqualTypeOf<number>();
    } else {
      expectTypeOf(event.payload.last_seen).toEqualTypeOf<string | undefined>();
    }
  });

  it('when the payload breaks the schema of its type, then the failure lists every offending field', () => {
    const result = catalog.parse(validRaw({ payload: { parcel_id: '', weight_grams: 'heavy' } }));

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(2);
    expect(result.reason).toContain('payload.parcel_id:');
    expect(result.reason).toContain('payload.weight_grams:');
  });

  it('when the event type is unknown, then the failure says so', () => {
    const result = catalog.parse(validRaw({ event_type: 'parcel_eaten' }));

    expect(result).toMatchObject({ ok: false, reason: 'event_type: unknown event type "parcel_eaten"' });
  });

  it('when envelope fields are wrong, then the failure names them together with payload problems', () => {
    const result = catalog.parse(
      validRaw({
        event_id: 'not-a-uuid',
        timestamp: 'yesterday',
        metadata: { service_name: 'x' },
        payload: {},
      }),
    );

    expect(result.ok).toBe(false);
    if (result.ok) return;
    const fields = result.issues.map((issue) => issue.split(':')[0]);
    expect(fields).toEqual(
      expect.arrayContaining([
        'event_id',
        'timestamp',
        'metadata.service_version',
        'metadata.correlation_id',
        'payload.parcel_id',
        'payload.weight_grams',
      ]),
    );
  });

  it('when the event version differs from the declared one, then the envelope is refused', () => {
    const result = catalog.parse(validRaw({ event_version: 1 }));

    expect(result).toMatchObject({ ok: false, reason: 'event_version: expected 2 for parcel_sent, found 1' });
  });

  it('when the input is not an object, then the failure is about the root', () => {
    const result = catalog.parse('parcel');

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toMatch(/^\(root\): /);
  });

  it('when the user id is null or missing, then the metadata is still valid', () => {
    expect(catalog.parse(validRaw({ metadata: { ...metadata, user_id: null } })).ok).toBe(true);
    expect(catalog.parse(validRaw({ metadata: { ...metadata, user_id: 'u-1' } })).ok).toBe(true);
  });

  it('when topics are named, then each event type has its own prefixed topic and maps back', () => {
    expect(catalog.topicFor('parcel_sent')).toBe('unit.parcel_sent');
    expect(catalog.topics()).toEqual(['unit.parcel_sent', 'unit.parcel_lost']);
    expect(catalog.eventTypeOfTopic('unit.parcel_lost')).toBe('parcel_lost');
    expect(catalog.eventTypeOfTopic('parcel_lost')).toBeUndefined();
  });

  it('when asked about a name inherited from Object.prototype, then it is not an event type', () => {
    expect(catalog.has('toString')).toBe(false);
    expect(catalog.parse(validRaw({ event_type: 'toString' })).ok).toBe(false);
  });
});
