import { isAliasEvent, type EventName } from '../webhooks/events.js';
import type { RegistryEvent } from '../webhooks/registry-event.js';
import { eventText } from './event-text.js';
import { definedOnly } from '../shared/defined.js';

/** The JSON a webhook receives (and a job's `<Webhook Payload>`), fields in the Databricks doc's order. */
export function buildPayload(event: RegistryEvent, webhookId: string, eventName: EventName): string {
  return JSON.stringify({
    event: eventName,
    webhook_id: webhookId,
    event_timestamp: event.eventTimestamp,
    model_name: event.modelName,
    ...(event.version !== undefined && event.event !== 'REGISTERED_MODEL_CREATED' ? { version: event.version } : {}),
    ...definedOnly({
      to_stage: event.toStage,
      from_stage: event.fromStage,
    }),
    ...(isAliasEvent(event.event) && event.alias !== undefined ? { alias: event.alias } : {}),
    ...(event.event === 'MODEL_VERSION_ALIAS_CREATED' && event.previousVersion !== undefined ? { previous_version: event.previousVersion } : {}),
    ...(event.event === 'MODEL_VERSION_TAG_SET' && event.tags ? { tags: event.tags } : {}),
    ...(event.event === 'MODEL_VERSION_TAG_DELETED' && event.tags ? { tags: event.tags.map(({ key }) => ({ key })) } : {}),
    ...(event.event === 'COMMENT_CREATED' && event.comment !== undefined ? { comment: event.comment } : {}),
    text: event.text ?? eventText(event),
  });
}
