import { odata, type TableClient } from '@azure/data-tables';
import { newestFirstTime, webhookIdOfDelivery, type DeliveryStatus, type DeliverySummary } from '../pipeline/delivery.js';
import type { AllDeliveriesQuery, DeliveryPage, DeliveryQuery } from '../pipeline/delivery-store.js';
import { invalidParameter } from '../shared/errors.js';
import { mapWithLimit } from '../shared/limit.js';
import { DAY_MS, type DayIndex } from './day-index.js';
import { idOf, SUMMARY_COLUMNS, summaryOf, type SummaryEntity } from './delivery-entity.js';
import { dayKeyOf, startOfDayKey, timestampFromInverted } from './key-encoding.js';
import { cursorOf, encodePageToken, type Cursor } from './page-token.js';
import { readUpTo } from './read-up-to.js';
import { INDEX_START, indexPrefix, isIndexedStatus, recordRowKeyOf } from './status-index.js';

/** Storage requests one listing keeps in flight. */
const STORAGE_CONCURRENCY = 8;

/** The lower end of a range of record row keys (newer records have lower keys). */
type RangeBound = { key: string; inclusive: boolean };

/** Listings of the delivery log: one webhook's range, or every webhook's merged newest first by way of the day index. */
export class DeliveryListing {
  constructor(
    private readonly table: TableClient,
    private readonly days: DayIndex,
  ) {}

  /**
   * FAILED and SKIPPED read their index range only: the rows returned and one more (to know whether a next
   * page exists). The others read the webhook's records, filtered by status.
   */
  async list(query: DeliveryQuery): Promise<DeliveryPage> {
    const after = listingCursorOf(query.pageToken, query.webhookId, query.status);
    const until = query.untilTimestamp !== undefined ? newestFirstTime(query.untilTimestamp) : undefined;
    const lower = after && (until === undefined || after.row >= until) ? { key: after.row, inclusive: false } : until !== undefined ? { key: until, inclusive: true } : undefined;
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
    const oldest = await this.days.firstDayIn('', '~');
    if (oldest === undefined) return { deliveries: [] };
    let day: string | undefined = after ? dayKeyOf(timestampFromInverted(after.row.slice(0, 13))) : await this.days.newestDay();
    while (day !== undefined && found.length < want) {
      const dayStart = startOfDayKey(day);
      const dayLower = `${newestFirstTime(dayStart + DAY_MS)}~`;
      const upper = `${newestFirstTime(dayStart)}~`;
      const lowerOf = (webhookId: string): RangeBound => (after && after.row > dayLower ? { key: after.row, inclusive: webhookId > after.partition } : { key: dayLower, inclusive: false });
      found.push(...(await this.mergeDay(await this.days.webhooksOn(day), query.status, lowerOf, upper, want - found.length)));
      if (found.length < want) day = await this.days.dayBefore(day, oldest);
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
      if (last) stream.lower = { key: positionOf(last).row, inclusive: false };
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

/** What a page token names besides its position: the status, `*` first for the listing across webhooks. */
const listingOf = (webhookId: string | undefined, status: DeliveryStatus | undefined): string => `${webhookId === undefined ? '*' : ''}${status ?? ''}`;

export function listingToken(position: Cursor, webhookId: string | undefined, status: DeliveryStatus | undefined): string {
  const listing = listingOf(webhookId, status);
  return encodePageToken({ ...position, ...(listing ? { listing } : {}) });
}

/** The position a listing's page token names; one from another listing is a 400 naming `page_token`. */
export function listingCursorOf(token: string | undefined, webhookId: string | undefined, status: DeliveryStatus | undefined): Cursor | undefined {
  const cursor = cursorOf(token, webhookId, "another webhook's deliveries");
  if (!cursor) return undefined;
  if ((cursor.listing ?? '') !== listingOf(webhookId, status)) {
    throw invalidParameter(`Invalid parameter 'page_token': it belongs to another listing (another status, or ${webhookId === undefined ? "one webhook's deliveries" : 'all webhooks'})`);
  }
  if (webhookIdOfDelivery(idOf({ partitionKey: cursor.partition, rowKey: cursor.row })) === undefined) throw invalidParameter("Invalid parameter 'page_token': not a token this API issued");
  return { partition: cursor.partition, row: cursor.row };
}

/** A summary's keyset position: its webhook and record row key. */
function positionOf(delivery: DeliverySummary): Cursor {
  return { partition: delivery.webhookId, row: delivery.id.slice(delivery.webhookId.length + 1) };
}

/** Newest first across webhooks: by record row key (inverted event time first), then webhook id. */
function byPosition(a: DeliverySummary, b: DeliverySummary): number {
  const [x, y] = [positionOf(a), positionOf(b)];
  return x.row < y.row ? -1 : x.row > y.row ? 1 : x.partition < y.partition ? -1 : x.partition > y.partition ? 1 : 0;
}
