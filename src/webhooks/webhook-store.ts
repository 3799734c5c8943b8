import type { EventName } from './events.js';
import type { ServiceDisable, Webhook, WebhookStatus } from './webhook.js';

export interface Versioned<T> {
  value: T;
  /** Opaque version for optimistic concurrency. */
  etag: string;
}

export interface WebhookQuery {
  /** Only this model's webhooks; every webhook when absent. */
  model?: string;
  /** Webhooks subscribed to any of these. */
  events?: readonly EventName[];
  /** Only webhooks whose model (undefined: registry-wide) this accepts; applied before paging, like `events`. */
  models?: (modelName: string | undefined) => boolean;
  /** A `nextPageToken` of the same listing; the store refuses (INVALID_PARAMETER_VALUE) one it did not issue for it. */
  pageToken?: string;
  limit: number;
}

export interface WebhookPage {
  webhooks: Webhook[];
  /** Present when more webhooks follow: opaque, handed back as `pageToken`. */
  nextPageToken?: string;
}

/** A keyset page of one scope's webhooks: ids after `after`, at most `limit` of them. */
export interface ScopePage {
  after?: string;
  limit?: number;
}

/** A write lost a race with another write of the same webhook. */
export class ConcurrentUpdateError extends Error {
  constructor() {
    super('the webhook changed while it was being updated');
    this.name = 'ConcurrentUpdateError';
  }
}

/** An insert would take a scope past its cap. */
export class ScopeFullError extends Error {
  constructor(readonly limit: number) {
    super(`the scope already holds ${limit} webhooks`);
    this.name = 'ScopeFullError';
  }
}

/**
 * Webhook definitions. A scope is one model's webhooks (`modelName`) or the registry-wide ones (undefined);
 * finding the webhooks an event of one model reaches reads those two scopes, never every webhook.
 */
export interface WebhookStore {
  /**
   * Stores a new webhook, unless its scope already holds `maxInScope` (default: no cap); then throws
   * ScopeFullError. The cap holds under concurrent inserts, from any number of instances.
   */
  insert(webhook: Webhook, maxInScope?: number): Promise<void>;
  get(id: string): Promise<Versioned<Webhook> | undefined>;
  /** Replaces the webhook if it is still at `etag`; throws ConcurrentUpdateError otherwise. */
  replace(webhook: Webhook, etag: string): Promise<void>;
  /**
   * Sets only the status, with the service's mark, so the delivery path cannot undo a user's update; with `etag`,
   * only at that version. Answers whether it was written.
   */
  setStatus(webhook: Webhook, status: WebhookStatus, now: number, options?: { serviceDisabled?: ServiceDisable; etag?: string }): Promise<boolean>;
  /**
   * Sets (or, undefined, clears) only `failingSince`, at `etag`; answers whether it was written. The webhook's
   * `lastUpdatedTimestamp` stays: this is the delivery path's note, not an update.
   */
  setFailingSince(webhook: Webhook, failingSince: number | undefined, etag: string): Promise<boolean>;
  remove(webhook: Webhook): Promise<void>;
  list(query: WebhookQuery): Promise<WebhookPage>;
  /**
   * The webhooks of one scope with the given status, in id order: all of them, or a page after an id. With
   * `withServiceDisabled`, also the DISABLED ones the service disabled (in the same order and page).
   */
  listScope(modelName: string | undefined, status: WebhookStatus, page?: ScopePage, options?: { withServiceDisabled?: boolean }): Promise<Webhook[]>;
  countScope(modelName: string | undefined): Promise<number>;
}

export const subscribesToAny = (webhook: Webhook, events: readonly EventName[] | undefined): boolean =>
  events === undefined || events.length === 0 || webhook.events.some((event) => events.includes(event));

/** Whether a webhook passes a listing's filters (its events and its model). */
export const matchesQuery = (webhook: Webhook, query: Pick<WebhookQuery, 'events' | 'models'>): boolean =>
  subscribesToAny(webhook, query.events) && (query.models === undefined || query.models(webhook.modelName));

/** The stored webhooks that cannot be read (reads skip them), as health lists them. */
export interface UnreadableWebhookList {
  ids(): Promise<string[]>;
}
