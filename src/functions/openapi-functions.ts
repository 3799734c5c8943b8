import type { HttpHandler, HttpResponseInit } from '@azure/functions';
import { buildDocument, type DocumentedRoute } from '../openapi/document.js';
import { eventJsonSchema, eventOfFile, SCHEMA_KINDS, type SchemaKind } from '../openapi/event-schemas.js';
import { requestSchema, responseSchema, type JsonSchema } from '../openapi/json-schema.js';
import { deliveredPayloadSchema } from '../outbound/payload.js';
import { ApiError, errorMessage } from '../shared/errors.js';
import { EVENT_NAMES, type EventName } from '../webhooks/events.js';
import { publishBodySchema } from '../webhooks/registry-event.js';
import { API_CONTRACTS } from './api-contracts.js';
import { errorResponse } from './http-endpoint.js';

/** Where each event's schema is served, as a path under the site root. */
export const eventSchemaPath = (kind: SchemaKind, event: EventName): string => `/api/schemas/${kind}/${event}.json`;

const pascal = (event: EventName): string => event.toLowerCase().replace(/(^|_)(\w)/g, (_, _sep: string, letter: string) => letter.toUpperCase());

/** Each event's payload and publish body as components, so generated clients get a type per event. */
function eventComponents(): Record<string, JsonSchema> {
  return Object.fromEntries(
    EVENT_NAMES.flatMap((event) => [
      [`${pascal(event)}Payload`, responseSchema(deliveredPayloadSchema(event))],
      [`${pascal(event)}PublishBody`, requestSchema(publishBodySchema(event))],
    ]),
  );
}

/** The OpenAPI document of these routes (the function table's), from the contracts and the zod schemas. */
export function apiDocument(routes: readonly DocumentedRoute[]): JsonSchema {
  return buildDocument(
    {
      title: 'registry-webhooks',
      version: '2.0',
      description:
        "Databricks-compatible model-registry webhooks. Errors are {error_code, message}, the message naming the field. Every event's delivered payload and publish body have a JSON Schema at /api/schemas/events/{event}.json and /api/schemas/publish/{event}.json.",
    },
    routes,
    API_CONTRACTS,
    eventComponents(),
  );
}

const CACHE = { 'Cache-Control': 'public, max-age=300', 'X-Content-Type-Options': 'nosniff' };

const json = (text: string, contentType: string): HttpResponseInit => ({ status: 200, headers: { ...CACHE, 'Content-Type': contentType }, body: text });

/** Answers `produce`, or its error as `{error_code, message}`: these routes are public and read nothing stored. */
const publicDocument =
  (produce: (request: Parameters<HttpHandler>[0]) => HttpResponseInit): HttpHandler =>
  (request, context) => {
    try {
      return produce(request);
    } catch (error) {
      if (error instanceof ApiError) return errorResponse(error);
      context.error(`document could not be built: ${errorMessage(error)}`);
      return errorResponse(new ApiError('INTERNAL_ERROR', `The document could not be built (invocation ${context.invocationId})`));
    }
  };

/**
 * `GET /api/openapi.json` and the event schemas: public, like the console's assets. `servers` names the host the
 * document was asked from, so an import by URL (API Management) finds the backend.
 */
export function openApiHandlers(routes: () => readonly DocumentedRoute[]): Record<'document' | SchemaKind, HttpHandler> {
  // Built and serialized once: an answer only splices in `servers` (or `$id`), so a public route costs no rebuild.
  let documentText: string | undefined;
  const schemaTexts = new Map<string, string>();
  const schemaHandler = (kind: SchemaKind): HttpHandler =>
    publicDocument((request) => {
      const file = request.params.file ?? '';
      const event = eventOfFile(file);
      if (!event) throw new ApiError('ENDPOINT_NOT_FOUND', `No schema '${file}'; expected <EVENT>.json for one of ${EVENT_NAMES.join(', ')}`);
      const key = `${kind}/${event}`;
      let text = schemaTexts.get(key);
      if (text === undefined) {
        const { $id: _id, ...schema } = eventJsonSchema(kind, event, eventSchemaPath);
        text = JSON.stringify(schema).slice(1);
        schemaTexts.set(key, text);
      }
      return json(`{"$id":${JSON.stringify(new URL(eventSchemaPath(kind, event), request.url).href)},${text}`, 'application/schema+json');
    });
  return {
    document: publicDocument((request) => {
      documentText ??= JSON.stringify(apiDocument(routes())).slice(1);
      return json(`{"servers":${JSON.stringify([{ url: new URL(request.url).origin }])},${documentText}`, 'application/json');
    }),
    ...(Object.fromEntries(SCHEMA_KINDS.map((kind) => [kind, schemaHandler(kind)])) as Record<SchemaKind, HttpHandler>),
  };
}
