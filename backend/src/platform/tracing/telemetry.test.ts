import { isSpanContextValid, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/logger.js';
import { Telemetry, telemetryResourceAttributes, type TelemetrySettings } from './telemetry.js';

function settings(overrides: Partial<TelemetrySettings> = {}): TelemetrySettings {
  return {
    OTLP_TRACES_ENDPOINT: '',
    TRACING_SERVICE_NAME: 'integr8scode-backend',
    TRACING_SERVICE_VERSION: '1.0.0',
    TRACING_SAMPLING_RATE: 1,
    OTEL_EXPORTER_OTLP_ENDPOINT: '',
    OTEL_SERVICE_NAME: '',
    OTEL_SERVICE_VERSION: '',
    OTEL_RESOURCE_ATTRIBUTES: '',
    ENVIRONMENT: 'test',
    ...overrides,
  };
}

describe('telemetryResourceAttributes', () => {
  it('when OTEL_SERVICE_NAME and OTEL_SERVICE_VERSION are empty, then the TRACING_* values name the service', () => {
    expect(
      telemetryResourceAttributes(
        settings({
          TRACING_SERVICE_NAME: 'integr8scode-saga-orchestrator',
          TRACING_SERVICE_VERSION: '2.3.4',
        }),
      ),
    ).toEqual({
      'service.name': 'integr8scode-saga-orchestrator',
      'service.version': '2.3.4',
      'deployment.environment.name': 'test',
    });
  });

  it('when OTEL_SERVICE_NAME and OTEL_SERVICE_VERSION are set, then they win over the TRACING_* values', () => {
    const attrs = telemetryResourceAttributes(
      settings({
        TRACING_SERVICE_NAME: 'tracing-name',
        TRACING_SERVICE_VERSION: '1.0.0',
        OTEL_SERVICE_NAME: 'otel-name',
        OTEL_SERVICE_VERSION: '7.0.0',
        ENVIRONMENT: 'production',
      }),
    );
    expect(attrs['service.name']).toBe('otel-name');
    expect(attrs['service.version']).toBe('7.0.0');
    expect(attrs['deployment.environment.name']).toBe('production');
  });

  it('when OTEL_RESOURCE_ATTRIBUTES has pairs, then they are added trimmed, keeping any "=" inside a value', () => {
    expect(
      telemetryResourceAttributes(
        settings({ OTEL_RESOURCE_ATTRIBUTES: 'team=core, region = eu-west-1 ,query=a=b' }),
      ),
    ).toEqual({
      team: 'core',
      region: 'eu-west-1',
      query: 'a=b',
      'service.name': 'integr8scode-backend',
      'service.version': '1.0.0',
      'deployment.environment.name': 'test',
    });
  });

  it('when OTEL_RESOURCE_ATTRIBUTES sets service.name, service.version or the environment, then our keys still win', () => {
    const attrs = telemetryResourceAttributes(
      settings({
        OTEL_SERVICE_NAME: 'otel-name',
        OTEL_RESOURCE_ATTRIBUTES:
          'service.name=impostor,service.version=0.0.0,deployment.environment.name=production,team=core',
      }),
    );
    expect(attrs).toEqual({
      team: 'core',
      'service.name': 'otel-name',
      'service.version': '1.0.0',
      'deployment.environment.name': 'test',
    });
  });
});

describe('Telemetry', () => {
  it('when either endpoint is set, then enabled is true', () => {
    const logger = createLogger({ service: 'telemetry-test', version: '0', level: 'silent' });
    expect(new Telemetry(settings({ OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4317' }), logger).enabled).toBe(
      true,
    );
    expect(
      new Telemetry(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317' }), logger).enabled,
    ).toBe(true);
  });

  it('when both endpoints are empty, then it is disabled, start and stop resolve and no tracer provider is registered', async () => {
    const lines: Array<{ msg: string }> = [];
    const logger = createLogger({
      service: 'telemetry-test',
      version: '0',
      level: 'info',
      destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
    });
    const telemetry = new Telemetry(settings(), logger);
    expect(telemetry.enabled).toBe(false);
    await expect(telemetry.start()).resolves.toBeUndefined();
    expect(lines.map((l) => l.msg)).toEqual([
      'tracing and metrics export disabled (no OTLP endpoint configured)',
    ]);
    // With no SDK the global API stays the no-op one: spans get an invalid, non-recording context.
    const span = trace.getTracer('telemetry-test').startSpan('probe');
    expect(span.isRecording()).toBe(false);
    expect(isSpanContextValid(span.spanContext())).toBe(false);
    span.end();
    await expect(telemetry.stop()).resolves.toBeUndefined();
  });
});
