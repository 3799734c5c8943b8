import { isAliasEvent, isStageEvent, genericOf, type EventName } from '../webhooks/events.js';
import type { RegistryEvent } from '../webhooks/registry-event.js';

/** The mock event a `test` call sends: realistic values for the chosen event. */
export function sampleEvent(eventName: EventName, modelName: string | undefined, now: number, eventId: string): RegistryEvent {
  const specific = genericOf(eventName);
  const event = specific?.generic ?? eventName;
  return {
    eventId,
    idSupplied: false,
    event,
    modelName: modelName ?? 'example-model',
    ...(event !== 'REGISTERED_MODEL_CREATED' ? { version: '1' } : {}),
    ...(isStageEvent(eventName) ? { toStage: specific?.stage ?? 'Production', fromStage: 'None' as const } : {}),
    ...(event === 'MODEL_VERSION_TAG_SET' ? { tags: [{ key: 'example-key', value: 'example-value' }] } : {}),
    ...(event === 'MODEL_VERSION_TAG_DELETED' ? { tags: [{ key: 'example-key' }] } : {}),
    ...(isAliasEvent(event) ? { alias: 'champion' } : {}),
    ...(event === 'MODEL_VERSION_ALIAS_CREATED' ? { version: '2', previousVersion: '1' } : {}),
    ...(event === 'COMMENT_CREATED' ? { comment: 'This is a test comment.' } : {}),
    eventTimestamp: now,
    publishedBy: 'test',
  };
}
