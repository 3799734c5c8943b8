import type { QueueClient } from '@azure/storage-queue';
import type { MessageQueue } from '../pipeline/queues.js';
import { notifyEnqueued } from './enqueue-signal.js';

/** A Storage Queue, base64-encoded as the Functions host's queue trigger expects. */
export class StorageMessageQueue implements MessageQueue {
  constructor(private readonly client: QueueClient) {}

  send(message: unknown, delayMs = 0): Promise<string> {
    return this.sendText(JSON.stringify(message), delayMs);
  }

  async sendText(text: string, delayMs = 0): Promise<string> {
    const visibilityTimeout = Math.ceil(Math.max(0, delayMs) / 1000);
    const sent = await this.client.sendMessage(Buffer.from(text, 'utf8').toString('base64'), {
      messageTimeToLive: -1,
      ...(visibilityTimeout > 0 ? { visibilityTimeout } : {}),
    });
    notifyEnqueued(this.client.name, visibilityTimeout * 1000);
    return sent.messageId;
  }
}
