import type { AddressInfo } from 'node:net';
import { SETTINGS } from '../config.js';
import { functionTable, type HttpFunction, type QueueFunction } from '../function-table.js';
import { getAppServices } from '../services.js';
import { DEFAULT_AZURITE } from '../storage/azure-clients.js';
import { poisonQueueOf } from '../storage/names.js';
import { ensureLocalAzurite, type RunningAzurite } from './azurite.js';
import { readHostJson } from './host-json.js';
import { createHttpHost, type HostLog } from './http-host.js';
import { QueueListener, HOST_LEASE_MS } from './queue-host.js';

export interface RuntimeOptions {
  root: string;
  port: number;
  /** Where Azurite keeps its data when the runtime starts one. */
  azuriteLocation: string;
  /** The queue lease; the host's is 10 minutes. Shorter only for tests of crashes. */
  queueLeaseMs?: number;
  log?: HostLog;
}

export interface Runtime {
  port: number;
  stop(): Promise<void>;
}

const isDevStorage = (value: string | undefined): boolean => value?.replace(/\s/g, '').toLowerCase() === 'usedevelopmentstorage=true';

const defaultLog: HostLog = (level, functionName, message) => {
  const line = `[${new Date().toISOString()}] ${functionName}: ${message}`;
  if (level === 'error') console.error(line);
  else if (level === 'warning') console.warn(line);
  else if (level !== 'trace' && level !== 'debug') console.log(line);
};

/**
 * Serves the function table as the Functions host would: HTTP functions under the route prefix, and a queue
 * listener per queue function, configured from host.json. Starts Azurite when the settings point at
 * development storage and none is running.
 */
export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const log = options.log ?? defaultLog;
  let azurite: RunningAzurite | undefined;
  if (isDevStorage(process.env[SETTINGS.storage])) {
    azurite = await ensureLocalAzurite(options.azuriteLocation);
    log('information', 'host', azurite.process ? `Azurite started, data in ${options.azuriteLocation}` : `reusing the Azurite on ${DEFAULT_AZURITE.host}`);
  }
  const host = readHostJson(`${options.root}/host.json`);
  const table = functionTable(getAppServices);
  // Loads the settings (failing fast on bad ones) and ensures storage before anything is served.
  const { storage } = await getAppServices();

  const http = table.filter((fn): fn is HttpFunction => fn.kind === 'http');
  const server = createHttpHost(http, host.routePrefix, log);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;

  const listeners = table
    .filter((fn): fn is QueueFunction => fn.kind === 'queue')
    .map((fn) => new QueueListener(fn, storage.queue(fn.queueName), storage.queue(poisonQueueOf(fn.queueName)), host.queues, log, options.queueLeaseMs ?? HOST_LEASE_MS));
  for (const listener of listeners) listener.start();

  console.log(`\nFunctions:\n`);
  for (const fn of table) {
    console.log(
      fn.kind === 'http'
        ? `  ${fn.name}: [${fn.methods.join(',')}] http://localhost:${port}/${host.routePrefix}/${fn.route}`
        : `  ${fn.name}: queueTrigger (${fn.queueName})`,
    );
  }
  console.log(`\nregistry-webhooks listening on http://localhost:${port}/${host.routePrefix}\n`);

  return {
    port,
    stop: async () => {
      await Promise.all(listeners.map((listener) => listener.stop()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await azurite?.stop();
    },
  };
}
