import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import { deliveryIdOf, parseDeliveryId, type AttemptRecord, type Delivery, type DeliveryStatus } from '../pipeline/delivery.js';
import type { EventName } from '../webhooks/events.js';
import { dayKeyOf, invertedTimestamp, startOfDayKey } from './key-encoding.js';
import type { Cursor } from './page-token.js';
import { addPurges, anyWhere, NOTHING_PURGED, purgeWhere, TRANSACTION_LIMIT, type PurgeResult } from './purge.js';
import { mapWithLimit } from '../limit.js';
import { isConflict, isNotFound, isPreconditionFailed, readOrUndefined } from './rest-errors.js';
import type { Versioned } from './webhook-store.js';

export interface DeliveryQuery {
  webhookId: string;
  status?: DeliveryStatus;
  /** Only deliveries of events at or after this time. */
  sinceTimestamp?: number;
  after?: Cursor;
  limit: number;
}

/** The outcome of creating one record: it was written (at this version), or one was already there. */
export type CreateResult = { created: true; etag: string } | { created: false; existing: Versioned<Delivery> };

/**
 * The delivery log. Writes that make or record an attempt are conditional (create-if-absent, replace-at-version),
 * so two processes working the same delivery never both send one attempt.
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
  RunToken?: string;
  ClaimAttempt?: number;
  ClaimExpiresAt?: number;
  /** The attempt history, as JSON. */
  History?: string;
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
/** Storage requests one store call keeps in flight when it falls back to one request per record. */
const STORAGE_CONCURRENCY = 8;

/** The delivery log: a partition per webhook, rows newest first. */
export class TableDeliveryStore implements DeliveryStore {
  private readonly knownDays = new Set<string>();

  constructor(
    private readonly table: TableClient,
    private readonly days: TableClient,
  ) {}

  async get(id: string): Promise<Versioned<Delivery> | undefined> {
    const key = parseDeliveryId(id);
    if (!key) return undefined;
    const entity = await readOrUndefined(() => this.table.getEntity<DeliveryEntity>(key.webhookId, key.rowKey));
    return entity ? { value: fromEntity(entity), etag: entity.etag } : undefined;
  }

  /** One transaction per webhook and hundred records; a transaction that meets an existing row is redone row by row. */
  async create(deliveries: readonly Delivery[]): Promise<CreateResult[]> {
    await this.indexDays(deliveries);
    const results = new Array<CreateResult>(deliveries.length);
    await mapWithLimit(transactionGroups(deliveries.map(toEntity)), STORAGE_CONCURRENCY, async (group) => {
      if (group.length > 1) {
        try {
          const response = await this.table.submitTransaction(group.map(({ item }): TransactionAction => ['create', item]));
          await Promise.all(
            group.map(async ({ item, index }, position) => {
              results[index] = { created: true, etag: etagOf(response.subResponses, item.rowKey, position) ?? (await this.versionOf(item)) };
            }),
          );
          return;
        } catch (error) {
          if (!isConflict(error)) throw error;
        }
      }
      await mapWithLimit(group, STORAGE_CONCURRENCY, async ({ item, index }) => {
        results[index] = await this.createOne(item);
      });
    });
    return results;
  }

  /** The current version of a row just written, for a service that did not answer it. */
  private async versionOf(entity: DeliveryEntity): Promise<string> {
    return (await this.table.getEntity(entity.partitionKey, entity.rowKey)).etag;
  }

