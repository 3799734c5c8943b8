import type { InvocationContext, StorageQueueHandler } from '@azure/functions';
import { z } from 'zod';
import type { DeliveryMessage } from '../pipeline/attempts.js';
import { processDeliveryMessage } from '../pipeline/deliverer.js';
import { processEventMessage, registryEventsPoison } from '../pipeline/fan-out.js';
import { poisonMessage } from '../pipeline/poison-queues.js';
import { QUEUES } from '../pipeline/queues.js';
import { describeIssue } from '../http/validate.js';
import { loggerOf } from '../telemetry/logger.js';
import type { ServicesProvider } from './http-endpoint.js';

/**
 * The trigger metadata names the host sets for a queue message. The host merges a JSON message's own keys over them,
 * so a message holding one could forge its id or dequeue count: it is poisoned instead (docs/host-fidelity.md).
 */
export const QUEUE_METADATA_NAMES = ['id', 'dequeueCount', 'insertionTime', 'expirationTime', 'nextVisibleTime', 'popReceipt', 'queueTrigger'] as const;

/** The metadata names a message's top-level keys collide with, if any. */
export function metadataCollisions(message: unknown): string[] {
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return [];
  const reserved = new Set(QUEUE_METADATA_NAMES.map((name) => name.toLowerCase()));
  return Object.keys(message).filter((key) => reserved.has(key.toLowerCase()));
}

/** The message as it sat on the queue, near enough for a poison copy: the host hands it over JSON-parsed. */
const messageText = (message: unknown): string => (typeof message === 'string' ? message : JSON.stringify(message));

const metadataNumber = (context: InvocationContext, key: string): number => Number(context.triggerMetadata?.[key] ?? 0);
const metadataString = (context: InvocationContext, key: string): string => {
  const value = context.triggerMetadata?.[key];
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
};

const collisionReason = (collisions: string[]): string =>
  `its top-level keys ${collisions.map((key) => `'${key}'`).join(', ')} collide with the queue trigger's metadata (${QUEUE_METADATA_NAMES.join(', ')}), which the host would let them override`;

/** `registry-events`: fan each event out to its webhooks. An unreadable message is poisoned by the core, not thrown. */
export const registryEventsHandler =
  (services: ServicesProvider): StorageQueueHandler =>
  async (message, context) => {
    const app = await services();
    const deps = { ...app.fanOut, log: loggerOf(context) };
    const collisions = metadataCollisions(message);
    if (collisions.length > 0) {
      await poisonMessage(deps, registryEventsPoison(deps), messageText(message), `${metadataString(context, 'id')}: ${collisionReason(collisions)}`);
      return;
    }
    await processEventMessage(deps, message, {
      id: metadataString(context, 'id'),
      dequeueCount: metadataNumber(context, 'dequeueCount'),
      insertedAt: Date.parse(metadataString(context, 'insertionTime')) || app.fanOut.clock(),
      text: messageText(message),
    });
  };

const deliveryMessageSchema = z.object({
  delivery_id: z.string().min(1).max(128),
  attempt: z.number().int().min(1),
  schedule_index: z.number().int().min(0),
});

/** `webhook-deliveries`: retries, redeliveries and deferred first attempts. */
export const webhookDeliveriesHandler =
  (services: ServicesProvider): StorageQueueHandler =>
  async (message, context) => {
    const app = await services();
    const deps = { ...app.deliverer, log: loggerOf(context) };
    const target = { from: QUEUES.deliveries, poison: app.deliveriesPoison };
    const collisions = metadataCollisions(message);
    if (collisions.length > 0) {
      await poisonMessage(deps, target, messageText(message), collisionReason(collisions));
      return;
    }
    const parsed = deliveryMessageSchema.safeParse(message);
    if (!parsed.success) {
      await poisonMessage(deps, target, messageText(message), `not a delivery message (${parsed.error.issues[0] ? describeIssue(parsed.error.issues[0]) : 'invalid'})`);
      return;
    }
    await processDeliveryMessage(deps, parsed.data satisfies DeliveryMessage, metadataNumber(context, 'dequeueCount'));
  };
