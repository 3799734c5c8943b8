import { z } from 'zod';
import { EVENT_NAMES, genericOf, requiredFieldsOf, STAGES, type EventName, type Stage } from './events.js';
import { modelNameSchema, text } from './schemas.js';

/** A registry event after validation: stage-specific names folded into the generic name and `to_stage`. */
export interface RegistryEvent {
  eventId: string;
  /** The publisher chose the id: only such ids are checked against re-publishing (24 h). */
  idSupplied: boolean;
  event: EventName;
  modelName: string;
  version?: string;
  toStage?: Stage;
  fromStage?: Stage;
  tags?: { key: string; value: string }[];
  comment?: string;
  userId?: string;
  eventTimestamp: number;
  text?: string;
  /** Who published it (a principal id, or `queue`), for the audit log. */
  publishedBy: string;
}

export const MAX_EVENTS_PER_PUBLISH = 100;
/** The serialized payload of one event may not exceed this, so every delivery fits a queue message and a table row. */
export const MAX_PAYLOAD_BYTES = 32 * 1024;

const stageSchema = z.enum(STAGES, { error: `must be one of ${STAGES.join(', ')}` });
const MAX_TIMESTAMP = 9_999_999_999_999;
const VERSION_ERROR = 'must be a positive integer (as a string or a number)';

/** The publish fields, before the rules that tie them to the event (so each event's own schema can be derived). */
export const publishedEventFields = z.strictObject({
  event: z.enum(EVENT_NAMES, { error: 'unknown event' }),
  model_name: modelNameSchema,
  version: z
    .union([text().regex(/^[1-9]\d{0,18}$/, { error: VERSION_ERROR }), z.int({ error: VERSION_ERROR }).min(1, { error: VERSION_ERROR })], { error: 'must be a string or an integer' })
    .transform((value) => String(value))
    .optional(),
  to_stage: stageSchema.optional(),
  from_stage: stageSchema.optional(),
  tags: z
    .array(z.strictObject({ key: text().min(1).max(250), value: text().max(5000) }))
    .min(1, { error: 'must hold at least one tag' })
    .max(100)
    .optional(),
  comment: text().max(10_000).optional(),
  user_id: text().min(1).max(256).optional(),
  event_timestamp: z.number().int().min(0).max(MAX_TIMESTAMP).optional(),
  text: text().min(1).max(4000).optional(),
  event_id: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[\x21-\x7e]+$/, { error: 'must be visible ASCII without spaces' })
    .optional(),
});

export const publishedEventSchema = publishedEventFields.superRefine((input, ctx) => {
  const event = input.event;
  const specific = genericOf(event);
  if (specific && input.to_stage !== undefined && input.to_stage !== specific.stage) {
    ctx.addIssue({ code: 'custom', path: ['to_stage'], message: `must be ${specific.stage} for ${event}` });
  }
  for (const field of requiredFieldsOf(event)) {
    if (field === 'to_stage' && specific) continue;
    if (input[field] === undefined) ctx.addIssue({ code: 'invalid_type', expected: 'string', input: undefined, path: [field], message: `required for ${event}` });
  }
});

export type PublishedEvent = z.output<typeof publishedEventSchema>;

/**
 * One event's publish body, as its JSON Schema states it: `event` fixed, the fields it requires required, and a
 * stage-specific event's `to_stage` (optional, implied by the name) fixed to its stage.
 */
export function publishBodySchema(event: EventName) {
  const fields = publishedEventFields.shape;
  const required = new Set(requiredFieldsOf(event));
  const specific = genericOf(event);
  return publishedEventFields.extend({
    event: z.literal(event),
    ...(required.has('version') ? { version: fields.version.unwrap() } : {}),
    ...(required.has('from_stage') ? { from_stage: fields.from_stage.unwrap() } : {}),
    ...(specific ? { to_stage: z.literal(specific.stage).optional() } : required.has('to_stage') ? { to_stage: fields.to_stage.unwrap() } : {}),
    ...(required.has('tags') ? { tags: fields.tags.unwrap() } : {}),
    ...(required.has('comment') ? { comment: fields.comment.unwrap() } : {}),
  });
}

/** How far past its publishing an event may be stamped (clock skew); later would outlive retention and health. */
export const MAX_FUTURE_EVENT_MS = 86_400_000;

/** Why an event's `event_timestamp` is refused at `now`, if it is. */
export const futureTimestampProblem = (input: PublishedEvent, now: number): string | undefined =>
  input.event_timestamp !== undefined && input.event_timestamp > now + MAX_FUTURE_EVENT_MS ? 'is more than a day in the future' : undefined;

/** Folds a specific stage event into its generic name, fills defaults, and keeps who published it. */
export function normalizeEvent(input: PublishedEvent, defaults: { eventId: string; now: number; publishedBy: string }): RegistryEvent {
  const named = input.event;
  const specific = genericOf(named);
  const toStage = specific ? specific.stage : input.to_stage;
  return {
    eventId: input.event_id ?? defaults.eventId,
    idSupplied: input.event_id !== undefined,
    event: specific ? specific.generic : named,
    modelName: input.model_name,
    ...(input.version !== undefined ? { version: input.version } : {}),
    ...(toStage !== undefined ? { toStage } : {}),
    ...(input.from_stage !== undefined ? { fromStage: input.from_stage } : {}),
    ...(input.tags ? { tags: input.tags } : {}),
    ...(input.comment !== undefined ? { comment: input.comment } : {}),
    ...(input.user_id !== undefined ? { userId: input.user_id } : {}),
    eventTimestamp: input.event_timestamp ?? defaults.now,
    ...(input.text !== undefined ? { text: input.text } : {}),
    publishedBy: defaults.publishedBy,
  };
}

/** The queue form of an event; a publisher-less id is left out, for the fan-out to derive as `<message id>:<index>`. */
export function toQueueForm(event: RegistryEvent): Record<string, unknown> {
  return {
    event: event.event,
    model_name: event.modelName,
    ...(event.version !== undefined ? { version: event.version } : {}),
    ...(event.toStage !== undefined ? { to_stage: event.toStage } : {}),
    ...(event.fromStage !== undefined ? { from_stage: event.fromStage } : {}),
    ...(event.tags ? { tags: event.tags } : {}),
    ...(event.comment !== undefined ? { comment: event.comment } : {}),
    ...(event.userId !== undefined ? { user_id: event.userId } : {}),
    event_timestamp: event.eventTimestamp,
    ...(event.text !== undefined ? { text: event.text } : {}),
    ...(event.idSupplied ? { event_id: event.eventId } : {}),
  };
}