  private async createOne(entity: DeliveryEntity): Promise<CreateResult> {
    for (let tries = 0; ; tries += 1) {
      try {
        const created = await this.table.createEntity(entity);
        return { created: true, etag: created.etag ?? '' };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      const existing = await this.get(deliveryIdOf(entity.partitionKey, entity.rowKey));
      if (existing) return { created: false, existing };
      if (tries > 2) throw new Error(`delivery ${entity.rowKey} kept appearing and vanishing`);
    }
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

  /** Unconditional bulk writes, for seeding and maintenance (never for attempts, which are claimed). */
  async putAll(deliveries: readonly Delivery[]): Promise<void> {
    await this.indexDays(deliveries);
    await mapWithLimit(transactionGroups(deliveries.map(toEntity)), STORAGE_CONCURRENCY, (group) =>
      this.table.submitTransaction(group.map(({ item }): TransactionAction => ['upsert', item, 'Replace'])),
    );
  }

  async replace(updates: readonly Versioned<Delivery>[]): Promise<(string | undefined)[]> {
    const results = new Array<string | undefined>(updates.length);
    const etags = updates.map((update) => update.etag);
    await mapWithLimit(transactionGroups(updates.map((update) => toEntity(update.value))), STORAGE_CONCURRENCY, async (group) => {
      if (group.length > 1) {
        try {
          const response = await this.table.submitTransaction(
            group.map(({ item, index }): TransactionAction => ['update', item, 'Replace', { etag: etags[index] ?? '' }]),
          );
          await Promise.all(
            group.map(async ({ item, index }, position) => {
              results[index] = etagOf(response.subResponses, item.rowKey, position) ?? (await this.versionOf(item));
            }),
          );
          return;
        } catch (error) {
          if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
        }
      }
      await mapWithLimit(group, STORAGE_CONCURRENCY, async ({ item, index }) => {
        try {
          results[index] = (await this.table.updateEntity(item, 'Replace', { etag: etags[index] ?? '' })).etag ?? '';
        } catch (error) {
          if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
          results[index] = undefined;
        }
      });
    });
    return results;
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

/** Entities grouped for transactions: one partition (webhook) each, at most TRANSACTION_LIMIT, with their input index. */
function transactionGroups(entities: DeliveryEntity[]): { item: DeliveryEntity; index: number }[][] {
  const byPartition = new Map<string, { item: DeliveryEntity; index: number }[]>();
  entities.forEach((item, index) => {
    const group = byPartition.get(item.partitionKey);
    if (group) group.push({ item, index });
    else byPartition.set(item.partitionKey, [{ item, index }]);
  });
  return [...byPartition.values()].flatMap((group) => {
    const chunks: { item: DeliveryEntity; index: number }[][] = [];
    for (let start = 0; start < group.length; start += TRANSACTION_LIMIT) chunks.push(group.slice(start, start + TRANSACTION_LIMIT));
    return chunks;
  });
}

/** A transaction's version of one entity: by row key (creates), else by position (updates answer none). */
function etagOf(subResponses: readonly { rowKey?: string; etag?: string }[], rowKey: string, position: number): string | undefined {
  return subResponses.find((sub) => sub.rowKey === rowKey)?.etag ?? (subResponses[position]?.rowKey === undefined ? subResponses[position]?.etag : undefined);
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
    ...(delivery.runToken !== undefined ? { RunToken: delivery.runToken } : {}),
    ...(delivery.claim ? { ClaimAttempt: delivery.claim.attempt, ClaimExpiresAt: delivery.claim.expiresAt } : {}),
    ...(delivery.history && delivery.history.length > 0 ? { History: historyText(delivery.history) } : {}),
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
    ...(entity.RunToken !== undefined ? { runToken: entity.RunToken } : {}),
    ...(entity.ClaimAttempt !== undefined && entity.ClaimExpiresAt !== undefined ? { claim: { attempt: entity.ClaimAttempt, expiresAt: entity.ClaimExpiresAt } } : {}),
    ...(entity.History !== undefined ? { history: parseHistory(entity.History) } : {}),
  };
}

/** A table string property holds 64 KiB of UTF-16 (32 Ki characters); the history keeps well under it. */
const HISTORY_CHARS = 30_000;

/** The history as stored: its oldest attempts dropped until it fits one property. */
function historyText(history: readonly AttemptRecord[]): string {
  for (let start = 0; ; start += 1) {
    const text = JSON.stringify(history.slice(start));
    if (text.length <= HISTORY_CHARS || start >= history.length) return text;
  }
}

const attemptRecordSchema = z.object({
  attempt: z.number(),
  timestamp: z.number(),
  durationMs: z.number(),
  statusCode: z.number().optional(),
  error: z.string().optional(),
  responseSnippet: z.string().optional(),
});

/** A stored history; one that cannot be read is shown as none rather than failing the record. */
function parseHistory(text: string): AttemptRecord[] {
  try {
    const parsed = z.array(attemptRecordSchema).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
