import { loadConfig } from '../config/config.js';
import { ensureStorage } from '../storage/provision.js';
import { startTelemetry } from '../telemetry/azure-monitor.js';
import { buildServices, type AppServices } from './services.js';

let appServices: Promise<AppServices> | undefined;

/**
 * The process's services, built once from its settings (a failed build is tried again on the next call). With a
 * connection string the tables and queues are created on first use; in Azure `infra/` does it.
 */
export function getAppServices(): Promise<AppServices> {
  appServices ??= (async () => {
    const config = loadConfig();
    const services = buildServices(config, { metrics: await startTelemetry() });
    if (services.config.storage.kind === 'connectionString') await ensureStorage(services.storage, (message) => console.warn(message));
    return services;
  })();
  appServices.catch(() => {
    appServices = undefined;
  });
  return appServices;
}
