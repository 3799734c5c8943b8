import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { z } from 'zod';
import { newestFirstTime, webhookIdOfDelivery, type AttemptRecord, type Delivery, type DeliveryStatus, type DeliverySummary } from '../pipeline/delivery.js';
import type { AllDeliveriesQuery, CreateResult, DeliveryPage, DeliveryQuery, DeliveryStore } from '../pipeline/delivery-store.js';
import type { EventName } from '../webhooks/events.js';
import { dayKeyOf, startOfDayKey, timestampFromInverted } from './key-encoding.js';
import { cursorOf, encodePageToken, type Cursor } from './page-token.js';
import { invalidParameter } from '../shared/errors.js';
import { addPurges, anyWhere, NOTHING_PURGED, purgeWhere, TRANSACTION_LIMIT, type PurgeResult, transactionChunks } from './purge.js';
import { mapWithLimit } from '../shared/limit.js';
import { readUpTo } from './read-up-to.js';
import { isConflict, isNotFound, isPreconditionFailed, readOrUndefined } from './rest-errors.js';
import type { Versioned } from '../webhooks/webhook-store.js';

/**
 * The statuses kept in a status index beside the records, so that listing them (and redelivering them) reads
 * only what it returns. The others are listed by reading the webhook's records.
 */
export const INDEXED_STATUSES = ['FAILED', 'SKIPPED'] as const satisfies readonly DeliveryStatus[];
export type IndexedStatus = (typeof INDEXED_STATUSES)[number];
export const isIndexedStatus = (status: DeliveryStatus): status is IndexedStatus => (INDEXED_STATUSES as readonly DeliveryStatus[]).includes(status);

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
  /** The status whose index row this record has (its own status, when that is indexed). */
  Indexed?: IndexedStatus;
};

/** An index row: the record's summary (all but Payload and Indexed), under the index's row key. */
type IndexEntity = Omit<DeliveryEntity, 'Payload' | 'Indexed'>;

/** The columns a listing reads from records. */
const SUMMARY_COLUMNS = ['PartitionKey', 'RowKey', 'Event', 'EventId', 'EventTimestamp', 'Status', 'Attempts', 'LastStatusCode', 'LastError', 'CreatedAt', 'LastAttemptAt', 'NextAttemptAt', 'NextScheduleIndex', 'RunToken', 'ClaimAttempt', 'ClaimExpiresAt', 'History'];

/**
 * Records' row keys start with a digit (the inverted event time); index rows start with `~`, which sorts after
 * every digit, so a record listing ends at `~` and an index is its own key range: `~FAILED_<record row key>`.
 */
const INDEX_START = '~';
export const indexPrefix = (status: IndexedStatus): string => `${INDEX_START}${status}_`;
const indexRowKey = (status: IndexedStatus, recordRowKey: string): string => `${indexPrefix(status)}${recordRowKey}`;
const recordRowKeyOf = (rowKey: string): string => rowKey.slice(rowKey.indexOf('_') + 1);

/**
 * The version the store answers: the row's etag, prefixed with the status the record is indexed under, so a
 * replace knows which index row to remove without reading it. Etags start with `W/`, never with a status.
 */
const versionOf = (etag: string, indexed: IndexedStatus | undefined): string => (indexed ? `${indexed}:${etag}` : etag);

function parseVersion(version: string): { etag: string; indexed?: IndexedStatus } {
  const colon = version.indexOf(':');
  const head = version.slice(0, colon);
  return colon > 0 && (INDEXED_STATUSES as readonly string[]).includes(head) ? { etag: version.slice(colon + 1), indexed: head as IndexedStatus } : { etag: version };
}

function indexEntityOf(record: DeliveryEntity, status: IndexedStatus): IndexEntity {
  const { Payload: _payload, Indexed: _indexed, ...summary } = record;
  return { ...summary, rowKey: indexRowKey(status, record.rowKey) };
}

/** The operations that write one record: the record, then its index row written or removed with it. */
interface RecordWrite {
  record: DeliveryEntity;
  /** Its position in the caller's input. */
  index: number;
  /** The rest of the transaction: the index row upserted, the index row of its previous status deleted. */
  companions: TransactionAction[];
}

