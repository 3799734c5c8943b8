import type { EventName } from '../webhooks/events.js';
import type { RegistryEvent } from '../webhooks/registry-event.js';
import { eventText } from './event-text.js';

/** The JSON a webhook receives (and a job's `<Webhook Payload>`), fields in the Databricks doc's order. */
export function buildPayload(event: RegistryEvent, webhookId: string, eventName: EventName): string {
  return JSON.stringify({
    event: eventName,
    webhook_id: webhookId,
    event_timestamp: event.eventTimestamp,
    model_name: event.modelName,
    ...(event.version !== undefined && event.event !== 'REGISTERED_MODEL_CREATED' ? { version: event.version } : {}),
    ...(event.toStage !== undefined ? { to_stage: event.toStage } : {}),
    ...(event.fromStage !== undefined ? { from_stage: event.fromStage } : {}),
    ...(event.event === 'MODEL_VERSION_TAG_SET' && event.tags ? { tags: event.tags } : {}),
    ...(event.event === 'COMMENT_CREATED' && event.comment !== undefined ? { comment: event.comment } : {}),
    text: event.text ?? eventText(event),
  });
}
