import type { Clock } from '../shared/ids.js';
import type { ScopePage, WebhookStore } from '../webhooks/webhook-store.js';
import type { Webhook } from '../webhooks/webhook.js';

/** Allowance for the storage service's clock running ahead of ours. */
export const CLOCK_SKEW_MARGIN_MS = 1000;

/** Webhooks of one scope, in id order, and whether more follow the last one. */
export interface ScopeSlice {
  webhooks: Webhook[];
  /** True when the scope may hold more webhooks after the last one listed. */
  full: boolean;
}

/**
 * The webhooks an event of one model may reach, uncached. Concurrent lookups share a read only if it started after the
 * event was enqueued, so a webhook created before an event was published is always seen.
 */
export class SubscriberLookup {
  private readonly inFlight = new Map<string, { startedAt: number; read: Promise<Webhook[]> }>();

  constructor(
    private readonly store: WebhookStore,
    private readonly clock: Clock,
  ) {}

  /** The model's webhooks and the registry-wide ones, a page of each (`registryWidePage`, when given, for the latter). */
  async forModel(modelName: string, enqueuedAt: number, page: ScopePage = {}, registryWidePage: ScopePage = page): Promise<{ model: ScopeSlice; registryWide: ScopeSlice }> {
    const notBefore = enqueuedAt + CLOCK_SKEW_MARGIN_MS;
    const [model, registryWide] = await Promise.all([this.scope(modelName, notBefore, page), this.scope(undefined, notBefore, registryWidePage)]);
    const slice = (webhooks: Webhook[], read: ScopePage): ScopeSlice => ({ webhooks, full: read.limit !== undefined && webhooks.length >= read.limit });
    return { model: { ...slice(model, page), webhooks: model.filter((webhook) => webhook.modelName === modelName) }, registryWide: slice(registryWide, registryWidePage) };
  }

  /** One scope's page: a model's (`modelName`), or the registry-wide one (undefined). */
  private scope(modelName: string | undefined, notBefore: number, page: ScopePage): Promise<Webhook[]> {
    const key = JSON.stringify([modelName ?? null, page.after ?? '', page.limit ?? '']);
    const pending = this.inFlight.get(key);
    if (pending && pending.startedAt >= notBefore) return pending.read;
    const entry = { startedAt: this.clock(), read: this.store.listScope(modelName, 'ACTIVE', page, { withServiceDisabled: true }) };
    this.inFlight.set(key, entry);
    void entry.read
      .finally(() => {
        if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
      })
      .catch(() => undefined);
    return entry.read;
  }
}
