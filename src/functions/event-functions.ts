import type { HttpHandler, InvocationContext, StorageQueueHandler } from '@azure/functions';
import { redeliver, listDeliveries } from '../delivery/deliveries-api.js';
import { processDeliveryMessage, type DeliveryMessage } from '../delivery/deliverer.js';
import { processEventMessage } from '../delivery/fan-out.js';
import { publishEvents } from '../delivery/publish-events.js';
import { ApiError } from '../errors.js';
import { readJsonBody } from '../http/read-body.js';
import { CLOUDEVENTS_BATCH, CLOUDEVENTS_SINGLE, mediaTypeOf, publishCloudEvents } from '../sources/cloudevents.js';
import { loggerOf } from '../logger.js';
import { z } from 'zod';
import { endpoint, objectBody, parametersOf, type ServicesProvider } from './http-endpoint.js';

export const eventHandlers = (services: ServicesProvider): Record<'publish' | 'deliveries' | 'redeliver', HttpHandler> => ({
  publish: endpoint(services, async ({ request, principal, services: s }) => {
    const mediaType = mediaTypeOf(request.headers.get('content-type'));
    if (mediaType === CLOUDEVENTS_SINGLE || mediaType === CLOUDEVENTS_BATCH) {
      return { status: 202, body: await publishCloudEvents(s.publish, principal, await readJsonBody(request), mediaType === CLOUDEVENTS_BATCH) };
    }
    if (request.headers.has('ce-specversion')) {
      throw new ApiError('MALFORMED_REQUEST', `Binary-mode CloudEvents (ce-* headers) are not supported; send structured mode with Content-Type: ${CLOUDEVENTS_SINGLE}`);
    }
    return { status: 202, body: await publishEvents(s.publish, principal, await objectBody(request)) };
  }),
  deliveries: endpoint(services, async ({ request, principal, services: s, log }) => ({
    body: await listDeliveries({ ...s.delivery, log }, principal, await parametersOf(request)),
  })),
  redeliver: endpoint(services, async ({ request, principal, services: s, log }) => ({
    body: await redeliver({ ...s.delivery, log }, principal, await objectBody(request)),
  })),
});

const metadataNumber = (context: InvocationContext, key: string): number => Number(context.triggerMetadata?.[key] ?? 0);
const metadataString = (context: InvocationContext, key: string): string => {
  const value = context.triggerMetadata?.[key];
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
};

/** `registry-events`: fan each event out to its webhooks. An unreadable message is poisoned by the core, not thrown. */
export const registryEventsHandler =
  (services: ServicesProvider): StorageQueueHandler =>
  async (message, context) => {
    const s = await services();
    await processEventMessage({ ...s.delivery, log: loggerOf(context) }, message, {
      id: metadataString(context, 'id'),
      dequeueCount: metadataNumber(context, 'dequeueCount'),
      insertedAt: Date.parse(metadataString(context, 'insertionTime')) || s.delivery.clock(),
      text: metadataString(context, 'queueTrigger'),
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
    const parsed = deliveryMessageSchema.safeParse(message);
    const log = loggerOf(context);
    if (!parsed.success) {
      log.error(`unreadable delivery message; the host moves it to the poison queue after maxDequeueCount tries: ${metadataString(context, 'queueTrigger').slice(0, 200)}`);
      throw new Error('unreadable delivery message');
    }
    await processDeliveryMessage({ ...s.delivery, log }, parsed.data satisfies DeliveryMessage, metadataNumber(context, 'dequeueCount'));
  };
