import { z } from 'zod';
import type { RouteContract } from '../openapi/document.js';
import { SCHEMA_KINDS } from '../openapi/event-schemas.js';
import { deliverySummarySchema, summaryQuerySchema } from '../pipeline/deliveries-summary.js';
import { serviceStatusAnswerSchema, serviceStatusSchema } from '../pipeline/service-status.js';
import { deliveryPageSchema, getDeliverySchema, listDeliveriesSchema, redeliverAnswerSchema, redeliverSchema } from '../pipeline/deliveries-api.js';
import { apiDeliveryDetailSchema } from '../pipeline/delivery.js';
import { apiHealthSchema } from '../pipeline/endpoint-health.js';
import { publishAnswerSchema, publishJsonBodySchema } from '../pipeline/publish-events.js';
import { testCallResultSchema } from '../pipeline/test-webhook.js';
import { CLOUDEVENTS_BATCH, CLOUDEVENTS_SINGLE, cloudEventBatchSchema, cloudEventSchema } from '../sources/cloudevents.js';
import { mlflowEnvelopeSchema } from '../sources/mlflow-events.js';
import { mlflowIngestAnswerSchema } from '../sources/mlflow-ingest.js';
import { MLFLOW_HEADERS } from '../sources/mlflow-signature.js';
import { EVENT_NAMES } from '../webhooks/events.js';
import { createWebhookSchema, idOnlySchema, listWebhooksSchema, testWebhookSchema, updateWebhookSchema } from '../webhooks/schemas.js';
import { webhookAnswerSchema, webhookPageSchema } from '../webhooks/webhook-service.js';
import { consoleConfigSchema } from './console.js';
import { healthAnswerSchema } from './health.js';

const PUBLIC_DOCUMENT_ERRORS = ['ENDPOINT_NOT_FOUND', 'INTERNAL_ERROR', 'TEMPORARILY_UNAVAILABLE'] as const;
const anyJsonObject = z.record(z.string(), z.unknown());
const eventParam = { event: z.enum(EVENT_NAMES) };

/** The README's create example, and the webhook it answers. */
const CREATE_EXAMPLE = {
  model_name: 'someModel',
  events: ['MODEL_VERSION_CREATED'],
  description: 'Slack notifications',
  status: 'TEST_MODE',
  http_url_spec: { url: 'https://hooks.slack.com/services/...', secret: 'anyRandomString', authorization: 'Bearer AbcdEfg1294' },
};
const WEBHOOK_EXAMPLE = {
  webhook: {
    id: '0247f4303a549cb527779cf910c9a818',
    creation_timestamp: 1795883363277,
    last_updated_timestamp: 1795883363277,
    status: 'TEST_MODE',
    events: ['MODEL_VERSION_CREATED'],
    model_name: 'someModel',
    description: 'Slack notifications',
    http_url_spec: { url: 'https://hooks.slack.com/services/...', enable_ssl_verification: true },
  },
};
const PUBLISH_EXAMPLE = {
  event: 'MODEL_VERSION_TRANSITIONED_STAGE',
  model_name: 'someModel',
  version: '8',
  to_stage: 'Production',
  from_stage: 'None',
  user_id: 'someone@example.com',
  event_id: 'registry-4711',
};

const eventSchemaContract = (kind: (typeof SCHEMA_KINDS)[number]): RouteContract => ({
  summary: kind === 'events' ? "The JSON Schema of an event's delivered payload" : "The JSON Schema of an event's publish body",
  tag: 'Schemas',
  auth: 'public',
  path: `schemas/${kind}/{event}.json`,
  pathParams: eventParam,
  success: { status: 200, description: 'A JSON Schema (2020-12) with an example', schema: anyJsonObject, contentType: 'application/schema+json' },
  errors: PUBLIC_DOCUMENT_ERRORS,
});

/**
 * What the OpenAPI document says about each HTTP function of the table, by function name. The schemas are the
 * ones the handlers validate with and answer by; a function without an entry fails the tests.
 */
