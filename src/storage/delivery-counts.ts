import { odata, type TableClient } from '@azure/data-tables';
import { newestFirstTime, type DeliveryStatus } from '../pipeline/delivery.js';
import { tallyHours, type CountStream, type DeliveryCountQuery, type DeliveryCounts, type HourlyCounts } from '../pipeline/delivery-counts.js';
import { INDEXED_STATUSES, indexPrefix } from './status-index.js';
import type { DayIndex } from './day-index.js';
import { dayKeyOf, timestampFromInverted } from './key-encoding.js';
import { readUpTo } from './read-up-to.js';

/** A record row key starts with its event time, newest first. */
const eventTimeOf = (recordRowKey: string): number => timestampFromInverted(recordRowKey.slice(0, 13));

/**
 * The delivery log's counts, on the tables of TableDeliveryStore: FAILED and SKIPPED from their index ranges
 * (row keys only), the other statuses from the records (row key and status only), each a range of one partition.
 */
export class TableDeliveryCounts implements DeliveryCounts {
  constructor(
    private readonly table: TableClient,
    private readonly days: DayIndex,
  ) {}

  webhooksWithDeliveries(sinceTimestamp: number, untilTimestamp: number): Promise<string[]> {
    return this.days.webhooksBetween(dayKeyOf(sinceTimestamp), dayKeyOf(untilTimestamp));
  }

  async countByHour(query: DeliveryCountQuery): Promise<HourlyCounts> {
    const lower = newestFirstTime(query.untilTimestamp);
    const upper = `${newestFirstTime(query.sinceTimestamp)}~`;
    const partition = odata`PartitionKey eq ${query.webhookId}`;
    const records = this.read(
      `${partition} and ${odata`RowKey ge ${lower} and RowKey lt ${upper}`} and ${INDEXED_STATUSES.map((status) => odata`Status ne ${status}`).join(' and ')}`,
      ['RowKey', 'Status'],
      query.maxRows,
      (row) => ({ eventTimestamp: eventTimeOf(row.rowKey), status: row.Status ?? 'PENDING' }),
    );
    const indexes = INDEXED_STATUSES.map((status) => {
      const prefix = indexPrefix(status);
      return this.read(`${partition} and ${odata`RowKey ge ${prefix + lower} and RowKey lt ${prefix + upper}`}`, ['RowKey'], query.maxRows, (row) => ({
        eventTimestamp: eventTimeOf(row.rowKey.slice(prefix.length)),
        status,
      }));
    });
    return tallyHours(await Promise.all([records, ...indexes]));
  }

  private async read(
    filter: string,
    select: string[],
    limit: number,
    rowOf: (row: { rowKey: string; Status?: DeliveryStatus }) => CountStream['rows'][number],
  ): Promise<CountStream> {
    const pages = this.table.listEntities<{ rowKey: string; Status?: DeliveryStatus }>({ queryOptions: { filter, select } }).byPage({ maxPageSize: Math.min(1000, limit + 1) });
    const rows = await readUpTo(pages, limit + 1, rowOf);
    return { rows: rows.slice(0, limit), cut: rows.length > limit };
  }
}