const indexUpsert = (record: DeliveryEntity): TransactionAction[] => (record.Indexed ? [['upsert', indexEntityOf(record, record.Indexed), 'Replace']] : []);
const indexDelete = (record: DeliveryEntity, previous: IndexedStatus | undefined): TransactionAction[] =>
  previous && previous !== record.Indexed ? [['delete', { partitionKey: record.partitionKey, rowKey: indexRowKey(previous, record.rowKey) }]] : [];

const DAY_MS = 86_400_000;
/** Day-index rows this process knows exist; cleared when it grows past this. */
const KNOWN_DAYS_LIMIT = 10_000;
/** Days (of one webhook each) purged at once. */
const PARALLEL_DAYS = 8;

/** Storage requests one store call keeps in flight when it falls back to one request per record. */
const STORAGE_CONCURRENCY = 8;

/**
 * The delivery log: a partition per webhook, newest first, with `~FAILED_`/`~SKIPPED_` index rows and a `days`
 * table per day and webhook; layout and costs in docs/operations.md (Retention, The status index).
 */
export class TableDeliveryStore implements DeliveryStore {
  private readonly knownDays = new Set<string>();

  constructor(
    private readonly table: TableClient,
    private readonly days: TableClient,
  ) {}

  async get(id: string): Promise<Versioned<Delivery> | undefined> {
    const key = keysOf(id);
    if (!key) return undefined;
    const entity = await readOrUndefined(() => this.table.getEntity<DeliveryEntity>(key.partitionKey, key.rowKey));
    return entity ? { value: fromEntity(entity), etag: versionOf(entity.etag, indexedOf(entity.Indexed)) } : undefined;
  }

  /**
   * One transaction per webhook and hundred operations (a record and its index row are two); a transaction
   * that meets an existing row is redone record by record.
   */
  async create(deliveries: readonly Delivery[]): Promise<CreateResult[]> {
    const oldDays = await this.indexDays(deliveries);
    const results = new Array<CreateResult>(deliveries.length);
    const writes = deliveries.map((delivery, index): RecordWrite => {
      const record = toEntity(delivery);
      return { record, index, companions: indexUpsert(record) };
    });
    await mapWithLimit(transactionGroups(writes), STORAGE_CONCURRENCY, async (group) => {
      if (operationCount(group) > 1) {
        try {
          const { actions, positions } = actionsOf(group, (write) => ['create', write.record]);
          const response = await this.table.submitTransaction(actions);
          await Promise.all(
            group.map(async (write, n) => {
              const etag = etagOf(response.subResponses, write.record.rowKey, positions[n] ?? 0) ?? (await this.etagNow(write.record));
              results[write.index] = { created: true, etag: versionOf(etag, write.record.Indexed) };
            }),
          );
          return;
        } catch (error) {
          if (!isConflict(error)) throw error;
        }
      }
      await mapWithLimit(group, STORAGE_CONCURRENCY, async (write) => {
        results[write.index] = await this.createOne(write);
      });
    });
    await this.rewriteDays(oldDays);
    return results;
  }

  /** The current etag of a row just written, for a service that did not answer it. */
  private async etagNow(entity: DeliveryEntity): Promise<string> {
    return (await this.table.getEntity(entity.partitionKey, entity.rowKey)).etag;
  }

