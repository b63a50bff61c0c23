import { describe, expect, it } from 'vitest';
import { createPlatformCatalog, platformEventDefinitions } from './definitions.js';

const metadata = { service_name: 'api', service_version: '1.0.0', user_id: 'u-1', correlation_id: 'exec-1' };

describe('platform event catalog', () => {
  const catalog = createPlatformCatalog('prod.');

  it('when an execution completes, then its event carries exit code, output and resource usage', () => {
    const event = catalog.build(
      'execution_completed',
      'exec-1',
      {
        execution_id: 'exec-1',
        exit_code: 1,
        stdout: 'out',
        stderr: 'err',
        resource_usage: { wall_seconds: 0.5, cpu_seconds: 0.1, peak_memory_bytes: 1024 },
      },
      metadata,
    );

    expect(catalog.topicFor(event.event_type)).toBe('prod.execution_completed');
    expect(catalog.parse(JSON.parse(JSON.stringify(event)))).toEqual({ ok: true, event });
  });

  it('when a failure has an unknown error type, then the event is refused', () => {
    const result = catalog.parse({
      ...catalog.build(
        'execution_requested',
        'exec-2',
        {
          execution_id: 'exec-2',
          script: 'print(1)',
          lang: 'python',
          lang_version: '3.12',
          user_id: 'u-1',
        },
        metadata,
      ),
      event_type: 'execution_failed',
      payload: { execution_id: 'exec-2', reason: 'boom', error_type: 'script_error' },
    });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('payload.error_type');
  });

  it('when the catalog is listed, then every event type is versioned and has its own topic', () => {
    const types = Object.keys(platformEventDefinitions);
    for (const definition of Object.values(platformEventDefinitions))
      expect(definition.version).toBeGreaterThan(0);
    expect(new Set(catalog.topics()).size).toBe(types.length);
    expect(types).toEqual(
      expect.arrayContaining([
        'user_registered',
        'auth_failed',
        'execution_requested',
        'result_stored',
        'delete_pod_command',
      ]),
    );
  });
});
