import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { metrics, NodeSDK, resources, tracing } from '@opentelemetry/sdk-node';
import type { SettingValues } from '../../settings/schema.js';
import { type Component, LifecycleGate } from '../lifecycle/component.js';
import type { Logger } from '../logging/logger.js';

export type TelemetrySettings = Pick<
  SettingValues,
  | 'OTLP_TRACES_ENDPOINT'
  | 'TRACING_SERVICE_NAME'
  | 'TRACING_SERVICE_VERSION'
  | 'TRACING_SAMPLING_RATE'
  | 'OTEL_EXPORTER_OTLP_ENDPOINT'
  | 'OTEL_SERVICE_NAME'
  | 'OTEL_SERVICE_VERSION'
  | 'OTEL_RESOURCE_ATTRIBUTES'
  | 'ENVIRONMENT'
>;

/** Resource attributes: service identity from our keys, extras from OTEL_RESOURCE_ATTRIBUTES. */
export function telemetryResourceAttributes(s: TelemetrySettings): Record<string, string> {
  const extra = Object.fromEntries(
    s.OTEL_RESOURCE_ATTRIBUTES.split(',')
      .filter((pair) => pair.includes('='))
      .map((pair) => {
        const at = pair.indexOf('=');
        return [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
      }),
  );
  return {
    ...extra,
    'service.name': s.OTEL_SERVICE_NAME || s.TRACING_SERVICE_NAME,
    'service.version': s.OTEL_SERVICE_VERSION || s.TRACING_SERVICE_VERSION,
    'deployment.environment.name': s.ENVIRONMENT,
  };
}

/**
 * OpenTelemetry for one process: traces over OTLP gRPC when OTLP_TRACES_ENDPOINT is set (parent-based
 * ratio sampling), metrics when OTEL_EXPORTER_OTLP_ENDPOINT is set. With both empty nothing starts and
 * the @opentelemetry/api calls in our code are no-ops.
 */
export class Telemetry implements Component {
  readonly name = 'telemetry';
  private readonly gate = new LifecycleGate();
  private sdk: NodeSDK | undefined;

  constructor(
    private readonly settings: TelemetrySettings,
    private readonly logger: Logger,
  ) {}

  get enabled(): boolean {
    return this.settings.OTLP_TRACES_ENDPOINT !== '' || this.settings.OTEL_EXPORTER_OTLP_ENDPOINT !== '';
  }

  start(): Promise<void> {
    return this.gate.start(async () => {
      const s = this.settings;
      if (!this.enabled) {
        this.logger.info('tracing and metrics export disabled (no OTLP endpoint configured)');
        return;
      }
      this.sdk = new NodeSDK({
        resource: resources.resourceFromAttributes(telemetryResourceAttributes(s)),
        traceExporter: s.OTLP_TRACES_ENDPOINT
          ? new OTLPTraceExporter({ url: s.OTLP_TRACES_ENDPOINT })
          : undefined,
        sampler: new tracing.ParentBasedSampler({
          root: new tracing.TraceIdRatioBasedSampler(s.TRACING_SAMPLING_RATE),
        }),
        metricReaders: s.OTEL_EXPORTER_OTLP_ENDPOINT
          ? [
              new metrics.PeriodicExportingMetricReader({
                exporter: new OTLPMetricExporter({ url: s.OTEL_EXPORTER_OTLP_ENDPOINT }),
              }),
            ]
          : [],
        instrumentations: [],
      });
      this.sdk.start();
      await Promise.resolve();
      this.logger.info(
        { traces: s.OTLP_TRACES_ENDPOINT || null, metrics: s.OTEL_EXPORTER_OTLP_ENDPOINT || null },
        'telemetry started',
      );
    });
  }

  stop(): Promise<void> {
    return this.gate.stop(async () => {
      await this.sdk?.shutdown();
    });
  }
}
