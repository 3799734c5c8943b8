import { odata, type TableClient } from '@azure/data-tables';
import type { Delivery } from '../pipeline/delivery.js';
import type { Clock } from '../shared/ids.js';
import { dayKeyOf, startOfDayKey } from './key-encoding.js';
import { TRANSACTION_LIMIT } from './purge.js';
import { isNotFound, isPreconditionFailed } from './rest-errors.js';

export const DAY_MS = 86_400_000;
/** Day-index rows this process knows exist; cleared when it grows past this. */
const KNOWN_DAYS_LIMIT = 10_000;

/** A row of the day index, as listed: its version makes retention's delete of it conditional. */
export type DayRow = { partitionKey: string; rowKey: string; etag: string };
type DayKeys = { partitionKey: string; rowKey: string };

/**
 * The `days` table: a row per day and webhook that has records of events that day, so the listing across
 * webhooks and retention find them without scanning every partition (docs/operations.md, Retention).
 */
export class DayIndex {
  private readonly knownDays = new Set<string>();

  constructor(
    private readonly days: TableClient,
    private readonly clock: Clock,
  ) {}

  /** Writes the day rows not known to exist; answers the old days' rows, to be written again after the records. */
  async indexDays(deliveries: readonly Delivery[]): Promise<DayKeys[]> {
    // Only recent days are trusted: retention may remove an old day's row at any time, so recency is checked on use too.
    const recent = dayKeyOf(this.clock() - DAY_MS);
    const missing = new Map<string, DayKeys>();
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

  /**
   * Writes old days' rows again once their records are in: retention may have found such a day empty and be
   * removing its row meanwhile. Its delete is conditional on the row it listed, so it either fails on this write or
   * comes before it (and this write restores the row).
   */
  async rewriteDays(rows: readonly DayKeys[]): Promise<void> {
    await Promise.all(rows.map((row) => this.days.upsertEntity(row, 'Replace')));
  }

  /** The rows of days up to `cutoff`'s, a transaction's worth per page. */
  pagesUpTo(cutoff: number): AsyncIterable<DayRow[]> {
    return this.days.listEntities<DayRow>({ queryOptions: { filter: odata`PartitionKey le ${dayKeyOf(cutoff)}`, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: TRANSACTION_LIMIT });
  }

  /** Removes a day's row at the version listed: a writer of a late record of this day has written the row since (see rewriteDays). */
  async removeAsListed(row: DayRow): Promise<void> {
    try {
      await this.days.deleteEntity(row.partitionKey, row.rowKey, { etag: row.etag });
    } catch (error) {
      if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
    }
  }

  /** The first day in [from, to) with an index row (one request, one key read). */
  async firstDayIn(from: string, to: string): Promise<string | undefined> {
    const pages = this.days.listEntities<{ partitionKey: string }>({ queryOptions: { filter: odata`PartitionKey ge ${from} and PartitionKey lt ${to}`, select: ['PartitionKey'] } }).byPage({ maxPageSize: 1 });
    for await (const page of pages) return page[0]?.partitionKey;
    return undefined;
  }

  /** The newest day before `day` with an index row: a doubling-then-halving search, as Table queries only ascend. */
  async dayBefore(day: string, oldest: string): Promise<string | undefined> {
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
  async newestDay(): Promise<string> {
    let newest = dayKeyOf(this.clock());
    for await (const row of this.days.listEntities<{ partitionKey: string }>({ queryOptions: { filter: odata`PartitionKey gt ${newest}`, select: ['PartitionKey'] } })) {
      if (row.partitionKey > newest) newest = row.partitionKey;
    }
    return newest;
  }

  /** Webhooks with a row on any day from `first` to `last`, each once. */
  async webhooksBetween(first: string, last: string): Promise<string[]> {
    const webhooks = new Set<string>();
    for await (const row of this.days.listEntities<{ rowKey: string }>({ queryOptions: { filter: odata`PartitionKey ge ${first} and PartitionKey le ${last}`, select: ['RowKey'] } })) webhooks.add(row.rowKey);
    return [...webhooks].sort();
  }

  async webhooksOn(day: string): Promise<string[]> {
    const webhooks: string[] = [];
    for await (const row of this.days.listEntities<{ rowKey: string }>({ queryOptions: { filter: odata`PartitionKey eq ${day}`, select: ['RowKey'] } })) webhooks.push(row.rowKey);
    return webhooks;
  }
}
