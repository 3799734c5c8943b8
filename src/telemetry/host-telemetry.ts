import type * as AzureFunctions from '@azure/functions';
import { metrics } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import type { AzureFunctionsInstrumentationESM } from '@azure/functions-opentelemetry-instrumentation';
import { errorMessage } from '../shared/errors.js';

export type Env = Record<string, string | undefined>;
export const CONNECTION_STRING = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

/** Whether telemetry has somewhere to go: an Application Insights connection string. */
const hasTelemetryDestination = (env: Env): boolean => Boolean(env[CONNECTION_STRING]?.trim());

/** The longest the app waits for its telemetry to leave at shutdown: the host gives a terminating worker a few seconds. */
export const FLUSH_TIMEOUT_MS = 5_000;

let instrumentation: AzureFunctionsInstrumentationESM | undefined;

/**
 * The host's OpenTelemetry mode (`"telemetryMode": "OpenTelemetry"` in host.json): the worker declares that it sends its
 * own logs (the WorkerOpenTelemetryEnabled capability), forwards every context.log through OpenTelemetry with its
 * severity, and runs each handler in the host's trace context, so the app's logs and metrics correlate with the host's
 * invocations. Awaited by app.ts after the functions registered, before the worker reports its capabilities; it never
 * throws (the package is loaded here, so even its absence leaves the functions registered).
 */
export async function enableHostTelemetry(functions: typeof AzureFunctions, env: Env = process.env, warn: (message: string) => void = console.warn): Promise<void> {
  if (!hasTelemetryDestination(env) || instrumentation) return;
  try {
    // A CommonJS bundle: plain Node's ESM loader shows its classes only on the default export, tsx by name.
    const loaded = await import('@azure/functions-opentelemetry-instrumentation');
    const exported: unknown[] = [loaded, loaded.default];
    const library = exported.find((candidate): candidate is typeof loaded => typeof (candidate as Partial<typeof loaded> | undefined)?.AzureFunctionsInstrumentationESM === 'function');
    if (!library) throw new Error('@azure/functions-opentelemetry-instrumentation exports no AzureFunctionsInstrumentationESM');
    instrumentation = new library.AzureFunctionsInstrumentationESM();
    instrumentation.registerAzFunc(functions);
  } catch (error) {
    instrumentation = undefined;
    warn(`the host's OpenTelemetry mode is not enabled: ${errorMessage(error)}`);
  }
}

/** Points the forwarded logs at the logger provider telemetry registered (it starts after the functions register). */
export function attachHostLogs(): void {
  instrumentation?.setLoggerProvider(logs.getLoggerProvider());
}

interface Flushable {
  forceFlush?: () => Promise<unknown>;
}

/**
 * Sends what the metric readers and log processors still hold, bounded in time. Registered on appTerminate, so an
 * instance scaled in does not take up to a minute of metrics (the export interval) with it.
 */
export async function flushTelemetry(timeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
  const providers = [metrics.getMeterProvider(), logs.getLoggerProvider()] as Flushable[];
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  const flushed = Promise.allSettled(providers.map((provider) => provider.forceFlush?.() ?? Promise.resolve()));
  await Promise.race([flushed, deadline]);
  clearTimeout(timer);
}