export const API_CONTRACTS: Readonly<Record<string, RouteContract>> = {
  health: {
    summary: 'Service health',
    description: 'Status and counts for anyone; an admin token adds the ids of webhooks that cannot be read. 503 when storage does not answer.',
    tag: 'Service',
    auth: 'optional-bearer',
    success: { status: 200, description: 'Table and Queue storage answer', schema: healthAnswerSchema },
    errors: ['UNAUTHENTICATED', 'REQUEST_LIMIT_EXCEEDED', 'INTERNAL_ERROR', 'TEMPORARILY_UNAVAILABLE'],
    examples: { response: { status: 'ok', unreadable_webhooks: 0 } },
  },
  'console-asset': {
    summary: "The console's sign-in configuration",
    tag: 'Service',
    auth: 'public',
    path: 'console/config.json',
    success: { status: 200, description: 'The Entra ID sign-in the console offers, or null for pasted tokens', schema: consoleConfigSchema },
    errors: PUBLIC_DOCUMENT_ERRORS,
  },
  openapi: {
    summary: 'This document',
    tag: 'Schemas',
    auth: 'public',
    success: { status: 200, description: 'The OpenAPI 3.0.3 document', schema: anyJsonObject },
    errors: PUBLIC_DOCUMENT_ERRORS,
  },
  'schemas-events': eventSchemaContract('events'),
  'schemas-publish': eventSchemaContract('publish'),
  'webhooks-create': {
    summary: 'Create a webhook',
    description: 'Exactly one of http_url_spec or job_spec; status defaults to ACTIVE.',
    tag: 'Webhooks',
    auth: 'bearer',
    input: createWebhookSchema,
    success: { status: 200, description: 'The webhook, without its write-only fields', schema: webhookAnswerSchema },
    examples: { request: CREATE_EXAMPLE, response: WEBHOOK_EXAMPLE },
  },
  'webhooks-list': {
    summary: 'List webhooks',
    description: 'GET with query parameters, or POST with the same fields as a JSON body. `events` may repeat or be a comma list.',
    tag: 'Webhooks',
    auth: 'bearer',
    input: listWebhooksSchema,
    success: { status: 200, description: 'A page of webhooks', schema: webhookPageSchema },
  },
  'webhooks-update': {
    summary: 'Update a webhook',
    description: 'Unsent fields keep their values; "" clears secret and authorization; the other spec kind switches.',
    tag: 'Webhooks',
    auth: 'bearer',
    input: updateWebhookSchema,
    success: { status: 200, description: 'The updated webhook', schema: webhookAnswerSchema },
    examples: { request: { id: '0247f4303a549cb527779cf910c9a818', status: 'ACTIVE' } },
  },
  'webhooks-delete': {
    summary: 'Delete a webhook',
    tag: 'Webhooks',
    auth: 'bearer',
    input: idOnlySchema,
    success: { status: 200, description: 'Deleted', schema: z.strictObject({}) },
  },
  'webhooks-test': {
    summary: 'Send a mock event to a webhook',
    description: "Signed like a real delivery; works for any status. Answers the target's status and body; 502 when it cannot be reached.",
    tag: 'Webhooks',
    auth: 'bearer',
    input: testWebhookSchema,
    success: { status: 200, description: "The target's answer", schema: testCallResultSchema },
    errors: ['MALFORMED_REQUEST', 'INVALID_PARAMETER_VALUE', 'UNAUTHENTICATED', 'PERMISSION_DENIED', 'RESOURCE_DOES_NOT_EXIST', 'ENDPOINT_NOT_FOUND', 'LENGTH_REQUIRED', 'REQUEST_TOO_LARGE', 'REQUEST_LIMIT_EXCEEDED', 'INTERNAL_ERROR', 'TARGET_UNREACHABLE', 'TEMPORARILY_UNAVAILABLE'],
    examples: { request: { id: '0247f4303a549cb527779cf910c9a818' }, response: { status_code: 200, status: 200, body: 'ok' } },
  },
  'webhooks-health': {
    summary: "A webhook's endpoint health",
    tag: 'Deliveries',
    auth: 'bearer',
    input: idOnlySchema,
    success: { status: 200, description: 'Derived from its newest delivery records', schema: z.strictObject({ health: apiHealthSchema }) },
  },
  'events-publish': {
    summary: 'Publish registry events',
    description: `One event or {"events": [...]} (at most 100) as JSON, or CloudEvents 1.0 in structured mode (${CLOUDEVENTS_SINGLE}, ${CLOUDEVENTS_BATCH}). Answered once every event is durably queued. Each event's own schema: /api/schemas/publish/{event}.json.`,
    tag: 'Events',
    auth: 'bearer',
    body: publishJsonBodySchema,
    otherBodies: { [CLOUDEVENTS_SINGLE]: cloudEventSchema, [CLOUDEVENTS_BATCH]: cloudEventBatchSchema },
    success: { status: 202, description: "The events' ids, in order", schema: publishAnswerSchema },
    examples: { request: PUBLISH_EXAMPLE, response: { event_ids: ['registry-4711'] } },
  },
  'deliveries-list': {
    summary: 'List deliveries',
    description: "One webhook's deliveries, newest first; an admin may leave out webhook_id to list every webhook's.",
    tag: 'Deliveries',
    auth: 'bearer',
    input: listDeliveriesSchema,
    success: { status: 200, description: 'A page of deliveries', schema: deliveryPageSchema },
  },
  'deliveries-get': {
    summary: 'One delivery with its attempts and payload',
    tag: 'Deliveries',
    auth: 'bearer',
    input: getDeliverySchema,
    success: { status: 200, description: 'The delivery', schema: apiDeliveryDetailSchema },
  },
  'deliveries-summary': {
    summary: 'Deliveries per hour by status',
    description: "Per UTC hour of event time, by current status, for one webhook or every webhook the caller may read (an admin: all, deleted ones' records included; a manager: its models').",
    tag: 'Deliveries',
    auth: 'bearer',
    input: summaryQuerySchema,
    success: { status: 200, description: 'The hours, oldest first, and their totals', schema: deliverySummarySchema },
  },
  'service-status': {
    summary: 'Service status, for admins',
    description: 'Unreadable webhooks, poison queue depths, event queue backlogs and what each event source is doing.',
    tag: 'Service',
    auth: 'bearer',
    input: serviceStatusSchema,
    success: { status: 200, description: 'The status', schema: serviceStatusAnswerSchema },
  },
  'deliveries-redeliver': {
    summary: 'Redeliver',
    description: "Either delivery_id alone, or webhook_id with since_timestamp (its FAILED and SKIPPED deliveries, at most 1000 a call).",
    tag: 'Deliveries',
    auth: 'bearer',
    input: redeliverSchema,
    success: { status: 200, description: 'The ids of the deliveries sent again', schema: redeliverAnswerSchema },
  },
  'ingest-mlflow': {
    summary: "MLflow's registry webhooks, translated into events",
    description: 'Set this URL, with a secret of MLFLOW_WEBHOOK_SECRETS, on an MLflow webhook. 404 while MLFLOW_WEBHOOK_SECRETS is unset.',
    tag: 'Sources',
    auth: 'mlflow-signature',
    body: mlflowEnvelopeSchema,
    headers: {
      'X-MLflow-Delivery-Id': { description: `MLflow's delivery id (${MLFLOW_HEADERS.deliveryId})`, schema: z.string() },
      'X-MLflow-Timestamp': { description: 'Unix seconds, within 5 minutes of ours', schema: z.string() },
    },
    success: { status: 200, description: 'The events published, or why none was', schema: mlflowIngestAnswerSchema },
  },
  'databricks-config': {
    summary: "The Databricks SDKs' host metadata",
    description: 'An empty object: this service is no workspace, so the SDK keeps its explicit configuration.',
    tag: 'Service',
    auth: 'public',
    success: { status: 200, description: 'Nothing to add', schema: z.strictObject({}) },
    errors: ['INTERNAL_ERROR', 'TEMPORARILY_UNAVAILABLE'],
  },
};
