import { z } from 'zod';
import { genericOf, isAliasEvent, isTagEvent, requiredFieldsOf, type EventName } from '../webhooks/events.js';
import { publishedEventFields, type RegistryEvent } from '../webhooks/registry-event.js';
import { eventText } from './event-text.js';
import { definedOnly } from '../shared/defined.js';

/** Which optional fields a payload of this event carries at all. */
const carries = (eventName: EventName) => {
  const generic = genericOf(eventName)?.generic ?? eventName;
  return {
    version: generic !== 'REGISTERED_MODEL_CREATED',
    alias: isAliasEvent(generic),
    previousVersion: generic === 'MODEL_VERSION_ALIAS_CREATED',
    tags: isTagEvent(generic),
    /** A deleted tag has only its key. */
    tagValues: generic === 'MODEL_VERSION_TAG_SET',
    comment: generic === 'COMMENT_CREATED',
  };
};

/** The JSON a webhook receives (and a job's `<Webhook Payload>`), fields in the Databricks doc's order. */
export function buildPayload(event: RegistryEvent, webhookId: string, eventName: EventName): string {
  const fields = carries(event.event);
  return JSON.stringify({
    event: eventName,
    webhook_id: webhookId,
    event_timestamp: event.eventTimestamp,
    model_name: event.modelName,
    ...(event.version !== undefined && fields.version ? { version: event.version } : {}),
    ...definedOnly({
      to_stage: event.toStage,
      from_stage: event.fromStage,
    }),
    ...(fields.alias && event.alias !== undefined ? { alias: event.alias } : {}),
    ...(fields.previousVersion && event.previousVersion !== undefined ? { previous_version: event.previousVersion } : {}),
    ...(fields.tags && event.tags ? { tags: fields.tagValues ? event.tags : event.tags.map(({ key }) => ({ key })) } : {}),
    ...(fields.comment && event.comment !== undefined ? { comment: event.comment } : {}),
    text: event.text ?? eventText(event),
  });
}

const versionOnTheWire = z.string().regex(/^[1-9]\d{0,18}$/);

/**
 * What a webhook subscribed to `eventName` receives, as its published JSON Schema states it: the fields the event
 * requires are required, the ones it never carries are absent, and a stage-specific event's `to_stage` is its stage.
 */
export function deliveredPayloadSchema(eventName: EventName) {
  const fields = publishedEventFields.shape;
  const required = new Set(requiredFieldsOf(eventName));
  const specific = genericOf(eventName);
  const field = (name: ReturnType<typeof requiredFieldsOf>[number], schema: z.ZodOptional<z.ZodType>): z.ZodType => (required.has(name) ? schema.unwrap() : schema);
  const carried = carries(eventName);
  const tag = carried.tagValues ? z.strictObject({ key: z.string(), value: z.string() }) : z.strictObject({ key: z.string() });
  return z.strictObject({
    event: z.literal(eventName),
    webhook_id: z.string(),
    event_timestamp: fields.event_timestamp.unwrap(),
    model_name: fields.model_name,
    ...(carried.version ? { version: field('version', versionOnTheWire.optional()) } : {}),
    to_stage: specific ? z.literal(specific.stage) : field('to_stage', fields.to_stage),
    from_stage: field('from_stage', fields.from_stage),
    ...(carried.alias ? { alias: field('alias', fields.alias) } : {}),
    ...(carried.previousVersion ? { previous_version: versionOnTheWire.optional() } : {}),
    ...(carried.tags ? { tags: z.array(tag).min(1) } : {}),
    ...(carried.comment ? { comment: fields.comment.unwrap() } : {}),
    text: z.string(),
  });
}
