import type { HttpHandler } from '@azure/functions';
import { testWebhook } from '../delivery/test-webhook.js';
import { createWebhook, deleteWebhook, listWebhooks, updateWebhook } from '../webhooks/webhook-service.js';
import { endpoint, objectBody, parametersOf, type ServicesProvider } from './http-endpoint.js';

/** create, list, update, delete and test: parse the input, call the core, answer its result. */
export const webhookHandlers = (services: ServicesProvider): Record<'create' | 'list' | 'update' | 'delete' | 'test', HttpHandler> => ({
  create: endpoint(services, async ({ request, principal, services: s }) => ({ body: await createWebhook(s.webhooks, principal, await objectBody(request)) })),
  list: endpoint(services, async ({ request, principal, services: s }) => ({
    body: await listWebhooks(s.webhooks, principal, await parametersOf(request, ['events'])),
  })),
  update: endpoint(services, async ({ request, principal, services: s }) => ({ body: await updateWebhook(s.webhooks, principal, await objectBody(request)) })),
  delete: endpoint(services, async ({ request, principal, services: s }) => ({ body: await deleteWebhook(s.webhooks, principal, await parametersOf(request)) })),
  test: endpoint(services, async ({ request, principal, services: s, log }) => ({
    body: await testWebhook({ ...s.delivery, log }, principal, await objectBody(request)),
  })),
});
