import { after } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../src/local/azurite.js';
import { createStorageClients, type StorageClients } from '../../src/storage/azure-clients.js';
import { ensureStorage } from '../../src/storage/provision.js';
import { recordArtifact } from './artifacts.js';
import { QUEUES } from '../../src/pipeline/queues.js';
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

/** Resolves once the fan-out and delivery queues hold nothing: every published event settled, no retry due later. */
export const pipelineIdle = (clients: StorageClients, extra: readonly string[] = []): Promise<void> =>
  queuesDrained(clients, [QUEUES.registryEvents, QUEUES.deliveries, ...extra]);

/**
 * Resolves once the queues hold no message, visible or not (a retry due later, a message being worked):
 * what "nothing more will happen" looks like from outside, instead of sleeping past a retry delay.
 */
export async function queuesDrained(clients: StorageClients, queues: readonly string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await Promise.all(queues.map(async (queue) => (await clients.queue(queue).getProperties()).approximateMessagesCount ?? 0));
    if (counts.every((count) => count === 0)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${queues.join(', ')} to drain (${counts.join(', ')} messages)`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
