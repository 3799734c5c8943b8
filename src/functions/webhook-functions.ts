import type { HttpHandler } from '@azure/functions';
import { getEndpointHealth } from '../pipeline/health-api.js';
import { testWebhook } from '../pipeline/test-webhook.js';
import { createWebhook, deleteWebhook, listWebhooks, updateWebhook } from '../webhooks/webhook-service.js';
import { endpoint, parametersOf, requiredObjectBody, type ServicesProvider } from './http-endpoint.js';

/** create, list, update, delete, test and endpoint health: parse the input, call the core, answer its result. */
export const webhookHandlers = (services: ServicesProvider): Record<'create' | 'list' | 'update' | 'delete' | 'test' | 'health', HttpHandler> => ({
  create: endpoint(services, async ({ request, principal, services: s }) => ({ body: await createWebhook(s.webhooks, principal, await requiredObjectBody(request, "'events' and one of 'http_url_spec' or 'job_spec'")) })),
  list: endpoint(services, async ({ request, principal, services: s }) => ({
    body: await listWebhooks(s.webhooks, principal, await parametersOf(request, ['events'])),
  })),
  update: endpoint(services, async ({ request, principal, services: s }) => ({ body: await updateWebhook(s.webhooks, principal, await requiredObjectBody(request, "'id' and the fields to change ('description', 'events', 'status', 'http_url_spec' or 'job_spec')")) })),
  delete: endpoint(services, async ({ request, principal, services: s }) => ({ body: await deleteWebhook(s.webhooks, principal, await parametersOf(request)) })),
  test: endpoint(services, async ({ request, principal, services: s }) => ({
    body: await testWebhook(s.testCall, principal, await requiredObjectBody(request, "'id' (and optionally 'event')")),
  })),
  health: endpoint(services, async ({ request, principal, services: s }) => ({ body: await getEndpointHealth(s.deliveries, principal, await parametersOf(request)) })),
});
