import { after } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../src/local/azurite.js';
import { createStorageClients, type StorageClients } from '../../src/storage/azure-clients.js';
import { ensureStorage } from '../../src/composition/services.js';
import { recordArtifact } from './artifacts.js';
import { allStoredText } from './storage-snapshot.js';

/** An in-memory Azurite on free ports for this test file, stopped when the file's tests end. */
export async function testAzurite(options: { location?: string } = {}): Promise<RunningAzurite & { clients: StorageClients }> {
  const azurite = await startAzurite(options.location ? { location: options.location } : {});
  const clients = createStorageClients({ kind: 'connectionString', connectionString: azurite.connectionString });
  after(async () => {
    recordArtifact('stored-entities', await allStoredText(clients).catch((error: unknown) => `storage unreadable: ${String(error)}`));
    await azurite.stop();
  });
  await ensureStorage(clients);
  return { ...azurite, clients };
}
