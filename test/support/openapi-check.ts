import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { documentedRoutes, functionTable } from '../../src/functions/function-table.js';
import { apiDocument, eventSchemaPath } from '../../src/functions/openapi-functions.js';
import { eventJsonSchema } from '../../src/openapi/event-schemas.js';
import type { JsonSchema } from '../../src/openapi/json-schema.js';
import { isEventName, type EventName } from '../../src/webhooks/events.js';

/**
 * Checks answers against the OpenAPI document and delivered payloads against their event schemas, both as the
 * service generates them. The e2e client (spawn-runtime.ts) and the receiver (receiver.ts) call these on
 * everything they see, so a handler that answers a field, status or shape the document does not state fails
 * the test that saw it.
 */
let cached: JsonSchema | undefined;
export const generatedDocument = (): JsonSchema => (cached ??= apiDocument(documentedRoutes(functionTable(() => Promise.reject(new Error('not used'))))));

/** OpenAPI 3.0 schema objects are JSON Schema (draft 4/7 style) with `nullable` and `example`, which Ajv knows or ignores. */
const ajv = new Ajv({ strict: false, allErrors: true });
const compiled = new Map<unknown, ValidateFunction>();
const validatorOf = (schema: JsonSchema): ValidateFunction => {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  return validate;
};

const describeErrors = (validate: ValidateFunction): string =>
  (validate.errors ?? []).slice(0, 5).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}${error.params && 'additionalProperty' in error.params ? ` '${String(error.params.additionalProperty)}'` : ''}`).join('; ');

/** Why `value` does not match `schema`, or undefined. */
export function schemaProblem(schema: JsonSchema, value: unknown): string | undefined {
  const validate = validatorOf(schema);
  return validate(value) ? undefined : describeErrors(validate);
}

type Operation = { responses: Record<string, JsonSchema> };

/** `METHOD template status` of every documented answer checked in this process, for tests that cover every route. */
export const answered = new Set<string>();

/** The document's operation for a request, if the path (without query) and method are documented. */
export function operationFor(document: JsonSchema, method: string, pathname: string): { template: string; operation: Operation } | undefined {
  const paths = document.paths as Record<string, Record<string, Operation>>;
  for (const [template, operations] of Object.entries(paths)) {
    const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}/?$`);
    const operation = operations[method.toLowerCase()];
    if (operation && pattern.test(pathname)) return { template, operation };
  }
  return undefined;
}

const resolve = (document: JsonSchema, value: JsonSchema): JsonSchema => {
  const ref = value.$ref;
  if (typeof ref !== 'string') return value;
  return ref.split('/').slice(1).reduce<JsonSchema>((node, key) => node[key] as JsonSchema, document);
};

const isJson = (contentType: string | null): boolean => /^application\/([\w.+-]*\+)?json\b/.test(contentType ?? '');

/**
 * Why an answer does not match the document, or undefined. A documented path and method must answer a documented
 * status with a body of its schema; anything else (the catch-all's 404 and 405, the console's files) is checked
 * only as far as an error answer must be `{error_code, message}`.
 */
export function answerProblem(method: string, url: string, status: number, contentType: string | null, text: string, document = generatedDocument()): string | undefined {
  const { pathname } = new URL(url, 'http://localhost');
  const found = method.toUpperCase() === 'HEAD' ? undefined : operationFor(document, method, pathname);
  const body = isJson(contentType) && text !== '' ? (JSON.parse(text) as unknown) : undefined;
  if (!found) {
    if (status < 400 || body === undefined) return undefined;
    const problem = schemaProblem((document.components as { schemas: Record<string, JsonSchema> }).schemas.Error as JsonSchema, body);
    return problem && `${method} ${pathname} -> ${status}: not an error of the document's Error schema: ${problem}`;
  }
  answered.add(`${method.toUpperCase()} ${found.template} ${status}`);
  const response = found.operation.responses[String(status)];
  if (!response) return `${method} ${found.template} answered ${status}, which the document does not list (${Object.keys(found.operation.responses).join(', ')})`;
  const content = (resolve(document, response).content ?? {}) as Record<string, { schema: JsonSchema }>;
  const media = Object.keys(content)[0];
  if (media === undefined || status === 304) return undefined;
  if (body === undefined) return `${method} ${found.template} -> ${status} answered ${contentType ?? 'no content type'}, not JSON (${media})`;
  const problem = schemaProblem(content[media]!.schema, body);
  return problem && `${method} ${found.template} -> ${status} does not match the document: ${problem}`;
}

const ajv2020 = new Ajv2020({ strict: false, allErrors: true });
const eventValidators = new Map<EventName, ValidateFunction>();

/** Why a delivered payload does not match its event's published JSON Schema, or undefined. */
export function payloadProblem(body: string): string | undefined {
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return `not JSON: ${body.slice(0, 100)}`;
  }
  const event = (payload as { event?: unknown }).event;
  if (typeof event !== 'string' || !isEventName(event)) return `'event' is not an event name: ${body.slice(0, 200)}`;
  let validate = eventValidators.get(event);
  if (!validate) {
    validate = ajv2020.compile(eventJsonSchema('events', event, (kind, name) => `http://localhost${eventSchemaPath(kind, name)}`));
    eventValidators.set(event, validate);
  }
  return validate(payload) ? undefined : `${event} payload does not match ${eventSchemaPath('events', event)}: ${describeErrors(validate)}`;
}

/** Whether a body a receiver got is a registry event payload (the databricks format), not a Slack, Teams or other one. */
export function isEventPayload(body: string): boolean {
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === 'object' && value !== null && ['event', 'webhook_id', 'event_timestamp', 'model_name'].some((key) => Object.hasOwn(value, key));
  } catch {
    return false;
  }
}