  private async createOne(write: RecordWrite): Promise<CreateResult> {
    const { record } = write;
    for (let tries = 0; ; tries += 1) {
      try {
        if (write.companions.length === 0) {
          const created = await this.table.createEntity(record);
          return { created: true, etag: created.etag ?? '' };
        }
        const response = await this.table.submitTransaction([['create', record], ...write.companions]);
        return { created: true, etag: versionOf(etagOf(response.subResponses, record.rowKey, 0) ?? (await this.etagNow(record)), record.Indexed) };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      const existing = await this.get(idOf(record));
      if (existing) return { created: false, existing };
      if (tries > 2) throw new Error(`delivery ${record.rowKey} kept appearing and vanishing`);
    }
  }

  /** Writes the day rows not known to exist; answers the old days' rows, to be written again after the records. */
  private async indexDays(deliveries: readonly Delivery[]): Promise<{ partitionKey: string; rowKey: string }[]> {
    // Only recent days are trusted: retention may remove an old day's row at any time, so recency is checked on use too.
    const recent = dayKeyOf(Date.now() - DAY_MS);
    const missing = new Map<string, { partitionKey: string; rowKey: string }>();
    for (const delivery of deliveries) {
      const row = { partitionKey: dayKeyOf(delivery.eventTimestamp), rowKey: delivery.webhookId };
      const key = `${row.partitionKey}/${row.rowKey}`;
      if (row.partitionKey < recent || !this.knownDays.has(key)) missing.set(key, row);
    }
    if (missing.size === 0) return [];
    await Promise.all([...missing.values()].map((row) => this.days.upsertEntity(row, 'Replace')));
    if (this.knownDays.size + missing.size > KNOWN_DAYS_LIMIT) this.knownDays.clear();
    for (const [key, row] of missing) if (row.partitionKey >= recent) this.knownDays.add(key);
    return [...missing.values()].filter((row) => row.partitionKey < recent);
  }

  /** Deletes settled records of events before `cutoff`, day by day; a day's index row goes once its range is empty. */
  async purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    let result: PurgeResult = NOTHING_PURGED;
    const pages = this.days.listEntities<DayRow>({ queryOptions: { filter: odata`PartitionKey le ${dayKeyOf(cutoff)}`, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: TRANSACTION_LIMIT });
    for await (const page of pages) {
      result = addPurges(result, { deleted: 0, requests: 1, done: true });
      for (let start = 0; start < page.length; ) {
        // Fewer days at once when little budget is left, so each gets room for a record and its index row and
        // a run moves on, however many days are behind.
        const left = budget - result.deleted;
        if (left < 1) return { ...result, done: false };
        const group = page.slice(start, start + Math.min(PARALLEL_DAYS, Math.max(1, Math.floor(left / 2))));
        start += group.length;
        const share = Math.floor(left / group.length);
        const purged = await Promise.all(group.map((row) => this.purgeDay(row, cutoff, share)));
        result = purged.reduce(addPurges, result);
        if (!result.done) return result;
      }
    }
    return result;
  }

  /**
   * One day and webhook of `purgeBefore`: the range before the cutoff, each record with its status-index row
   * in one transaction, then the day's index row if the day is empty.
   */
  private async purgeDay(row: DayRow, cutoff: number, budget: number): Promise<PurgeResult> {
    const dayStart = startOfDayKey(row.partitionKey);
    const end = Math.min(dayStart + DAY_MS, cutoff);
    const range = odata`PartitionKey eq ${row.rowKey} and RowKey gt ${`${newestFirstTime(end)}~`} and RowKey lt ${`${newestFirstTime(dayStart)}~`}`;
    const purged = await purgeWhere(this.table, `${range} and Status ne 'PENDING' and Status ne 'RETRYING'`, budget, {
      select: ['Indexed'],
      of: (record) => {
        const indexed = indexedOf(record.Indexed);
        return indexed ? [{ partitionKey: record.partitionKey, rowKey: indexRowKey(indexed, record.rowKey) }] : [];
      },
    });
    if (!purged.done || end < dayStart + DAY_MS) return purged;
    if (await anyWhere(this.table, range)) return addPurges(purged, { deleted: 0, requests: 1, done: true });
    // An index row still in an empty day's range has lost its record: it goes before the day's row, or nothing finds it.
    let orphans = addPurges(purged, { deleted: 0, requests: 1, done: true });
    for (const status of INDEXED_STATUSES) {
      const indexRange = odata`PartitionKey eq ${row.rowKey} and RowKey gt ${indexRowKey(status, `${newestFirstTime(end)}~`)} and RowKey lt ${indexRowKey(status, `${newestFirstTime(dayStart)}~`)}`;
      orphans = addPurges(orphans, await purgeWhere(this.table, indexRange, budget - orphans.deleted));
    }
    if (!orphans.done) return orphans;
    try {
      // At the version listed: a writer of a late record of this day has written the row since (see rewriteDays).
      await this.days.deleteEntity(row.partitionKey, row.rowKey, { etag: row.etag });
    } catch (error) {
      if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
    }
    return addPurges(orphans, { deleted: 0, requests: 1, done: true });
  }

  /**
   * Unconditional bulk writes, for seeding and maintenance (never for attempts, which are claimed): each
   * record with its index row. For records not stored yet, or stored with the same status.
   */
  async putAll(deliveries: readonly Delivery[]): Promise<void> {
    const oldDays = await this.indexDays(deliveries);
    const writes = deliveries.map((delivery, index): RecordWrite => {
      const record = toEntity(delivery);
      return { record, index, companions: indexUpsert(record) };
    });
    await mapWithLimit(transactionGroups(writes), STORAGE_CONCURRENCY, (group) => this.table.submitTransaction(actionsOf(group, (write) => ['upsert', write.record, 'Replace']).actions));
    await this.rewriteDays(oldDays);
  }

  /**
   * Writes old days' rows again once their records are in: retention may have found such a day empty and be
   * removing its row meanwhile. Its delete is conditional on the row it listed, so it either fails on this write or
   * comes before it (and this write restores the row).
   */
  private async rewriteDays(rows: readonly { partitionKey: string; rowKey: string }[]): Promise<void> {
    await Promise.all(rows.map((row) => this.days.upsertEntity(row, 'Replace')));
  }

  /**
   * One transaction per webhook and hundred operations: each record at its version, with its index row
   * written (an indexed status) or removed (it left one), so a record and its index never disagree.
   */
  async replace(updates: readonly Versioned<Delivery>[]): Promise<(string | undefined)[]> {
    const results = Array.from({ length: updates.length }, (): string | undefined => undefined);
    // A version with no etag (or the wildcard) names no version: storage would take it as "any", and write
    // over whatever is there. It loses, as a stale one does.
    const writes = updates.flatMap((update, index): (RecordWrite & { etag: string })[] => {
      const record = toEntity(update.value);
      const previous = parseVersion(update.etag);
      if (previous.etag === '' || previous.etag === '*') return [];
      return [{ record, index, etag: previous.etag, companions: [...indexUpsert(record), ...indexDelete(record, previous.indexed)] }];
    });
    const update = (write: RecordWrite & { etag: string }): TransactionAction => ['update', write.record, 'Replace', { etag: write.etag }];
    await mapWithLimit(transactionGroups(writes), STORAGE_CONCURRENCY, async (group) => {
      if (group.length > 1) {
        try {
          const { actions, positions } = actionsOf(group, update);
          const response = await this.table.submitTransaction(actions);
          await Promise.all(
            group.map(async (write, n) => {
              const etag = etagOf(response.subResponses, write.record.rowKey, positions[n] ?? 0) ?? (await this.etagNow(write.record));
              results[write.index] = versionOf(etag, write.record.Indexed);
            }),
          );
          return;
        } catch (error) {
          if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
        }
      }
      await mapWithLimit(group, STORAGE_CONCURRENCY, async (write) => {
        results[write.index] = await this.replaceOne(write, update);
      });
    });
    return results;
  }

  /**
   * One record of `replace` on its own. On a 404 (record and index out of step) the record is written at its version
   * without the index delete, which puts them back in step instead of failing every later write to it.
   */
  private async replaceOne(write: RecordWrite & { etag: string }, update: (write: RecordWrite & { etag: string }) => TransactionAction): Promise<string | undefined> {
    const attempt = async (companions: readonly TransactionAction[]): Promise<string | undefined> => {
      try {
        const etag =
          companions.length === 0
            ? (await this.table.updateEntity(write.record, 'Replace', { etag: write.etag })).etag
            : etagOf((await this.table.submitTransaction([update(write), ...companions])).subResponses, write.record.rowKey, 0);
        return versionOf(etag ?? (await this.etagNow(write.record)), write.record.Indexed);
      } catch (error) {
        if (isNotFound(error) && companions.some(([kind]) => kind === 'delete')) return attempt(companions.filter(([kind]) => kind !== 'delete'));
        if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
        return undefined;
      }
    };
    return attempt(write.companions);
  }

  /**
   * FAILED and SKIPPED read their index range only: the rows returned and one more (to know whether a next
   * page exists). The others read the webhook's records, filtered by status.
   */
  async list(query: DeliveryQuery): Promise<DeliveryPage> {
    const after = listingCursorOf(query.pageToken, query.webhookId, query.status);
    const until = query.untilTimestamp !== undefined ? newestFirstTime(query.untilTimestamp) : undefined;
    const lower = after && (until === undefined || after.r >= until) ? { key: after.r, inclusive: false } : until !== undefined ? { key: until, inclusive: true } : undefined;
    const upper = query.sinceTimestamp !== undefined ? `${newestFirstTime(query.sinceTimestamp)}~` : undefined;
    const found = await this.readRange(query.webhookId, query.status, lower, upper, query.limit + 1);
    const page = found.slice(0, query.limit);
    const last = page[page.length - 1];
    return { deliveries: page, ...(found.length > query.limit && last ? { nextPageToken: listingToken(positionOf(last), query.webhookId, query.status) } : {}) };
  }

  /** Walks the day index newest day first, merging each day's webhook ranges (docs/operations.md, Listing across webhooks). */
  async listAll(query: AllDeliveriesQuery): Promise<DeliveryPage> {
    const want = query.limit + 1;
    const found: DeliverySummary[] = [];
    const after = listingCursorOf(query.pageToken, undefined, query.status);
    const oldest = await this.firstDayIn('', '~');
    if (oldest === undefined) return { deliveries: [] };
    let day: string | undefined = after ? dayKeyOf(timestampFromInverted(after.r.slice(0, 13))) : await this.newestDay();
    while (day !== undefined && found.length < want) {
      const dayStart = startOfDayKey(day);
      const dayLower = `${newestFirstTime(dayStart + DAY_MS)}~`;
      const upper = `${newestFirstTime(dayStart)}~`;
      const lowerOf = (webhookId: string): RangeBound => (after && after.r > dayLower ? { key: after.r, inclusive: webhookId > after.p } : { key: dayLower, inclusive: false });
      found.push(...(await this.mergeDay(await this.webhooksOn(day), query.status, lowerOf, upper, want - found.length)));
      if (found.length < want) day = await this.dayBefore(day, oldest);
    }
    const page = found.slice(0, query.limit);
    const last = page[page.length - 1];
    return { deliveries: page, ...(found.length > query.limit && last ? { nextPageToken: listingToken(positionOf(last), undefined, query.status) } : {}) };
  }

  /** The newest `needed` summaries of one day, reading each webhook a share at a time so a page reads about its own size. */
  private async mergeDay(webhooks: readonly string[], status: DeliveryStatus | undefined, lowerOf: (webhookId: string) => RangeBound, upper: string, needed: number): Promise<DeliverySummary[]> {
    const share = Math.max(1, Math.ceil(needed / Math.max(1, webhooks.length)));
    const streams = webhooks.map((webhookId) => ({ webhookId, lower: lowerOf(webhookId), rows: [] as DeliverySummary[], next: 0, done: false }));
    const readOn = async (stream: (typeof streams)[number]): Promise<void> => {
      stream.rows = await this.readRange(stream.webhookId, status, stream.lower, upper, share);
      stream.next = 0;
      stream.done = stream.rows.length < share;
      const last = stream.rows[stream.rows.length - 1];
      if (last) stream.lower = { key: positionOf(last).r, inclusive: false };
    };
    const merged: DeliverySummary[] = [];
    while (merged.length < needed) {
      await mapWithLimit(
        streams.filter((stream) => !stream.done && stream.next >= stream.rows.length),
        STORAGE_CONCURRENCY,
        readOn,
      );
      let newest: { stream: (typeof streams)[number]; head: DeliverySummary } | undefined;
      for (const stream of streams) {
        const head = stream.rows[stream.next];
        if (head && (!newest || byPosition(head, newest.head) < 0)) newest = { stream, head };
      }
      if (!newest) break;
      merged.push(newest.head);
      newest.stream.next += 1;
    }
    return merged;
  }

  /** The first day in [from, to) with an index row (one request, one key read). */
  private async firstDayIn(from: string, to: string): Promise<string | undefined> {
    const pages = this.days.listEntities<{ partitionKey: string }>({ queryOptions: { filter: odata`PartitionKey ge ${from} and PartitionKey lt ${to}`, select: ['PartitionKey'] } }).byPage({ maxPageSize: 1 });
    for await (const page of pages) return page[0]?.partitionKey;
    return undefined;
  }

  /** The newest day before `day` with an index row: a doubling-then-halving search, as Table queries only ascend. */
  private async dayBefore(day: string, oldest: string): Promise<string | undefined> {
    if (day <= oldest) return undefined;
    const dayNumber = (key: string): number => startOfDayKey(key) / DAY_MS;
    const keyOf = (n: number): string => dayKeyOf(n * DAY_MS);
    const end = dayNumber(day);
    let span = 1;
    let low: number | undefined;
    while (low === undefined) {
      const from = Math.max(end - span, dayNumber(oldest));
      const first = await this.firstDayIn(keyOf(from), day);
      if (first !== undefined) low = dayNumber(first);
      else if (from === dayNumber(oldest)) return undefined;
      span *= 2;
    }
    let high = end;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      const first = await this.firstDayIn(keyOf(middle), keyOf(high));
      if (first !== undefined) low = dayNumber(first);
      else high = middle;
    }
    return keyOf(low);
  }

