import type { HttpHandler, HttpMethod, StorageQueueHandler, TimerHandler } from '@azure/functions';
import { SETTINGS } from '../config/config.js';
import { ApiError } from '../shared/errors.js';
import { eventHandlers } from './event-functions.js';
import { registryEventsHandler, webhookDeliveriesHandler } from './queue-functions.js';
import { errorResponse, type ServicesProvider } from './http-endpoint.js';
import { consoleHandler } from './console.js';
import { databricksConfigHandler } from './databricks-config.js';
import { healthHandler } from './health.js';
import { openApiHandlers } from './openapi-functions.js';
import type { DocumentedRoute } from '../openapi/document.js';
import { poisonQueuesHandler, retentionHandler } from './maintenance-functions.js';
import { azureMlEventsHandler, mlflowIngestHandler } from './source-functions.js';
import { guardHttp, guardTrigger } from './settings-guard.js';
import { unityCatalogPollHandler, unityCatalogStateHandler } from './unity-catalog-functions.js';
import { UNITY_CATALOG_SETTINGS } from '../unity-catalog/settings.js';
import { webhookHandlers } from './webhook-functions.js';
import { QUEUES } from '../pipeline/queues.js';

export interface HttpFunction {
  kind: 'http';
  name: string;
  /** Under `/api` (ROUTE_PREFIX), unless `atRoot`. */
  route: string;
  /** Served at the site root rather than under `/api` (the Databricks SDKs' discovery document). */
  atRoot?: true;
  methods: HttpMethod[];
  handler: HttpHandler;
  /** Left out of the OpenAPI document, and why; every other HTTP function needs a contract (api-contracts.ts). */
  undocumented?: string;
}

export interface QueueFunction {
  kind: 'queue';
  name: string;
  queueName: string;
  /** `binary`: the handler gets the message's bytes as queued (a Buffer), not the library's JSON.parse of them. */
  dataType?: 'binary';
  handler: StorageQueueHandler;
}

export interface TimerFunction {
  kind: 'timer';
  name: string;
  /** Six-field NCRONTAB, or a `%SETTING%` expression the host resolves from the app settings. */
  schedule: string;
  handler: TimerHandler;
}

export type FunctionDefinition = HttpFunction | QueueFunction | TimerFunction;

/** The retention timer's schedule, as the host reads it: from the `RETENTION_SCHEDULE` app setting. */
export const RETENTION_SCHEDULE_EXPRESSION = `%${SETTINGS.retentionSchedule}%`;
/** The Unity Catalog poller's schedule, from the `UNITY_CATALOG_POLL_SCHEDULE` app setting (infra sets its default). */
export const UNITY_CATALOG_POLL_SCHEDULE_EXPRESSION = `%${UNITY_CATALOG_SETTINGS.pollSchedule}%`;
/** Poison queues are peeked every five minutes. */
export const POISON_QUEUES_SCHEDULE = '0 */5 * * * *';

/** Written into each route, not host.json's `routePrefix`: the SDK asks for `/.well-known/databricks-config` at the root. */
export const ROUTE_PREFIX = 'api';

/** The route a function is registered with: its route under `/api`, or at the root. */
export const registeredRoute = (fn: Pick<HttpFunction, 'route' | 'atRoot'>): string => (fn.atRoot ? fn.route : `${ROUTE_PREFIX}/${fn.route}`);

/** The connection setting the queue triggers use (the host reads `AzureWebJobsStorage` and its `__` forms). */
export const QUEUE_CONNECTION = 'AzureWebJobsStorage';

/** The host matches routes in function-name order, so the catch-all's `zz-` keeps it last (docs/host-fidelity.md). */
export const CATCH_ALL_NAME = 'zz-not-found';

const API = '2.0/mlflow/registry-webhooks';
const ALL_METHODS: HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/**
 * The one function table: every function's name, trigger and handler, registered by `src/app.ts`. Every handler
 * is guarded, so registration never depends on the settings (docs/host-fidelity.md).
 */
