import { odata, type TableClient } from '@azure/data-tables';
import { newestFirstTime } from '../pipeline/delivery.js';
import { DAY_MS, type DayIndex, type DayRow } from './day-index.js';
import { startOfDayKey } from './key-encoding.js';
import { addPurges, anyWhere, NOTHING_PURGED, purgeWhere, type PurgeResult } from './purge.js';
import { INDEXED_STATUSES, indexedOf, indexRowKey } from './status-index.js';

/** Days (of one webhook each) purged at once. */
const PARALLEL_DAYS = 8;

/** Retention of the delivery log: settled records of old events, with their index rows and emptied days. */
export class DeliveryPurge {
  constructor(
    private readonly table: TableClient,
    private readonly days: DayIndex,
  ) {}

  /** Deletes settled records of events before `cutoff`, day by day; a day's index row goes once its range is empty. */
  async purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    let result: PurgeResult = NOTHING_PURGED;
    for await (const page of this.days.pagesUpTo(cutoff)) {
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
    await this.days.removeAsListed(row);
    return addPurges(orphans, { deleted: 0, requests: 1, done: true });
  }
}