  /** Today, or the latest later day with an index row (events stamped in the future). */
  private async newestDay(): Promise<string> {
    let newest = dayKeyOf(Date.now());
    for await (const row of this.days.listEntities<{ partitionKey: string }>({ queryOptions: { filter: odata`PartitionKey gt ${newest}`, select: ['PartitionKey'] } })) {
      if (row.partitionKey > newest) newest = row.partitionKey;
    }
    return newest;
  }

  private async webhooksOn(day: string): Promise<string[]> {
    const webhooks: string[] = [];
    for await (const row of this.days.listEntities<{ rowKey: string }>({ queryOptions: { filter: odata`PartitionKey eq ${day}`, select: ['RowKey'] } })) webhooks.push(row.rowKey);
    return webhooks;
  }

  /**
   * Up to `limit` summaries of one webhook, newest first, between two record row keys: from the status index
   * for an indexed status, else from the records (filtered by status if one is given).
   */
  private async readRange(webhookId: string, status: DeliveryStatus | undefined, lower: RangeBound | undefined, upper: string | undefined, limit: number): Promise<DeliverySummary[]> {
    const indexed = status && isIndexedStatus(status) ? status : undefined;
    const prefix = indexed ? indexPrefix(indexed) : '';
    const clauses = [odata`PartitionKey eq ${webhookId}`];
    if (lower) clauses.push(lower.inclusive ? odata`RowKey ge ${prefix + lower.key}` : odata`RowKey gt ${prefix + lower.key}`);
    else if (indexed) clauses.push(odata`RowKey gt ${prefix}`);
    clauses.push(odata`RowKey lt ${upper !== undefined ? prefix + upper : `${prefix}${INDEX_START}`}`);
    if (status && !indexed) clauses.push(odata`Status eq ${status}`);
    const pages = this.table.listEntities<SummaryEntity>({ queryOptions: { filter: clauses.join(' and '), select: SUMMARY_COLUMNS } }).byPage({ maxPageSize: Math.min(1000, limit) });
    return readUpTo(pages, limit, (entity) => summaryOf(entity, indexed ? recordRowKeyOf(entity.rowKey) : entity.rowKey));
  }
}