export function functionTable(services: ServicesProvider): FunctionDefinition[] {
  const webhooks = webhookHandlers(services);
  const events = eventHandlers(services);
  const consoleFiles = consoleHandler(services);
  const documents = openApiHandlers(() => documentedRoutes(table));
  const api: HttpFunction[] = [
    { kind: 'http', name: 'health', route: 'health', methods: ['GET'], handler: healthHandler(services) },
    // The console: its page, and its flat folder of assets with the sign-in configuration (public, no data).
    { kind: 'http', name: 'console', route: 'console', methods: ['GET', 'HEAD'], handler: consoleFiles, undocumented: "the console's page" },
    { kind: 'http', name: 'console-asset', route: 'console/{asset}', methods: ['GET', 'HEAD'], handler: consoleFiles },
    { kind: 'http', name: 'webhooks-create', route: `${API}/create`, methods: ['POST'], handler: webhooks.create },
    { kind: 'http', name: 'webhooks-list', route: `${API}/list`, methods: ['GET', 'POST'], handler: webhooks.list },
    { kind: 'http', name: 'webhooks-update', route: `${API}/update`, methods: ['PATCH'], handler: webhooks.update },
    { kind: 'http', name: 'webhooks-delete', route: `${API}/delete`, methods: ['DELETE'], handler: webhooks.delete },
    { kind: 'http', name: 'webhooks-test', route: `${API}/test`, methods: ['POST'], handler: webhooks.test },
    { kind: 'http', name: 'webhooks-health', route: `${API}/webhooks/health`, methods: ['GET'], handler: webhooks.health },
    { kind: 'http', name: 'events-publish', route: `${API}/publish`, methods: ['POST'], handler: events.publish },
    { kind: 'http', name: 'deliveries-list', route: `${API}/deliveries`, methods: ['GET'], handler: events.deliveries },
    { kind: 'http', name: 'deliveries-get', route: `${API}/deliveries/get`, methods: ['GET'], handler: events.delivery },
    { kind: 'http', name: 'deliveries-summary', route: `${API}/deliveries/summary`, methods: ['GET'], handler: events.summary },
    { kind: 'http', name: 'service-status', route: `${API}/service/status`, methods: ['GET'], handler: events.status },
    { kind: 'http', name: 'deliveries-redeliver', route: `${API}/deliveries/redeliver`, methods: ['POST'], handler: events.redeliver },
    // The OpenAPI document and each event's JSON Schemas (public, no data).
    { kind: 'http', name: 'openapi', route: 'openapi.json', methods: ['GET'], handler: documents.document },
    { kind: 'http', name: 'schemas-events', route: 'schemas/events/{file}', methods: ['GET'], handler: documents.events },
    { kind: 'http', name: 'schemas-publish', route: 'schemas/publish/{file}', methods: ['GET'], handler: documents.publish },
    { kind: 'http', name: 'ingest-mlflow', route: 'ingest/mlflow', methods: ['POST'], handler: mlflowIngestHandler(services) },
    { kind: 'http', name: 'sources-unity-catalog', route: 'sources/unity-catalog', methods: ['GET'], handler: unityCatalogStateHandler(services) },
  ];
  const table: FunctionDefinition[] = [
    ...api,
    { kind: 'http', name: 'databricks-config', route: '.well-known/databricks-config', atRoot: true, methods: ['GET'], handler: databricksConfigHandler },
    { kind: 'http', name: CATCH_ALL_NAME, route: '{*path}', methods: ALL_METHODS, handler: notFoundHandler(api), undocumented: 'the 404 and 405 answers of every other path' },
    { kind: 'queue', name: 'registry-events', queueName: QUEUES.registryEvents, handler: registryEventsHandler(services) },
    { kind: 'queue', name: 'webhook-deliveries', queueName: QUEUES.deliveries, handler: webhookDeliveriesHandler(services) },
    { kind: 'queue', name: 'azureml-events', queueName: QUEUES.azureMlEvents, dataType: 'binary', handler: azureMlEventsHandler(services) },
    { kind: 'timer', name: 'retention', schedule: RETENTION_SCHEDULE_EXPRESSION, handler: retentionHandler(services) },
    { kind: 'timer', name: 'poison-queues', schedule: POISON_QUEUES_SCHEDULE, handler: poisonQueuesHandler(services) },
    { kind: 'timer', name: 'unity-catalog-poll', schedule: UNITY_CATALOG_POLL_SCHEDULE_EXPRESSION, handler: unityCatalogPollHandler(services) },
  ];
  return table.map((fn) => withSettingsGuard(fn, services));
}

/** The HTTP functions the OpenAPI document describes, by their registered paths. */
export const documentedRoutes = (table: readonly FunctionDefinition[]): DocumentedRoute[] =>
  table.flatMap((fn) => (fn.kind === 'http' && fn.undocumented === undefined ? [{ name: fn.name, path: `/${registeredRoute(fn)}`, methods: fn.methods }] : []));

/** Wraps a function's handler in the settings guard of its trigger kind. */
function withSettingsGuard(fn: FunctionDefinition, services: ServicesProvider): FunctionDefinition {
  switch (fn.kind) {
    case 'http':
      return { ...fn, handler: guardHttp(services, fn.handler) };
    case 'queue':
      return { ...fn, handler: guardTrigger(services, fn.handler) };
    case 'timer':
      return { ...fn, handler: guardTrigger(services, fn.handler) };
  }
}

/**
 * The catch-all route: the host tries it only when no other route (with its method) matched, so a known
 * path here was called with the wrong method (405), and anything else is an unknown endpoint (404).
 */
function notFoundHandler(api: readonly HttpFunction[]): HttpHandler {
  return (request) => {
    const path = new URL(request.url).pathname.replace(/^\/api\//, '').replace(/\/+$/, '');
    const known = api.find((fn) => fn.route === path);
    if (known) {
      return errorResponse(
        new ApiError('METHOD_NOT_ALLOWED', `Method ${request.method} is not allowed on /api/${path}; use ${known.methods.join(' or ')}`, {
          Allow: known.methods.join(', '),
        }),
      );
    }
    return errorResponse(new ApiError('ENDPOINT_NOT_FOUND', `No API found for '${request.method} ${new URL(request.url).pathname}'`));
  };
}
