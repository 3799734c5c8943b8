import type { Clock } from '../ids.js';
import { REGISTRY_WIDE_SCOPE, scopeKeyOf } from '../storage/key-encoding.js';
import type { WebhookStore } from '../storage/webhook-store.js';
import type { Webhook } from '../webhooks/webhook.js';

/** Allowance for the storage service's clock running ahead of ours. */
export const CLOCK_SKEW_MARGIN_MS = 1000;

/**
 * The ACTIVE webhooks an event of one model may reach: that model's partition and the registry-wide one.
 * Nothing is cached. Concurrent lookups of a partition share one read, but only a read that started after
 * the event was enqueued (plus a skew margin), so a webhook created before an event was published is always
 * seen. Under a backlog a burst of events then costs a read per partition, not per event.
 */
export class SubscriberLookup {
  private readonly inFlight = new Map<string, { startedAt: number; read: Promise<Webhook[]> }>();

  constructor(
    private readonly store: WebhookStore,
    private readonly clock: Clock,
  ) {}

  async forModel(modelName: string, enqueuedAt: number): Promise<Webhook[]> {
    const notBefore = enqueuedAt + CLOCK_SKEW_MARGIN_MS;
    const [model, registryWide] = await Promise.all([this.scope(scopeKeyOf(modelName), notBefore), this.scope(REGISTRY_WIDE_SCOPE, notBefore)]);
    return [...model.filter((webhook) => webhook.modelName === modelName), ...registryWide];
  }

  private scope(scope: string, notBefore: number): Promise<Webhook[]> {
    const pending = this.inFlight.get(scope);
    if (pending && pending.startedAt >= notBefore) return pending.read;
    const entry = { startedAt: this.clock(), read: this.store.listScope(scope, 'ACTIVE') };
    this.inFlight.set(scope, entry);
    void entry.read.finally(() => {
      if (this.inFlight.get(scope) === entry) this.inFlight.delete(scope);
    }).catch(() => undefined);
    return entry.read;
  }
}