/** A row of the day index, as listed: its version makes retention's delete of it conditional. */
type DayRow = { partitionKey: string; rowKey: string; etag: string };

/** The lower end of a range of record row keys (newer records have lower keys). */
type RangeBound = { key: string; inclusive: boolean };

/** A listing's row: the summary columns, each absent or null when the record has none. */
type SummaryEntity = { partitionKey: string; rowKey: string } & { [K in keyof Omit<IndexEntity, 'partitionKey' | 'rowKey'>]?: IndexEntity[K] | null };

const present = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null;

function summaryOf(entity: SummaryEntity, recordRowKey: string): DeliverySummary {
  return {
    id: idOf({ partitionKey: entity.partitionKey, rowKey: recordRowKey }),
    webhookId: entity.partitionKey,
    event: (entity.Event ?? '') as EventName,
    eventId: entity.EventId ?? '',
    eventTimestamp: entity.EventTimestamp ?? 0,
    status: entity.Status ?? 'PENDING',
    attempts: entity.Attempts ?? 0,
    ...(present(entity.LastStatusCode) ? { lastStatusCode: entity.LastStatusCode } : {}),
    ...(present(entity.LastError) ? { lastError: entity.LastError } : {}),
    createdTimestamp: entity.CreatedAt ?? 0,
    ...(present(entity.LastAttemptAt) ? { lastAttemptTimestamp: entity.LastAttemptAt } : {}),
    ...(present(entity.NextAttemptAt) ? { nextAttemptTimestamp: entity.NextAttemptAt } : {}),
    ...(present(entity.NextScheduleIndex) ? { nextScheduleIndex: entity.NextScheduleIndex } : {}),
    ...(present(entity.RunToken) ? { runToken: entity.RunToken } : {}),
    ...(present(entity.ClaimAttempt) && present(entity.ClaimExpiresAt) ? { claim: { attempt: entity.ClaimAttempt, expiresAt: entity.ClaimExpiresAt } } : {}),
    ...(present(entity.History) ? { history: parseHistory(entity.History) } : {}),
  };
}

