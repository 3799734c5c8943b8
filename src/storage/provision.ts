import { errorMessage } from '../shared/errors.js';
import type { StorageClients } from './azure-clients.js';
import { ALL_QUEUES, ALL_TABLES } from './names.js';
import { isConflict } from './rest-errors.js';

/**
 * Creates every table and queue the app uses if it is missing (Azurite and other connection-string storage).
 */
export async function ensureStorage(storage: StorageClients, log: (message: string) => void = () => undefined): Promise<void> {
  const ignoreExisting = async (create: () => Promise<unknown>, what: string) => {
    try {
      await create();
    } catch (error) {
      if (!isConflict(error)) log(`could not create ${what}: ${errorMessage(error)}`);
    }
  };
  await Promise.all([
    ...ALL_TABLES.map((name) => ignoreExisting(() => storage.tableService().createTable(name), `table ${name}`)),
    ...ALL_QUEUES.map((name) => ignoreExisting(() => storage.queue(name).createIfNotExists(), `queue ${name}`)),
  ]);
}
