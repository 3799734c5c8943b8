import { z } from 'zod';
import { EVENT_NAMES, isAliasEvent, genericOf, requiredFieldsOf, STAGES, type EventName, type Stage } from './events.js';
import { modelNameSchema, text } from './schemas.js';
import { definedOnly } from '../shared/defined.js';

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
  /** Keys only for MODEL_VERSION_TAG_DELETED. */
  tags?: { key: string; value?: string }[];
  comment?: string;
  alias?: string;
  /** The version an alias pointed to before it moved (MODEL_VERSION_ALIAS_CREATED). */
  previousVersion?: string;
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
/** Digits as a string or a positive integer; both are kept as the string. Two branches, so JSON Schema states the rule. */
const versionSchema = z
  .union([text().regex(/^[1-9]\d{0,18}$/, { error: VERSION_ERROR }), z.int({ error: VERSION_ERROR }).min(1, { error: VERSION_ERROR })], { error: 'must be a string or an integer' })
  .transform((value) => String(value));

/** MLflow's alias rule (Python's `^[\w\-]*$`, Unicode letters included; at most 255), which Unity Catalog's aliases also meet. */
const aliasSchema = z.string().regex(/^[\p{L}\p{M}\p{N}_-]{1,255}$/u, { error: 'must be 1 to 255 letters, digits, _ or -' });
const tagKeySchema = text().min(1).max(250);
const tagValueSchema = text().max(5000);
const tagsOf = <S extends z.ZodRawShape>(shape: S) => z.array(z.strictObject(shape)).min(1, { error: 'must hold at least one tag' }).max(100);

/** The publish fields, before the rules that tie them to the event (so each event's own schema can be derived). */
export const publishedEventFields = z.strictObject({
  event: z.enum(EVENT_NAMES, { error: 'unknown event' }),
  model_name: modelNameSchema,
  version: versionSchema.optional(),
  to_stage: stageSchema.optional(),
  from_stage: stageSchema.optional(),
  tags: tagsOf({ key: tagKeySchema, value: tagValueSchema.optional() }).optional(),
  comment: text().max(10_000).optional(),
  alias: aliasSchema.optional(),
  previous_version: versionSchema.optional(),
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
  for (const problem of aliasEraProblems(input)) ctx.addIssue({ code: 'custom', ...problem });
});

/**
 * One event's publish body, as its JSON Schema states it: `event` fixed, the fields it requires required, the
 * alias era's fields only on their events, a deleted tag without a value, and a stage-specific event's
 * `to_stage` (optional, implied by the name) fixed to its stage.
 */
export function publishBodySchema(event: EventName) {
  const { alias, previous_version, ...fields } = publishedEventFields.shape;
  const required = new Set(requiredFieldsOf(event));
  const specific = genericOf(event);
  const pick = (name: RequiredField, schema: z.ZodOptional<z.ZodType>): z.ZodType => (required.has(name) ? schema.unwrap() : schema);
  const tags = event === 'MODEL_VERSION_TAG_DELETED' ? tagsOf({ key: tagKeySchema }) : tagsOf({ key: tagKeySchema, value: tagValueSchema });
  return z.strictObject({
    ...fields,
    event: z.literal(event),
    version: pick('version', fields.version),
    to_stage: specific ? z.literal(specific.stage).optional() : pick('to_stage', fields.to_stage),
    from_stage: pick('from_stage', fields.from_stage),
    tags: pick('tags', tags.optional()),
    comment: pick('comment', fields.comment),
    ...(isAliasEvent(event) ? { alias: pick('alias', alias) } : {}),
    ...(event === 'MODEL_VERSION_ALIAS_CREATED' ? { previous_version } : {}),
  });
}

type RequiredField = ReturnType<typeof requiredFieldsOf>[number];

/** The alias era's fields belong to their events only, and a deleted tag has no value. */
function aliasEraProblems(input: { event: EventName; alias?: string | undefined; previous_version?: string | undefined; version?: string | undefined; tags?: { value?: string | undefined }[] | undefined }): { path: PropertyKey[]; message: string }[] {
  const { event } = input;
  const problems: { path: PropertyKey[]; message: string }[] = [];
  if (input.alias !== undefined && !isAliasEvent(event)) problems.push({ path: ['alias'], message: `is only for MODEL_VERSION_ALIAS_CREATED and MODEL_VERSION_ALIAS_DELETED, not ${event}` });
  if (input.previous_version !== undefined && event !== 'MODEL_VERSION_ALIAS_CREATED') problems.push({ path: ['previous_version'], message: `is only for MODEL_VERSION_ALIAS_CREATED, not ${event}` });
  if (input.previous_version !== undefined && input.previous_version === input.version) problems.push({ path: ['previous_version'], message: 'must differ from version (an alias that did not move has no previous version)' });
  const tags = input.tags ?? [];
  tags.forEach((tag, index) => {
    if (event === 'MODEL_VERSION_TAG_DELETED' && tag.value !== undefined) problems.push({ path: ['tags', index, 'value'], message: 'is not allowed for MODEL_VERSION_TAG_DELETED (a deleted tag has only its key)' });
    if (event !== 'MODEL_VERSION_TAG_DELETED' && tag.value === undefined) problems.push({ path: ['tags', index, 'value'], message: `required for ${event}` });
  });
  return problems;
}

export type PublishedEvent = z.output<typeof publishedEventSchema>;

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
    ...definedOnly({
      version: input.version,
      toStage,
      fromStage: input.from_stage,
    }),
    ...(input.tags ? { tags: input.tags } : {}),
    ...definedOnly({
      comment: input.comment,
      alias: input.alias,
      previousVersion: input.previous_version,
      userId: input.user_id,
    }),
    eventTimestamp: input.event_timestamp ?? defaults.now,
    ...definedOnly({ text: input.text }),
    publishedBy: defaults.publishedBy,
  };
}

/** The queue form of an event; a publisher-less id is left out, for the fan-out to derive as `<message id>:<index>`. */
export function toQueueForm(event: RegistryEvent): Record<string, unknown> {
  return {
    event: event.event,
    model_name: event.modelName,
    ...definedOnly({
      version: event.version,
      to_stage: event.toStage,
      from_stage: event.fromStage,
    }),
    ...(event.tags ? { tags: event.tags } : {}),
    ...definedOnly({
      comment: event.comment,
      alias: event.alias,
      previous_version: event.previousVersion,
      user_id: event.userId,
    }),
    event_timestamp: event.eventTimestamp,
    ...definedOnly({ text: event.text }),
    ...(event.idSupplied ? { event_id: event.eventId } : {}),
  };
}
