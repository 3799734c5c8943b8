import type { QueueClient } from '@azure/storage-queue';
import type { WaitingQueue } from '../pipeline/service-status.js';

/** A queue's approximate length (one properties call) and its oldest visible message's enqueue time (one peek). */
export function queueGauge(client: QueueClient): WaitingQueue {
  return {
    name: client.name,
    length: async () => (await client.getProperties()).approximateMessagesCount ?? 0,
    oldestWaitingSince: async () => (await client.peekMessages({ numberOfMessages: 1 })).peekedMessageItems[0]?.insertedOn.getTime(),
  };
}
