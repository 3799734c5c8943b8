import { passesFilter } from './content-filter.js';
import { isStageEvent, specificEventFor, type EventName, type GenericStageEvent } from './events.js';
import type { RegistryEvent } from './registry-event.js';
import { receivesEvents, type Webhook } from './webhook.js';

export interface Match {
  webhook: Webhook;
  /** The name the payload carries: the generic one if subscribed to it, otherwise the stage-specific one. */
  eventName: EventName;
}

/** The webhooks an event reaches (ACTIVE or service-disabled, its model's or registry-wide, subscribed, its filter passed), each once. */
export function matchEvent(event: RegistryEvent, webhooks: readonly Webhook[]): Match[] {
  const specific =
    isStageEvent(event.event) && event.toStage !== undefined ? specificEventFor(event.event as GenericStageEvent, event.toStage) : undefined;
  const seen = new Set<string>();
  const matches: Match[] = [];
  for (const webhook of webhooks) {
    if (!receivesEvents(webhook) || seen.has(webhook.id)) continue;
    if (webhook.modelName !== undefined && webhook.modelName !== event.modelName) continue;
    const eventName = webhook.events.includes(event.event) ? event.event : specific && webhook.events.includes(specific) ? specific : undefined;
    if (eventName === undefined || !passesFilter(event, webhook.filter)) continue;
    seen.add(webhook.id);
    matches.push({ webhook, eventName });
  }
  return matches;
}
