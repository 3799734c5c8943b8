import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { deliveryIdOf, parseDeliveryId, type Delivery, type DeliveryStatus } from '../delivery/delivery.js';
import type { EventName } from '../webhooks/events.js';
import { dayKeyOf, invertedTimestamp, startOfDayKey } from './key-encoding.js';
import type { Cursor } from './page-token.js';
import { addPurges, anyWhere, NOTHING_PURGED, purgeWhere, TRANSACTION_LIMIT, type PurgeResult } from './purge.js';
import { readOrUndefined } from './rest-errors.js';

export interface DeliveryQuery {
  webhookId: string;
  status?: DeliveryStatus;
  /** Only deliveries of events at or after this time. */
  sinceTimestamp?: number;
  after?: Cursor;
  limit: number;
}

export interface DeliveryStore {
  get(id: string): Promise<Delivery | undefined>;
  put(delivery: Delivery): Promise<void>;
  /** Many at once: one transaction per webhook and hundred records. */
  putAll(deliveries: readonly Delivery[]): Promise<void>;
  /** Newest first. */
  list(query: DeliveryQuery): Promise<{ deliveries: Delivery[]; next?: Cursor }>;
}

type DeliveryEntity = {
  partitionKey: string;
  rowKey: string;
  Event: string;
  EventId: string;
  EventTimestamp: number;
  Status: DeliveryStatus;
  Attempts: number;
  LastStatusCode?: number;
  LastError?: string;
  CreatedAt: number;
  LastAttemptAt?: number;
  NextAttemptAt?: number;
  NextScheduleIndex?: number;
  Payload: string;
};

const DAY_MS = 86_400_000;
/** Day-index rows this process knows exist; cleared when it grows past this. */
const KNOWN_DAYS_LIMIT = 10_000;
/** Days (of one webhook each) purged at once. */
const PARALLEL_DAYS = 8;

/**
 * The delivery log: a partition per webhook, rows newest first (by event time). Beside it, `days` holds a
 * row per UTC day and webhook that has records (partition the day, row the webhook id), written before the
 * first record of that day and webhook; retention reads it to find the expired ranges, including those of
 * deleted webhooks, without reading the log itself. Each process remembers the rows it has written, so the
 * index costs one write per webhook and day, not one per delivery.
 */
export class TableDeliveryStore implements DeliveryStore {
  private readonly knownDays = new Set<string>();

  constructor(
    private readonly table: TableClient,
    private readonly days: TableClient,
  ) {}

  async get(id: string): Promise<Delivery | undefined> {
    const key = parseDeliveryId(id);
    if (!key) return undefined;
    const entity = await readOrUndefined(() => this.table.getEntity<DeliveryEntity>(key.webhookId, key.rowKey));
    return entity ? fromEntity(entity) : undefined;
  }

  async put(delivery: Delivery): Promise<void> {
    await this.indexDays([delivery]);
    await this.table.upsertEntity(toEntity(delivery), 'Replace');
  }

  private async indexDays(deliveries: readonly Delivery[]): Promise<void> {
    const missing = new Map<string, { partitionKey: string; rowKey: string }>();
    for (const delivery of deliveries) {
      const row = { partitionKey: dayKeyOf(delivery.eventTimestamp), rowKey: delivery.webhookId };
      const key = `${row.partitionKey}/${row.rowKey}`;
      if (!this.knownDays.has(key)) missing.set(key, row);
    }
    if (missing.size === 0) return;
    await Promise.all([...missing.values()].map((row) => this.days.upsertEntity(row, 'Replace')));
    if (this.knownDays.size + missing.size > KNOWN_DAYS_LIMIT) this.knownDays.clear();
    // Only recent days are remembered: retention may remove an old day's row at any time, and a record of an
    // old event (a late retry, an old event_timestamp) must never be left without one.
    const recent = dayKeyOf(Date.now() - DAY_MS);
    for (const [key, row] of missing) if (row.partitionKey >= recent) this.knownDays.add(key);
  }

  /**
   * Deletes the settled records of events before `cutoff`. It reads the day index up to the cutoff's day and,
   * for each day and webhook, the record range of that day before the cutoff; a day's index row goes once
   * the whole day is past the cutoff and its range is empty (a delivery still retrying keeps it).
   */
  async purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    let result: PurgeResult = NOTHING_PURGED;
    const pages = this.days.listEntities<{ partitionKey: string; rowKey: string }>({ queryOptions: { filter: odata`PartitionKey le ${dayKeyOf(cutoff)}`, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: TRANSACTION_LIMIT });
    for await (const page of pages) {
      result = addPurges(result, { deleted: 0, requests: 1, done: true });
      for (let start = 0; start < page.length; start += PARALLEL_DAYS) {
        const group = page.slice(start, start + PARALLEL_DAYS);
        const share = Math.floor((budget - result.deleted) / group.length);
        if (share < 1) return { ...result, done: false };
        const purged = await Promise.all(group.map((row) => this.purgeDay(row, cutoff, share)));
        result = purged.reduce(addPurges, result);
        if (!result.done) return result;
      }
    }
    return result;
  }

