import { buildPayload, deliveredPayloadSchema } from '../outbound/payload.js';
import { sampleEvent } from '../pipeline/sample-event.js';
import { isEventName, type EventName } from '../webhooks/events.js';
import { publishBodySchema, toQueueForm } from '../webhooks/registry-event.js';
import { schemaOf, type JsonSchema } from './json-schema.js';

/** Where the schemas are served, under `/api`: `schemas/<kind>/<EVENT>.json`. */
export const SCHEMA_KINDS = ['events', 'publish'] as const;
export type SchemaKind = (typeof SCHEMA_KINDS)[number];

/** A fixed time, so the examples (and the documents holding them) are the same on every call. */
const EXAMPLE_TIME = 1_764_410_400_000;
const EXAMPLE_WEBHOOK_ID = '0247f4303a549cb527779cf910c9a818';

/** What a webhook subscribed to the event receives: the payload the `test` call sends, at a fixed time. */
export const examplePayload = (event: EventName): Record<string, unknown> =>
  JSON.parse(buildPayload(sampleEvent(event, 'someModel', EXAMPLE_TIME, 'example'), EXAMPLE_WEBHOOK_ID, event)) as Record<string, unknown>;

/** The publish body that produces that payload. */
export const examplePublishBody = (event: EventName): Record<string, unknown> => ({ ...toQueueForm(sampleEvent(event, 'someModel', EXAMPLE_TIME, 'example')), event });

/** The standalone JSON Schema (2020-12) of one event's delivered payload or publish body, with an example. */
export function eventJsonSchema(kind: SchemaKind, event: EventName, path: (kind: SchemaKind, event: EventName) => string): JsonSchema {
  const delivered = kind === 'events';
  const schema = delivered ? schemaOf(deliveredPayloadSchema(event), { io: 'output', target: 'draft-2020-12' }) : schemaOf(publishBodySchema(event), { io: 'input', target: 'draft-2020-12' });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: path(kind, event),
    title: delivered ? `${event} payload` : `${event} publish body`,
    description: delivered
      ? `The JSON body POSTed to a webhook subscribed to ${event} (and the <Webhook Payload> of a job webhook).`
      : `One ${event} event for POST /api/2.0/mlflow/registry-webhooks/publish (alone, or as an entry of {"events": [...]}).`,
    ...schema,
    examples: [delivered ? examplePayload(event) : examplePublishBody(event)],
  };
}

/** `MODEL_VERSION_CREATED.json` -> the event, or undefined for any other file name. */
export function eventOfFile(file: string): EventName | undefined {
  const name = /^([A-Z_]+)\.json$/.exec(file)?.[1];
  return name !== undefined && isEventName(name) ? name : undefined;
}