/** What a page token names besides its position: the status, `*` first for the listing across webhooks. */
const listingOf = (webhookId: string | undefined, status: DeliveryStatus | undefined): string => `${webhookId === undefined ? '*' : ''}${status ?? ''}`;

export function listingToken(position: Cursor, webhookId: string | undefined, status: DeliveryStatus | undefined): string {
  const listing = listingOf(webhookId, status);
  return encodePageToken({ ...position, ...(listing ? { q: listing } : {}) });
}

/** The position a listing's page token names; one from another listing is a 400 naming `page_token`. */
export function listingCursorOf(token: string | undefined, webhookId: string | undefined, status: DeliveryStatus | undefined): Cursor | undefined {
  const cursor = cursorOf(token, webhookId, "another webhook's deliveries");
  if (!cursor) return undefined;
  if ((cursor.q ?? '') !== listingOf(webhookId, status)) {
    throw invalidParameter(`Invalid parameter 'page_token': it belongs to another listing (another status, or ${webhookId === undefined ? "one webhook's deliveries" : 'all webhooks'})`);
  }
  if (webhookIdOfDelivery(idOf({ partitionKey: cursor.p, rowKey: cursor.r })) === undefined) throw invalidParameter("Invalid parameter 'page_token': not a token this API issued");
  return { p: cursor.p, r: cursor.r };
}

