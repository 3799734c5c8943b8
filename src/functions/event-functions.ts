import type { HttpHandler } from '@azure/functions';
import { getDelivery, redeliver, listDeliveries } from '../pipeline/deliveries-api.js';
import { summarizeDeliveries } from '../pipeline/deliveries-summary.js';
import { serviceStatus } from '../pipeline/service-status.js';
import { publishEvents } from '../pipeline/publish-events.js';
import { ApiError } from '../shared/errors.js';
import { readJsonBody } from '../http/read-body.js';
import { CLOUDEVENTS_BATCH, CLOUDEVENTS_SINGLE, mediaTypeOf, publishCloudEvents } from '../sources/cloudevents.js';
import { endpoint, parametersOf, requiredObjectBody, type ServicesProvider } from './http-endpoint.js';

export const eventHandlers = (services: ServicesProvider): Record<'publish' | 'deliveries' | 'delivery' | 'redeliver' | 'summary' | 'status', HttpHandler> => ({
  publish: endpoint(services, async ({ request, principal, services: app }) => {
    const mediaType = mediaTypeOf(request.headers.get('content-type'));
    if (mediaType === CLOUDEVENTS_SINGLE || mediaType === CLOUDEVENTS_BATCH) {
      return { status: 202, body: await publishCloudEvents(app.publish, principal, await readJsonBody(request), mediaType === CLOUDEVENTS_BATCH) };
    }
    if (request.headers.has('ce-specversion')) {
      throw new ApiError('MALFORMED_REQUEST', `Binary-mode CloudEvents (ce-* headers) are not supported; send structured mode with Content-Type: ${CLOUDEVENTS_SINGLE}`);
    }
    return { status: 202, body: await publishEvents(app.publish, principal, await requiredObjectBody(request, "an event ('event', 'model_name', ...) or 'events'")) };
  }),
  deliveries: endpoint(services, async ({ request, principal, services: app }) => ({
    body: await listDeliveries(app.deliveriesApi, principal, await parametersOf(request)),
  })),
  delivery: endpoint(services, async ({ request, principal, services: app }) => ({
    body: await getDelivery(app.deliveriesApi, principal, await parametersOf(request)),
  })),
  summary: endpoint(services, async ({ request, principal, services: app }) => ({
    body: await summarizeDeliveries(app.summary, principal, await parametersOf(request)),
  })),
  status: endpoint(services, async ({ request, principal, services: app }) => ({ body: await serviceStatus(app.status, principal, await parametersOf(request)) })),
  redeliver: endpoint(services, async ({ request, principal, services: app }) => ({
    body: await redeliver(app.deliveriesApi, principal, await requiredObjectBody(request, "'delivery_id', or 'webhook_id' and 'since_timestamp'")),
  })),
});