  /** One day and webhook of `purgeBefore`: the range before the cutoff, then the index row if the day is empty. */
  private async purgeDay(row: { partitionKey: string; rowKey: string }, cutoff: number, budget: number): Promise<PurgeResult> {
    const dayStart = startOfDayKey(row.partitionKey);
    const end = Math.min(dayStart + DAY_MS, cutoff);
    const range = odata`PartitionKey eq ${row.rowKey} and RowKey gt ${`${invertedTimestamp(end)}~`} and RowKey lt ${`${invertedTimestamp(dayStart)}~`}`;
    const purged = await purgeWhere(this.table, `${range} and Status ne 'PENDING' and Status ne 'RETRYING'`, budget);
    if (!purged.done || end < dayStart + DAY_MS) return purged;
    if (await anyWhere(this.table, range)) return addPurges(purged, { deleted: 0, requests: 1, done: true });
    await this.days.deleteEntity(row.partitionKey, row.rowKey);
    return addPurges(purged, { deleted: 0, requests: 2, done: true });
  }

  async putAll(deliveries: readonly Delivery[]): Promise<void> {
    await this.indexDays(deliveries);
    const byWebhook = new Map<string, DeliveryEntity[]>();
    for (const delivery of deliveries) {
      const entity = toEntity(delivery);
      byWebhook.set(entity.partitionKey, [...(byWebhook.get(entity.partitionKey) ?? []), entity]);
    }
    await Promise.all(
      [...byWebhook.values()].flatMap((entities) => {
        const chunks: DeliveryEntity[][] = [];
        for (let start = 0; start < entities.length; start += TRANSACTION_LIMIT) chunks.push(entities.slice(start, start + TRANSACTION_LIMIT));
        return chunks.map((chunk) =>
          chunk.length === 1 && chunk[0]
            ? this.table.upsertEntity(chunk[0], 'Replace')
            : this.table.submitTransaction(chunk.map((entity): TransactionAction => ['upsert', entity, 'Replace'])),
        );
      }),
    );
  }

  async list(query: DeliveryQuery): Promise<{ deliveries: Delivery[]; next?: Cursor }> {
    const clauses = [odata`PartitionKey eq ${query.webhookId}`];
    if (query.after) clauses.push(odata`RowKey gt ${query.after.r}`);
    if (query.sinceTimestamp !== undefined) clauses.push(odata`RowKey lt ${`${invertedTimestamp(query.sinceTimestamp)}~`}`);
    if (query.status) clauses.push(odata`Status eq ${query.status}`);
    const found: Delivery[] = [];
    const pages = this.table.listEntities<DeliveryEntity>({ queryOptions: { filter: clauses.join(' and ') } }).byPage({ maxPageSize: Math.min(1000, query.limit + 1) });
    for await (const page of pages) {
      for (const entity of page) {
        if (found.length === query.limit) {
          const last = found[found.length - 1];
          const lastKey = last ? parseDeliveryId(last.id) : undefined;
          return { deliveries: found, ...(lastKey ? { next: { p: lastKey.webhookId, r: lastKey.rowKey } } : {}) };
        }
        found.push(fromEntity(entity));
      }
    }
    return { deliveries: found };
  }
}

function toEntity(delivery: Delivery): DeliveryEntity {
  const key = parseDeliveryId(delivery.id);
  if (!key) throw new Error(`malformed delivery id ${delivery.id}`);
  return {
    partitionKey: key.webhookId,
    rowKey: key.rowKey,
    Event: delivery.event,
    EventId: delivery.eventId,
    EventTimestamp: delivery.eventTimestamp,
    Status: delivery.status,
    Attempts: delivery.attempts,
    ...(delivery.lastStatusCode !== undefined ? { LastStatusCode: delivery.lastStatusCode } : {}),
    ...(delivery.lastError !== undefined ? { LastError: delivery.lastError } : {}),
    CreatedAt: delivery.createdTimestamp,
    ...(delivery.lastAttemptTimestamp !== undefined ? { LastAttemptAt: delivery.lastAttemptTimestamp } : {}),
    ...(delivery.nextAttemptTimestamp !== undefined ? { NextAttemptAt: delivery.nextAttemptTimestamp } : {}),
    ...(delivery.nextScheduleIndex !== undefined ? { NextScheduleIndex: delivery.nextScheduleIndex } : {}),
    Payload: delivery.payload,
  };
}

function fromEntity(entity: DeliveryEntity): Delivery {
  return {
    id: deliveryIdOf(entity.partitionKey, entity.rowKey),
    webhookId: entity.partitionKey,
    event: entity.Event as EventName,
    eventId: entity.EventId,
    eventTimestamp: entity.EventTimestamp,
    status: entity.Status,
    attempts: entity.Attempts,
    ...(entity.LastStatusCode !== undefined ? { lastStatusCode: entity.LastStatusCode } : {}),
    ...(entity.LastError !== undefined ? { lastError: entity.LastError } : {}),
    createdTimestamp: entity.CreatedAt,
    ...(entity.LastAttemptAt !== undefined ? { lastAttemptTimestamp: entity.LastAttemptAt } : {}),
    ...(entity.NextAttemptAt !== undefined ? { nextAttemptTimestamp: entity.NextAttemptAt } : {}),
    ...(entity.NextScheduleIndex !== undefined ? { nextScheduleIndex: entity.NextScheduleIndex } : {}),
    payload: entity.Payload,
  };
}
