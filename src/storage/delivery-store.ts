import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { deliveryIdOf, parseDeliveryId, type Delivery, type DeliveryStatus } from '../delivery/delivery.js';
import type { EventName } from '../webhooks/events.js';
import { invertedTimestamp } from './key-encoding.js';
import type { Cursor } from './page-token.js';
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

/** The delivery log: a partition per webhook, rows newest first. */
export class TableDeliveryStore implements DeliveryStore {
  constructor(private readonly table: TableClient) {}

  async get(id: string): Promise<Delivery | undefined> {
    const key = parseDeliveryId(id);
    if (!key) return undefined;
    const entity = await readOrUndefined(() => this.table.getEntity<DeliveryEntity>(key.webhookId, key.rowKey));
    return entity ? fromEntity(entity) : undefined;
  }

  async put(delivery: Delivery): Promise<void> {
    await this.table.upsertEntity(toEntity(delivery), 'Replace');
  }

  async putAll(deliveries: readonly Delivery[]): Promise<void> {
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

const TRANSACTION_LIMIT = 100;

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
