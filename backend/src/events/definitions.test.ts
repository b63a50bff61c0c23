import { describe, expect, it } from 'vitest';
import {
  createPlatformCatalog,
  ExecutionVerdict,
  platformEventDefinitions,
  terminalEventTypeOf,
  TERMINAL_EVENT_TYPES,
} from './definitions.js';

const metadata = { service_name: 'api', service_version: '1.0.0', user_id: 'u-1', correlation_id: 'exec-1' };
const limits = {
  wall_seconds: 5,
  cpu_seconds: 5,
  memory_bytes: 128 * 1024 * 1024,
  max_processes: 64,
  max_file_bytes: 1024 * 1024,
  max_output_bytes: 65536,
};

describe('platform event catalog', () => {
  const catalog = createPlatformCatalog('prod.');

  it('when an execution completes, then its event carries verdict, exit code, base64 output and usage', () => {
    const event = catalog.build(
      'execution_completed',
      'exec-1',
      {
        execution_id: 'exec-1',
        verdict: 'completed',
        exit_code: 1,
        signal: null,
        stdout_b64: Buffer.from('out').toString('base64'),
        stderr_b64: Buffer.from([0xff, 0xfe]).toString('base64'),
        output_truncated: false,
        output_chunks: 2,
        resource_usage: { wall_seconds: 0.5, cpu_seconds: 0.1, peak_memory_bytes: 1024 },
        reason: null,
      },
      metadata,
    );

    expect(catalog.topicFor(event.event_type)).toBe('prod.execution_completed');
    expect(catalog.parse(JSON.parse(JSON.stringify(event)))).toEqual({ ok: true, event });
  });

  it('when a terminal event has an unknown verdict, then the event is refused naming the field', () => {
    const requested = catalog.build(
      'execution_requested',
      'exec-2',
      {
        execution_id: 'exec-2',
        user_id: 'u-1',
        lang: 'python',
        lang_version: '3.11',
        script: 'print(1)',
        stdin: '',
        args: [],
        limits,
        priority: 'normal',
      },
      metadata,
    );
    const result = catalog.parse({
      ...requested,
      event_type: 'execution_failed',
      payload: { execution_id: 'exec-2', verdict: 'script_error' },
    });

    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('payload.verdict');
  });

  it('when each verdict is mapped, then it lands on one of the terminal event types', () => {
    const mapped = ExecutionVerdict.options.map((v) => terminalEventTypeOf(v));
    expect(new Set(mapped)).toEqual(new Set(TERMINAL_EVENT_TYPES));
    expect(terminalEventTypeOf('completed')).toBe('execution_completed');
    expect(terminalEventTypeOf('memory_limit')).toBe('execution_failed');
    expect(terminalEventTypeOf('timeout')).toBe('execution_timeout');
    expect(terminalEventTypeOf('cancelled')).toBe('execution_cancelled');
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
        'execution_output',
        'result_stored',
        'delete_pod_command',
      ]),
    );
  });
});
