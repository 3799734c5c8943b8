import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { logs, SeverityNumber } from '@opentelemetry/api-logs';
import { BatchLogRecordProcessor, InMemoryLogRecordExporter, LoggerProvider } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { installWorkerCore } from '../../src/local/worker-core.js';
import { METRIC_NAMES, openTelemetryMetrics } from '../../src/telemetry/metrics.js';

const HOUR = 3_600_000;
const bodyOf = (record: { body?: unknown }): string => (typeof record.body === 'string' ? record.body : JSON.stringify(record.body));

/**
 * The app under the worker stand-in, with telemetry pointed at in-memory exporters that export only when flushed (an
 * hour's interval and batch delay, longer than any test): what they hold after the appTerminate hooks ran is what a
 * scaled-in instance would have sent, and nothing is sent before.
 */
describe("telemetry in the host's OpenTelemetry mode", () => {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: HOUR })] }));
  const logExporter = new InMemoryLogRecordExporter();
  logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new BatchLogRecordProcessor(logExporter, { scheduledDelayMillis: HOUR, maxExportBatchSize: 1000 })] }));
  const core = installWorkerCore();
  process.env.APPLICATIONINSIGHTS_CONNECTION_STRING = 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:1/';
  process.env.WEBHOOKS_SECRET_KEY = 'unused';
  const loaded = import('../../src/app.js');
  const appMetrics = openTelemetryMetrics(metrics.getMeter('registry-webhooks'), logs.getLogger('registry-webhooks'));

  it('tells the host the worker sends its own telemetry', async () => {
    await loaded;
    assert.equal((await core.capabilities()).WorkerOpenTelemetryEnabled, 'true');
  });

  it('forwards each log with its severity, and flushes metrics and logs when the instance terminates', async () => {
    await loaded;
    appMetrics.delivery('succeeded', 'http', 'MODEL_VERSION_CREATED', 'wh-1');
    appMetrics.eventLag(42, 'MODEL_VERSION_CREATED');
    for (const level of ['information', 'warning', 'error'] as const) await core.runHooks('log', { level, message: `a ${level} log`, category: 'user' });
    assert.equal(metricExporter.getMetrics().length, 0, 'nothing is exported before the flush');
    assert.equal(logExporter.getFinishedLogRecords().length, 0, 'nothing is exported before the flush');

    await core.runHooks('appTerminate');

    const exported = metricExporter.getMetrics().flatMap((resource) => resource.scopeMetrics.flatMap((scope) => scope.metrics.map((metric) => metric.descriptor.name)));
    assert.ok(exported.includes(METRIC_NAMES.deliveries) && exported.includes(METRIC_NAMES.eventLag), `exported: ${exported.join(', ')}`);
    const records = logExporter.getFinishedLogRecords();
    assert.deepEqual(
      records.map((record) => bodyOf(record)).sort(),
      [METRIC_NAMES.eventLag, 'a error log', 'a information log', 'a warning log'].sort(),
    );
    for (const record of records) {
      assert.ok(record.severityNumber !== undefined && record.severityNumber > SeverityNumber.UNSPECIFIED, `${bodyOf(record)} has a severity`);
      assert.ok(record.severityText, `${bodyOf(record)} has a severity text`);
    }
    const bySeverity = Object.fromEntries(records.map((record) => [bodyOf(record), record.severityNumber]));
    assert.equal(bySeverity['a warning log'], SeverityNumber.WARN);
    assert.equal(bySeverity['a error log'], SeverityNumber.ERROR);
  });
});
