import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { openTelemetryMetrics, type Metrics } from '../../src/telemetry/metrics.js';

export interface DataPoint {
  value: number;
  attributes: Record<string, unknown>;
}

/**
 * The app's OpenTelemetry metrics over the SDK's in-memory exporters, as the tests read them: each
 * instrument's data points (a histogram point's value is its count) and the log records emitted.
 */
export function recordedMetrics(): {
  metrics: Metrics;
  read(name: string): Promise<DataPoint[]>;
  sum(name: string, attributes?: Record<string, unknown>): Promise<number>;
  logs: InMemoryLogRecordExporter;
} {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const logs = new InMemoryLogRecordExporter();
  const loggers = new LoggerProvider({ processors: [new SimpleLogRecordProcessor(logs)] });
  const metrics = openTelemetryMetrics(provider.getMeter('test'), loggers.getLogger('test'));
  const read = async (name: string): Promise<DataPoint[]> => {
    exporter.reset();
    await reader.forceFlush();
    const found: MetricData[] = exporter
      .getMetrics()
      .flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics))
      .filter((metric) => metric.descriptor.name === name);
    return found.flatMap((metric) =>
      metric.dataPoints.map((point) => ({
        value: typeof point.value === 'number' ? point.value : (point.value as { count: number }).count,
        attributes: { ...point.attributes },
      })),
    );
  };
  const sum = async (name: string, attributes: Record<string, unknown> = {}): Promise<number> =>
    (await read(name))
      .filter((point) => Object.entries(attributes).every(([key, value]) => point.attributes[key] === value))
      .reduce((total, point) => total + point.value, 0);
  return { metrics, read, sum, logs };
}
