import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { invalidParameter } from '../shared/errors.js';
import { parseWith } from '../http/validate.js';
import { enqueueEvents, type PublishDeps, type SourcedEvent } from '../pipeline/publish-events.js';
import { EVENT_NAMES } from '../webhooks/events.js';
import { requireRole } from '../webhooks/permissions.js';
import { MAX_EVENTS_PER_PUBLISH } from '../webhooks/registry-event.js';
import { parseTimestamp } from './timestamps.js';
import { definedOnly } from '../shared/defined.js';

export const CLOUDEVENTS_SINGLE = 'application/cloudevents+json';
export const CLOUDEVENTS_BATCH = 'application/cloudevents-batch+json';

/** CloudEvents attribute names: lowercase letters and digits, at most 20. */
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;

/** The publish fields a CloudEvent carries in its context attributes rather than in `data`. */
const FROM_ATTRIBUTES = { event: 'type', event_id: 'id', event_timestamp: 'time' } as const;

/** CloudEvents 1.0, structured mode, JSON: the context attributes we read, and extension attributes as the spec names them. */
export const cloudEventSchema = z
  .object({
    specversion: z.literal('1.0', { error: "must be '1.0'" }),
    id: z.string().min(1).max(256),
    source: z.string().min(1).max(4096),
    type: z.enum(EVENT_NAMES, { error: 'must be a registry event name, e.g. MODEL_VERSION_CREATED or MODEL_VERSION_ALIAS_CREATED' }),
    time: z.string().max(64).optional(),
    datacontenttype: z
      .string()
      .regex(/^application\/json\s*(;.*)?$/i, { error: 'must be application/json' })
      .optional(),
    dataschema: z.string().max(4096).optional(),
    subject: z.string().max(4096).optional(),
    data: z.record(z.string(), z.unknown(), { error: 'must be a JSON object holding the event fields' }),
  })
  .catchall(z.union([z.string(), z.number(), z.boolean()], { error: 'an extension attribute must be a string, number or boolean' }))
  .superRefine((event, ctx) => {
    for (const [field, attribute] of Object.entries(FROM_ATTRIBUTES)) {
      if (field in event.data) ctx.addIssue({ code: 'custom', path: ['data', field], message: `comes from the CloudEvent's '${attribute}'; leave it out of data` });
    }
  });

const batchSchema = z
  .array(z.unknown(), { error: `must be a JSON array of CloudEvents (${CLOUDEVENTS_BATCH})` })
  .min(1, { error: 'must hold at least one event' })
  .max(MAX_EVENTS_PER_PUBLISH, { error: `may hold at most ${MAX_EVENTS_PER_PUBLISH} events` });

/** The batch as documented: every entry a CloudEvent. */
export const cloudEventBatchSchema = z.array(cloudEventSchema).min(1).max(MAX_EVENTS_PER_PUBLISH);

/** The media type of a request, lowercased, without parameters. */
export const mediaTypeOf = (contentType: string | null): string => (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';

/** One CloudEvent as a publish-path event: `type` is the event, `id` the event_id, `time` the event_timestamp, `data` the rest. */
function toSourcedEvent(raw: unknown, prefix: string): SourcedEvent {
  const nameOf = (field: string) => `${prefix}${field}`;
  // Read before the schema: its output object would take `__proto__` as a prototype, not an attribute.
  const badName = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? Object.keys(raw).find((key) => !ATTRIBUTE_NAME.test(key)) : undefined;
  if (badName !== undefined) throw invalidParameter(`Invalid parameter '${nameOf(badName)}': is not a CloudEvents attribute (names are lowercase letters and digits)`);
  const cloudEvent = parseWith(cloudEventSchema, raw, nameOf);
  const timestamp = cloudEvent.time === undefined ? undefined : parseTimestamp(cloudEvent.time);
  if (timestamp === null) throw invalidParameter(`Invalid parameter '${nameOf('time')}': must be an RFC 3339 timestamp such as 2025-11-29T10:00:00Z`);
  return {
    input: { ...cloudEvent.data, event: cloudEvent.type, event_id: cloudEvent.id, ...definedOnly({ event_timestamp: timestamp }) },
    label: prefix === '' ? 'body' : prefix.slice(0, -1),
    nameOf: (field) => nameOf(Object.hasOwn(FROM_ATTRIBUTES, field) ? FROM_ATTRIBUTES[field as keyof typeof FROM_ATTRIBUTES] : `data.${field}`),
  };
}

/**
 * `POST .../publish` with `Content-Type: application/cloudevents+json` (one event) or
 * `application/cloudevents-batch+json` (an array): the same auth, limits and answer as the JSON form.
 */
export async function publishCloudEvents(deps: PublishDeps, principal: Principal, body: unknown, batch: boolean): Promise<{ event_ids: string[] }> {
  requireRole(principal, ['publisher', 'admin'], 'publish events');
  if (body === undefined) throw invalidParameter(`Missing request body: send ${batch ? 'a JSON array of CloudEvents' : 'one CloudEvent'}`);
  const sourced = batch ? parseWith(batchSchema, body).map((raw, index) => toSourcedEvent(raw, `[${index}].`)) : [toSourcedEvent(body, '')];
  return { event_ids: await enqueueEvents(deps, { principal }, sourced) };
}
