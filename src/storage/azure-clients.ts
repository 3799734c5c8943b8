import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { StorageSettings } from '../config/config.js';
import { DEV_STORAGE } from '../config/config.js';

/** Azurite's well-known development account. */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteEndpoints {
  host: string;
  blobPort: number;
  queuePort: number;
  tablePort: number;
}

export const DEFAULT_AZURITE: AzuriteEndpoints = { host: '127.0.0.1', blobPort: 10000, queuePort: 10001, tablePort: 10002 };

export function azuriteConnectionString(endpoints: AzuriteEndpoints = DEFAULT_AZURITE): string {
  const base = (port: number) => `http://${endpoints.host}:${port}/${DEV_ACCOUNT}`;
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${DEV_ACCOUNT}`,
    `AccountKey=${DEV_ACCOUNT_KEY}`,
    `BlobEndpoint=${base(endpoints.blobPort)}`,
    `QueueEndpoint=${base(endpoints.queuePort)}`,
    `TableEndpoint=${base(endpoints.tablePort)}`,
  ].join(';');
}

/** `UseDevelopmentStorage=true` spelled out, so both SDKs see the same explicit endpoints. */
export const expandConnectionString = (connectionString: string): string =>
  connectionString.replace(/\s/g, '').toLowerCase() === DEV_STORAGE.toLowerCase() ? azuriteConnectionString() : connectionString;

export interface StorageClients {
  table(name: string): TableClient;
  tableService(): TableServiceClient;
  queue(name: string): QueueClient;
  queueService(): QueueServiceClient;
}

/** The identity for identity-based storage, read as the host reads `AzureWebJobsStorage__credential` and `__clientId`. */
export function credentialFor(settings: { credential?: string; clientId?: string }): TokenCredential {
  if (settings.credential?.toLowerCase() === 'managedidentity') {
    return settings.clientId ? new ManagedIdentityCredential({ clientId: settings.clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(settings.clientId ? { managedIdentityClientId: settings.clientId } : {});
}

/** The one place that builds Azure Storage clients: connection string (Azurite) or identity-based. */
export function createStorageClients(settings: StorageSettings): StorageClients {
  if (settings.kind === 'connectionString') {
    const connectionString = expandConnectionString(settings.connectionString);
    const insecure = { allowInsecureConnection: /DefaultEndpointsProtocol=http(;|$)/i.test(connectionString) };
    return {
      table: (name) => TableClient.fromConnectionString(connectionString, name, insecure),
      tableService: () => TableServiceClient.fromConnectionString(connectionString, insecure),
      queue: (name) => new QueueClient(connectionString, name),
      queueService: () => QueueServiceClient.fromConnectionString(connectionString),
    };
  }
  const credential = credentialFor(settings);
  const queueService = new QueueServiceClient(settings.queueServiceUri, credential);
  return {
    table: (name) => new TableClient(settings.tableServiceUri, name, credential),
    tableService: () => new TableServiceClient(settings.tableServiceUri, credential),
    queue: (name) => queueService.getQueueClient(name),
    queueService: () => queueService,
  };
}
