import type { QueueClient } from '@azure/storage-queue';
import type { HeldMessage, MessageQueue } from '../pipeline/queues.js';
import { notifyEnqueued } from './enqueue-signal.js';

/**
 * The longest a message may stay invisible (Storage refuses a longer `visibilitytimeout` outright). A longer delay
 * (a 7-day retry plus its jitter, a rate slot behind a long backlog) is sent at this: a retry is then made a little
 * early, and a rate-limited attempt that arrives before its slot is put off to it again.
 */
export const MAX_QUEUE_DELAY_MS = 7 * 24 * 3600 * 1000;

/** A Storage Queue, base64-encoded as the Functions host's queue trigger expects. */
export class StorageMessageQueue implements MessageQueue {
  constructor(private readonly client: QueueClient) {}

  send(message: unknown, delayMs = 0): Promise<string> {
    return this.sendText(JSON.stringify(message), delayMs);
  }

  async sendText(text: string, delayMs = 0): Promise<string> {
    const visibilityTimeout = Math.ceil(Math.min(MAX_QUEUE_DELAY_MS, Math.max(0, delayMs)) / 1000);
    const sent = await this.client.sendMessage(Buffer.from(text, 'utf8').toString('base64'), {
      messageTimeToLive: -1,
      ...(visibilityTimeout > 0 ? { visibilityTimeout } : {}),
    });
    notifyEnqueued(this.client.name, visibilityTimeout * 1000);
    return sent.messageId;
  }

  async sendHeld(message: unknown, holdMs: number): Promise<HeldMessage> {
    const text = JSON.stringify(message);
    const visibilityTimeout = Math.max(1, Math.ceil(holdMs / 1000));
    const sent = await this.client.sendMessage(Buffer.from(text, 'utf8').toString('base64'), { messageTimeToLive: -1, visibilityTimeout });
    notifyEnqueued(this.client.name, visibilityTimeout * 1000);
    // Each update answers a new pop receipt and voids the old one; the caller runs them one at a time.
    let popReceipt = sent.popReceipt;
    return {
      id: sent.messageId,
      insertedAt: sent.insertedOn.getTime(),
      text,
      extend: async (ms) => {
        const updated = await this.client.updateMessage(sent.messageId, popReceipt, undefined, Math.max(1, Math.ceil(ms / 1000)));
        popReceipt = updated.popReceipt ?? popReceipt;
      },
      remove: async () => {
        await this.client.deleteMessage(sent.messageId, popReceipt);
      },
    };
  }
}
