import { mapWithLimit } from '../shared/limit.js';
import type { RegistryEvent } from '../webhooks/registry-event.js';
import type { DeliveryStore } from './delivery-store.js';
import { deliveryIdOf, legacyDeliveryIdOf, type Delivery } from './delivery.js';

/**
 * How a `registry-events` message names its deliveries. `v2`, which every message this version writes carries:
 * by webhook, model and event. Unmarked (a producer's message, a re-check, or one an earlier version queued and
 * may have half worked under ids without the model): a record already made under the earlier id for this model's
 * event keeps that id, so nothing is sent again under a new `webhook-id`; any other delivery is named as in v2.
 */
export type DeliveryIdScheme = 'v2' | undefined;

const modelOf = (delivery: Delivery): unknown => {
  try {
    return (JSON.parse(delivery.payload) as { model_name?: unknown }).model_name;
  } catch {
    return undefined;
  }
};

/** The delivery id of each planned (event, webhook), in order. */
export async function deliveryIdsFor(
  store: Pick<DeliveryStore, 'get'>,
  scheme: DeliveryIdScheme,
  planned: readonly { event: RegistryEvent; webhookId: string }[],
): Promise<string[]> {
  const current = planned.map(({ event, webhookId }) => deliveryIdOf(webhookId, event.eventTimestamp, event.modelName, event.eventId));
  if (scheme === 'v2') return current;
  return mapWithLimit(planned, 16, async ({ event, webhookId }, index) => {
    const legacy = legacyDeliveryIdOf(webhookId, event.eventTimestamp, event.eventId);
    const found = await store.get(legacy);
    return found && found.value.eventId === event.eventId && modelOf(found.value) === event.modelName ? legacy : (current[index] as string);
  });
}
