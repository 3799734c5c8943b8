import { z } from 'zod';
import { genericOf, requiredFieldsOf, type EventName } from '../webhooks/events.js';
import { publishedEventFields, type RegistryEvent } from '../webhooks/registry-event.js';
import { eventText } from './event-text.js';

/** Which optional fields a payload of this event carries at all. */
const carries = (eventName: EventName) => {
  const generic = genericOf(eventName)?.generic ?? eventName;
  return { version: generic !== 'REGISTERED_MODEL_CREATED', tags: generic === 'MODEL_VERSION_TAG_SET', comment: generic === 'COMMENT_CREATED' };
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
    ...(event.toStage !== undefined ? { to_stage: event.toStage } : {}),
    ...(event.fromStage !== undefined ? { from_stage: event.fromStage } : {}),
    ...(fields.tags && event.tags ? { tags: event.tags } : {}),
    ...(fields.comment && event.comment !== undefined ? { comment: event.comment } : {}),
    text: event.text ?? eventText(event),
  });
}

/**
 * What a webhook subscribed to `eventName` receives, as its published JSON Schema states it: the fields the event
 * requires are required, the ones it never carries are absent, and a stage-specific event's `to_stage` is its stage.
 */
export function deliveredPayloadSchema(eventName: EventName) {
  const fields = publishedEventFields.shape;
  const required = new Set(requiredFieldsOf(eventName));
  const specific = genericOf(eventName);
  const field = <S extends z.ZodOptional>(name: ReturnType<typeof requiredFieldsOf>[number], schema: S) => (required.has(name) ? schema.unwrap() : schema);
  const carried = carries(eventName);
  return z.strictObject({
    event: z.literal(eventName),
    webhook_id: z.string(),
    event_timestamp: fields.event_timestamp.unwrap(),
    model_name: fields.model_name,
    ...(carried.version ? { version: field('version', z.string().regex(/^[1-9]\d{0,18}$/).optional()) } : {}),
    to_stage: specific ? z.literal(specific.stage) : field('to_stage', fields.to_stage),
    from_stage: field('from_stage', fields.from_stage),
    ...(carried.tags ? { tags: fields.tags.unwrap() } : {}),
    ...(carried.comment ? { comment: fields.comment.unwrap() } : {}),
    text: z.string(),
  });
}
