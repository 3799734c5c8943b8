import { metrics } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { errorMessage } from '../shared/errors.js';
import { attachHostLogs, CONNECTION_STRING, type Env } from './host-telemetry.js';
import { noopMetrics, openTelemetryMetrics, type Metrics } from './metrics.js';

const AUTHENTICATION_STRING = 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING';
const METER_NAME = 'registry-webhooks';


/** `ClientId=<id>;Authorization=AAD` (the host's form): telemetry is sent with that managed identity. */
export function parseAuthenticationString(raw: string | undefined): { aad: boolean; clientId?: string } {
  const parts = new Map(
    (raw ?? '')
      .split(';')
      .map((part) => part.split('=').map((side) => side.trim()))
      .filter((pair): pair is [string, string] => pair.length === 2 && pair[0] !== '')
      .map(([key, value]) => [key.toLowerCase(), value]),
  );
  const clientId = parts.get('clientid');
  return { aad: parts.get('authorization')?.toUpperCase() === 'AAD', ...(clientId ? { clientId } : {}) };
}

let started: Promise<Metrics> | undefined;

/**
 * Exports metrics and logs to Application Insights when `APPLICATIONINSIGHTS_CONNECTION_STRING` is set, unsampled (the
 * host records requests itself); a failure to start is logged, never fatal.
 */
export function startTelemetry(env: Env = process.env, warn: (message: string) => void = console.warn): Promise<Metrics> {
  started ??= (async () => {
    const connectionString = env[CONNECTION_STRING]?.trim();
    if (!connectionString) return noopMetrics;
    try {
      const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
      const auth = parseAuthenticationString(env[AUTHENTICATION_STRING]);
      const { ManagedIdentityCredential } = await import('@azure/identity');
      useAzureMonitor({
        azureMonitorExporterOptions: {
          connectionString,
          ...(auth.aad ? { credential: auth.clientId ? new ManagedIdentityCredential({ clientId: auth.clientId }) : new ManagedIdentityCredential() } : {}),
        },
        samplingRatio: 1,
        tracesPerSecond: 0,
        enableTraceBasedSamplingForLogs: false,
        enableLiveMetrics: false,
        instrumentationOptions: {
          azureSdk: { enabled: false },
          http: { enabled: false },
          mongoDb: { enabled: false },
          mySql: { enabled: false },
          postgreSql: { enabled: false },
          redis: { enabled: false },
          redis4: { enabled: false },
          bunyan: { enabled: false },
          winston: { enabled: false },
        },
      });
      attachHostLogs();
      return openTelemetryMetrics(metrics.getMeter(METER_NAME), logs.getLogger(METER_NAME));
    } catch (error) {
      warn(`telemetry not started, metrics are not exported: ${errorMessage(error)}`);
      return noopMetrics;
    }
  })();
  return started;
}
