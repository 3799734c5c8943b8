import { after } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../src/local/azurite.js';
import { createStorageClients, type StorageClients } from '../../src/storage/azure-clients.js';
import { ensureStorage } from '../../src/services.js';

/** An in-memory Azurite on free ports for this test file, stopped when the file's tests end. */
export async function testAzurite(options: { location?: string } = {}): Promise<RunningAzurite & { clients: StorageClients }> {
  const azurite = await startAzurite(options.location ? { location: options.location } : {});
  after(() => azurite.stop());
  const clients = createStorageClients({ kind: 'connectionString', connectionString: azurite.connectionString });
  await ensureStorage(clients);
  return { ...azurite, clients };
}
