import type { TableClient } from '@azure/data-tables';
import type { Delivery } from '../pipeline/delivery.js';
import type { AllDeliveriesQuery, CreateResult, DeliveryPage, DeliveryQuery, DeliveryStore } from '../pipeline/delivery-store.js';
import type { Clock } from '../shared/ids.js';
import type { Versioned } from '../webhooks/webhook-store.js';
import { DayIndex } from './day-index.js';
import { DeliveryListing } from './delivery-listing.js';
import { DeliveryPurge } from './delivery-purge.js';
import { DeliveryRecords } from './delivery-records.js';
import type { PurgeResult } from './purge.js';

/**
 * The delivery log: a partition per webhook, newest first, with `~FAILED_`/`~SKIPPED_` index rows and a `days`
 * table per day and webhook; layout and costs in docs/operations.md (Retention, The status index).
 */
export class TableDeliveryStore implements DeliveryStore {
  private readonly records: DeliveryRecords;
  private readonly listing: DeliveryListing;
  private readonly purge: DeliveryPurge;

  constructor(table: TableClient, days: TableClient, clock: Clock) {
    const dayIndex = new DayIndex(days, clock);
    this.records = new DeliveryRecords(table, dayIndex);
    this.listing = new DeliveryListing(table, dayIndex);
    this.purge = new DeliveryPurge(table, dayIndex);
  }

  get(id: string): Promise<Versioned<Delivery> | undefined> {
    return this.records.get(id);
  }

  create(deliveries: readonly Delivery[]): Promise<CreateResult[]> {
    return this.records.create(deliveries);
  }

  replace(updates: readonly Versioned<Delivery>[]): Promise<(string | undefined)[]> {
    return this.records.replace(updates);
  }

  /** Unconditional bulk writes, for seeding and maintenance (never for attempts, which are claimed). */
  putAll(deliveries: readonly Delivery[]): Promise<void> {
    return this.records.putAll(deliveries);
  }

  list(query: DeliveryQuery): Promise<DeliveryPage> {
    return this.listing.list(query);
  }

  listAll(query: AllDeliveriesQuery): Promise<DeliveryPage> {
    return this.listing.listAll(query);
  }

  /** Deletes settled records of events before `cutoff`, day by day, up to `budget` rows. */
  purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    return this.purge.purgeBefore(cutoff, budget);
  }
}
