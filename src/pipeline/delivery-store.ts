import type { Versioned } from '../webhooks/webhook-store.js';
import type { Delivery, DeliveryStatus, DeliverySummary } from './delivery.js';

export interface DeliveryQuery {
  webhookId: string;
  status?: DeliveryStatus;
  /** Only deliveries of events at or after this time. */
  sinceTimestamp?: number;
  /** Only deliveries of events at or before this time. */
  untilTimestamp?: number;
  /** A `nextPageToken` of the same listing; the store refuses (INVALID_PARAMETER_VALUE) one it did not issue for it. */
  pageToken?: string;
  limit: number;
}

/** A listing across every webhook's log, deleted webhooks' included. */
export type AllDeliveriesQuery = Omit<DeliveryQuery, 'webhookId' | 'sinceTimestamp' | 'untilTimestamp'>;

export interface DeliveryPage {
  deliveries: DeliverySummary[];
  /** Present when more deliveries follow: opaque, handed back as `pageToken`. */
  nextPageToken?: string;
}

/** The outcome of creating one record: it was written (at this version), or one was already there. */
export type CreateResult = { created: true; etag: string } | { created: false; existing: Versioned<Delivery> };

/**
 * The delivery log. Writes that make or record an attempt are conditional, so two processes never both send one
 * attempt; versions are opaque, pass back the one the store answered.
 */
export interface DeliveryStore {
  get(id: string): Promise<Versioned<Delivery> | undefined>;
  /** Writes each record that does not exist yet; answers, in order, its version or the record already there. */
  create(deliveries: readonly Delivery[]): Promise<CreateResult[]>;
  /**
   * Replaces each record that is still at its version; answers, in order, the new version, or undefined where
   * the record changed meanwhile or is gone.
   */
  replace(updates: readonly Versioned<Delivery>[]): Promise<(string | undefined)[]>;
  /** One webhook's deliveries, newest first. */
  list(query: DeliveryQuery): Promise<DeliveryPage>;
  /** Every webhook's deliveries, newest first (by event time, then webhook id). */
  listAll(query: AllDeliveriesQuery): Promise<DeliveryPage>;
}
