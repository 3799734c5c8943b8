import type { HttpHandler, InvocationContext, StorageQueueHandler } from '@azure/functions';
import { getDelivery, redeliver, listDeliveries } from '../pipeline/deliveries-api.js';
import { summarizeDeliveries } from '../pipeline/deliveries-summary.js';
import { serviceStatus } from '../pipeline/service-status.js';
import type { DeliveryMessage } from '../pipeline/attempts.js';
import { processDeliveryMessage } from '../pipeline/deliverer.js';
import { poisonMessage, processEventMessage } from '../pipeline/fan-out.js';
import { publishEvents } from '../pipeline/publish-events.js';
import { ApiError } from '../shared/errors.js';
import { readJsonBody } from '../http/read-body.js';
import { CLOUDEVENTS_BATCH, CLOUDEVENTS_SINGLE, mediaTypeOf, publishCloudEvents } from '../sources/cloudevents.js';
import { loggerOf } from '../telemetry/logger.js';
import { QUEUES } from '../pipeline/queues.js';
import { z } from 'zod';
import { endpoint, parametersOf, requiredObjectBody, type ServicesProvider } from './http-endpoint.js';

export const eventHandlers = (services: ServicesProvider): Record<'publish' | 'deliveries' | 'delivery' | 'redeliver' | 'summary' | 'status', HttpHandler> => ({
  publish: endpoint(services, async ({ request, principal, services: s }) => {
    const mediaType = mediaTypeOf(request.headers.get('content-type'));
    if (mediaType === CLOUDEVENTS_SINGLE || mediaType === CLOUDEVENTS_BATCH) {
      return { status: 202, body: await publishCloudEvents(s.publish, principal, await readJsonBody(request), mediaType === CLOUDEVENTS_BATCH) };
    }
    if (request.headers.has('ce-specversion')) {
      throw new ApiError('MALFORMED_REQUEST', `Binary-mode CloudEvents (ce-* headers) are not supported; send structured mode with Content-Type: ${CLOUDEVENTS_SINGLE}`);
    }
    return { status: 202, body: await publishEvents(s.publish, principal, await requiredObjectBody(request, "an event ('event', 'model_name', ...) or 'events'")) };
  }),
  deliveries: endpoint(services, async ({ request, principal, services: s }) => ({
    body: await listDeliveries(s.deliveries, principal, await parametersOf(request)),
  })),
  delivery: endpoint(services, async ({ request, principal, services: s }) => ({
    body: await getDelivery(s.deliveries, principal, await parametersOf(request)),
  })),
  summary: endpoint(services, async ({ request, principal, services: s }) => ({
    body: await summarizeDeliveries(s.summary, principal, await parametersOf(request)),
  })),
  status: endpoint(services, async ({ request, principal, services: s }) => ({ body: await serviceStatus(s.status, principal, await parametersOf(request)) })),
  redeliver: endpoint(services, async ({ request, principal, services: s }) => ({
    body: await redeliver(s.deliveries, principal, await requiredObjectBody(request, "'delivery_id', or 'webhook_id' and 'since_timestamp'")),
  })),
});

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
    const s = await services();
    const deps = { ...s.fanOut, log: loggerOf(context) };
    const collisions = metadataCollisions(message);
    if (collisions.length > 0) {
      await poisonMessage(deps, messageText(message), `${metadataString(context, 'id')}: ${collisionReason(collisions)}`);
      return;
    }
    await processEventMessage(deps, message, {
      id: metadataString(context, 'id'),
      dequeueCount: metadataNumber(context, 'dequeueCount'),
      insertedAt: Date.parse(metadataString(context, 'insertionTime')) || s.fanOut.clock(),
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
    const s = await services();
    const log = loggerOf(context);
    const collisions = metadataCollisions(message);
    if (collisions.length > 0) {
      log.error(`delivery message moved to the poison queue: ${collisionReason(collisions)}`);
      await s.deliveriesPoison.sendText(messageText(message));
      s.deliverer.metrics?.messagePoisoned(QUEUES.deliveries);
      return;
    }
    const parsed = deliveryMessageSchema.safeParse(message);
    if (!parsed.success) {
      log.error(`unreadable delivery message; the host moves it to the poison queue after maxDequeueCount tries: ${messageText(message).slice(0, 200)}`);
      throw new Error('unreadable delivery message');
    }
    await processDeliveryMessage({ ...s.deliverer, log }, parsed.data satisfies DeliveryMessage, metadataNumber(context, 'dequeueCount'));
  };
