import type { StorageClients } from '../../src/storage/azure-clients.js';
import { ALL_QUEUES, ALL_TABLES } from '../../src/storage/names.js';

/** Every entity of every table and the message count of every queue, to compare before and after. */
export async function snapshotStorage(clients: StorageClients): Promise<string> {
  const tables: Record<string, unknown[]> = {};
  for (const name of ALL_TABLES) {
    const rows: unknown[] = [];
    for await (const entity of clients.table(name).listEntities()) {
      const { etag: _etag, timestamp: _timestamp, ...rest } = entity as Record<string, unknown>;
      rows.push(rest);
    }
    tables[name] = rows;
  }
  const queues: Record<string, number> = {};
  for (const name of ALL_QUEUES) {
    const queue = clients.queue(name);
    queues[name] = (await queue.exists()) ? ((await queue.getProperties()).approximateMessagesCount ?? 0) : 0;
  }
  return JSON.stringify({ tables, queues });
}

/** Every stored entity, as raw JSON text, for searching. */
export async function allStoredText(clients: StorageClients): Promise<string> {
  const parts: string[] = [];
  for (const name of ALL_TABLES) for await (const entity of clients.table(name).listEntities()) parts.push(JSON.stringify(entity));
  for (const name of ALL_QUEUES) {
    const queue = clients.queue(name);
    if (!(await queue.exists())) continue;
    for (const message of (await queue.peekMessages({ numberOfMessages: 32 })).peekedMessageItems) {
      parts.push(message.messageText, Buffer.from(message.messageText, 'base64').toString('utf8'));
    }
  }
  return parts.join('\n');
}
