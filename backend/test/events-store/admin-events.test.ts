import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore, type StoredEvent } from '../../src/events-store/event-store.js';
import { MongoConnection } from '../../src/platform/mongo/mongo-connection.js';
import { ApiHarness, bearer, type LoginBody } from '../auth/api-harness.js';
import { testLogger } from '../test-logger.js';

describe('DELETE /admin/events/{id} through HTTP against the real servers', () => {
  const h = new ApiHarness();
  const mongo = new MongoConnection({
    url: h.settings.MONGODB_URL,
    dbName: h.settings.DATABASE_NAME,
    logger: testLogger(),
  });
  const store = new EventStore(mongo);
  let admin: LoginBody;
  let user: LoginBody;

  const stored = (): StoredEvent => {
    const id = randomUUID();
    return {
      envelope: {
        event_id: randomUUID(),
        event_type: 'execution_queued',
        event_version: 1,
        timestamp: new Date().toISOString(),
        aggregate_id: id,
        metadata: { service_name: 'test', service_version: '0', user_id: null, correlation_id: id },
        payload: { execution_id: id, priority: 'normal' },
      },
      topic: 'test.execution_queued',
      partition: 0,
      offset: '3',
    };
  };

  beforeAll(async () => {
    await h.start();
    await mongo.start();
    admin = await h.login(await h.createUser('admin'));
    user = await h.login(await h.createUser('user'));
  }, 60_000);
  afterAll(async () => {
    await mongo.stop();
    await h.stop();
  }, 60_000);

  it('when an admin deletes a stored event, then it is archived with the admin as deleter and gone from the store', async () => {
    const event = stored();
    await store.insertMany([event]);
    const id = event.envelope.event_id;
    const res = await h.request('DELETE', `/admin/events/${id}`, { headers: bearer(admin.access_token) });
    expect(res.status).toBe(204);
    expect(await store.findById(id)).toBeNull();
    expect(await store.findArchived(id)).toEqual({ ...event, deletedBy: admin.user.id });
    const again = await h.request('DELETE', `/admin/events/${id}`, { headers: bearer(admin.access_token) });
    expect(again.status).toBe(404);
  });

  it('when a user (or nobody) tries to delete an event, then 403 (401) and the event stays', async () => {
    const event = stored();
    await store.insertMany([event]);
    const id = event.envelope.event_id;
    expect(
      (await h.request('DELETE', `/admin/events/${id}`, { headers: bearer(user.access_token) })).status,
    ).toBe(403);
    expect((await h.request('DELETE', `/admin/events/${id}`)).status).toBe(401);
    expect(await store.findById(id)).toEqual(event);
  });
});
