import type { HttpHandler } from '@azure/functions';
import { getEndpointHealth } from '../pipeline/health-api.js';
import { testWebhook } from '../pipeline/test-webhook.js';
import { createWebhook, deleteWebhook, listWebhooks, updateWebhook } from '../webhooks/webhook-service.js';
import { endpoint, parametersOf, requiredObjectBody, type ServicesProvider } from './http-endpoint.js';

/** create, list, update, delete, test and endpoint health: parse the input, call the core, answer its result. */
export const webhookHandlers = (services: ServicesProvider): Record<'create' | 'list' | 'update' | 'delete' | 'test' | 'health', HttpHandler> => ({
  create: endpoint(services, async ({ request, principal, services: app }) => ({ body: await createWebhook(app.webhookApi, principal, await requiredObjectBody(request, "'events' and one of 'http_url_spec' or 'job_spec'")) })),
  list: endpoint(services, async ({ request, principal, services: app }) => ({
    body: await listWebhooks(app.webhookApi, principal, await parametersOf(request, ['events'])),
  })),
  update: endpoint(services, async ({ request, principal, services: app }) => ({ body: await updateWebhook(app.webhookApi, principal, await requiredObjectBody(request, "'id' and the fields to change ('description', 'events', 'status', 'http_url_spec' or 'job_spec')")) })),
  delete: endpoint(services, async ({ request, principal, services: app }) => ({ body: await deleteWebhook(app.webhookApi, principal, await parametersOf(request)) })),
  test: endpoint(services, async ({ request, principal, services: app }) => ({
    body: await testWebhook(app.testCall, principal, await requiredObjectBody(request, "'id' (and optionally 'event')")),
  })),
  health: endpoint(services, async ({ request, principal, services: app }) => ({ body: await getEndpointHealth(app.deliveriesApi, principal, await parametersOf(request)) })),
});
