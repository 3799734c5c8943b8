import type { AddressInfo } from 'node:net';
import { parseStorageSettings, SETTINGS } from '../config/config.js';
import { ROUTE_PREFIX } from '../functions/function-table.js';
import { ConfigError, errorMessage } from '../shared/errors.js';
import { getAppServices } from '../composition/app-services.js';
import { ensureStorage } from '../storage/provision.js';
import { createStorageClients, DEFAULT_AZURITE, type StorageClients } from '../storage/azure-clients.js';
import { poisonQueueOf } from '../pipeline/queues.js';
import { ensureLocalAzurite, type RunningAzurite } from './azurite.js';
import { readHostJson } from './host-json.js';
import { createHttpHost, httpRoutesOf, type HostLog } from './http-host.js';
import { QueueListener, HOST_LEASE_MS, queueFunctionsOf } from './queue-host.js';
import { startTimers, timerFunctionsOf } from './timer-host.js';
import { installWorkerCore } from './worker-core.js';

export interface RuntimeOptions {
  root: string;
  port: number;
  /** Where Azurite keeps its data when the runtime starts one. */
  azuriteLocation: string;
  /** The queue lease; the host's is 10 minutes. Shorter only for tests of crashes. */
  queueLeaseMs?: number;
  /** Wake a queue listener when this process enqueues (`--wake-on-enqueue`); the host does not. */
  wakeOnEnqueue?: boolean;
  log?: HostLog;
}

export interface Runtime {
  port: number;
  stop(): Promise<void>;
}

const isDevStorage = (value: string | undefined): boolean => value?.replace(/\s/g, '').toLowerCase() === 'usedevelopmentstorage=true';

const defaultLog: HostLog = (level, functionName, message) => {
  const line = `[${new Date().toISOString()}] ${functionName}: ${message}`;
  if (level === 'error' || level === 'critical') console.error(line);
  else if (level === 'warning') console.warn(line);
  else if (level !== 'trace' && level !== 'debug') console.log(line);
};

/**
 * The storage the queue listeners poll. The host needs only `AzureWebJobsStorage` for its triggers, so a
 * problem with another setting leaves them running (each invocation then fails and logs the setting).
 */
async function triggerStorage(log: HostLog): Promise<StorageClients | undefined> {
  try {
    return (await getAppServices()).storage;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log('error', 'host', `CONFIGURATION ERROR${error.setting ? ` in ${error.setting}` : ''}: ${error.message}. Every function answers 503 naming it until it is fixed and the runtime restarted.`);
  }
  try {
    const settings = parseStorageSettings(process.env);
    const storage = createStorageClients(settings);
    if (settings.kind === 'connectionString') await ensureStorage(storage, (message) => log('warning', 'host', message));
    return storage;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    log('error', 'host', `the queue triggers cannot run: ${error.message}`);
    return undefined;
  }
}

/**
 * Serves the app as the Functions host would: app.ts registers through a stand-in `@azure/functions-core`, and its
 * HTTP and queue functions are served as host.json configures; starts Azurite when needed.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const log = options.log ?? defaultLog;
  let azurite: RunningAzurite | undefined;
  if (isDevStorage(process.env[SETTINGS.storage])) {
    azurite = await ensureLocalAzurite(options.azuriteLocation);
    const { host, blobPort, tablePort } = DEFAULT_AZURITE;
    log(
      'information',
      'host',
      azurite.process
        ? `Azurite started on ${host}:${blobPort}-${tablePort}, data in ${options.azuriteLocation}; it stops when this runtime exits`
        : `REUSING an Azurite that was already running on ${host}:${blobPort}-${tablePort}: its data is wherever that one keeps it, not in ${options.azuriteLocation}, and it keeps running after this runtime exits. Stop it to have npm start run its own.`,
    );
  }
  try {
    return await serve(options, log, azurite);
  } catch (error) {
    await azurite?.stop();
    throw error;
  }
}

async function serve(options: RuntimeOptions, log: HostLog, azurite: RunningAzurite | undefined): Promise<Runtime> {
  const host = readHostJson(`${options.root}/host.json`);
  const core = installWorkerCore();
  try {
    await import('../app.js');
  } catch (error) {
    // As under the worker: an app that throws at import registers nothing, and the host runs on without it.
    log('error', 'host', `Worker was unable to load entry point "src/app.ts": ${errorMessage(error)}`);
  }
  if (core.functions.length === 0) log('warning', 'host', 'No job functions found.');
  await core.capabilities().catch((error: unknown) => log('error', 'host', `Worker capabilities failed: ${errorMessage(error)}`));
  const storage = await triggerStorage(log);

  const server = createHttpHost(httpRoutesOf(core.functions), host.routePrefix, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;

  const listeners = storage
    ? queueFunctionsOf(core.functions).map(
        ({ fn, queueName }) => new QueueListener(fn, queueName, storage.queue(queueName), storage.queue(poisonQueueOf(queueName)), host.queues, log, {
            leaseMs: options.queueLeaseMs ?? HOST_LEASE_MS,
            wakeOnEnqueue: options.wakeOnEnqueue ?? false,
          }),
      )
    : [];
  for (const listener of listeners) listener.start();
  const timers = startTimers(core.functions, process.env, log);

  console.log(`\nFunctions:\n`);
  for (const route of httpRoutesOf(core.functions)) {
    console.log(`  ${route.name}: [${route.methods.join(',')}] http://localhost:${port}/${[host.routePrefix, route.route].filter(Boolean).join('/')}`);
  }
  for (const { fn, queueName } of queueFunctionsOf(core.functions)) console.log(`  ${fn.name}: queueTrigger (${queueName})`);
  for (const { fn, schedule } of timerFunctionsOf(core.functions)) console.log(`  ${fn.name}: timerTrigger (${schedule})`);
  console.log(`\nregistry-webhooks listening on http://localhost:${port}/${[host.routePrefix, ROUTE_PREFIX].filter(Boolean).join('/')}\n`);

  return {
    port,
    stop: async () => {
      await Promise.all([...listeners, ...timers].map((listener) => listener.stop()));
      // As the worker does when the host shuts it down: the app's appTerminate hooks (telemetry flush) run last.
      await core.runHooks('appTerminate').catch((error: unknown) => log('error', 'host', `appTerminate hook failed: ${errorMessage(error)}`));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await azurite?.stop();
    },
  };
}