/** A delivery's row: its webhook's partition, and the rest of its id (event time newest first, then a hash). */
function keysOf(id: string): { partitionKey: string; rowKey: string } | undefined {
  const webhookId = webhookIdOfDelivery(id);
  return webhookId === undefined ? undefined : { partitionKey: webhookId, rowKey: id.slice(webhookId.length + 1) };
}

const idOf = (keys: { partitionKey: string; rowKey: string }): string => `${keys.partitionKey}_${keys.rowKey}`;

/** A summary's keyset position: its webhook and record row key. */
function positionOf(delivery: DeliverySummary): Cursor {
  return { p: delivery.webhookId, r: delivery.id.slice(delivery.webhookId.length + 1) };
}

/** Newest first across webhooks: by record row key (inverted event time first), then webhook id. */
function byPosition(a: DeliverySummary, b: DeliverySummary): number {
  const [x, y] = [positionOf(a), positionOf(b)];
  return x.r < y.r ? -1 : x.r > y.r ? 1 : x.p < y.p ? -1 : x.p > y.p ? 1 : 0;
}

const indexedOf = (value: unknown): IndexedStatus | undefined => (typeof value === 'string' && (INDEXED_STATUSES as readonly string[]).includes(value) ? (value as IndexedStatus) : undefined);

const operationCount = (group: readonly RecordWrite[]): number => group.reduce((sum, write) => sum + 1 + write.companions.length, 0);

/** A group's transaction: each record's own action, then its companions; and where each record's action sits. */
function actionsOf<W extends RecordWrite>(group: readonly W[], own: (write: W) => TransactionAction): { actions: TransactionAction[]; positions: number[] } {
  const actions: TransactionAction[] = [];
  const positions: number[] = [];
  for (const write of group) {
    positions.push(actions.length);
    actions.push(own(write), ...write.companions);
  }
  return { actions, positions };
}

/** Writes grouped for transactions: one partition (webhook) each, at most TRANSACTION_LIMIT operations. */
const transactionGroups = <W extends RecordWrite>(writes: readonly W[]): W[][] =>
  transactionChunks(writes, (write) => write.record.partitionKey, (write) => 1 + write.companions.length);

/** A transaction's etag of one entity: by row key (creates), else by position (updates answer none). */
function etagOf(subResponses: readonly { rowKey?: string; etag?: string }[], rowKey: string, position: number): string | undefined {
  return subResponses.find((sub) => sub.rowKey === rowKey)?.etag ?? (subResponses[position]?.rowKey === undefined ? subResponses[position]?.etag : undefined);
}

function toEntity(delivery: Delivery): DeliveryEntity {
  const key = keysOf(delivery.id);
  if (!key) throw new Error(`malformed delivery id ${delivery.id}`);
  return {
    ...key,
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
    ...(isIndexedStatus(delivery.status) ? { Indexed: delivery.status } : {}),
  };
}

function fromEntity(entity: DeliveryEntity): Delivery {
  return { ...summaryOf(entity, entity.rowKey), payload: entity.Payload };
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
