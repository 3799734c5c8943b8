import type { DeliveryStatus } from './delivery.js';
import { definedOnly } from '../shared/defined.js';

export const HOUR_MS = 3_600_000;

/** Deliveries of one UTC hour (of event time) by their current status. */
export type StatusCounts = Record<DeliveryStatus, number>;

export const noCounts = (): StatusCounts => ({ PENDING: 0, RETRYING: 0, SUCCEEDED: 0, FAILED: 0, SKIPPED: 0 });

export interface DeliveryCountQuery {
  webhookId: string;
  /** Events at or after this time… */
  sinceTimestamp: number;
  /** …and at or before this one. */
  untilTimestamp: number;
  /** Rows read at most per stream: FAILED's index, SKIPPED's index, and the other records. */
  maxRows: number;
}

export interface HourlyCounts {
  /** Start of the UTC hour (epoch ms) to its counts; hours without deliveries are absent. */
  hours: Map<number, StatusCounts>;
  /** Rows read, all streams together. */
  rowsRead: number;
  /** Present when a stream stopped at `maxRows`: the counts are exact for events after this time only. */
  exactAfter?: number;
}

/**
 * Counts of the delivery log, read from the status index (FAILED, SKIPPED) and the records (the rest), writing
 * nothing: docs/operations.md (The summary's cost).
 */
export interface DeliveryCounts {
  /** Webhooks, deleted ones included, with records of events in the range (from the day index). */
  webhooksWithDeliveries(sinceTimestamp: number, untilTimestamp: number): Promise<string[]>;
  countByHour(query: DeliveryCountQuery): Promise<HourlyCounts>;
}

/** One read of `countByHour`: event times and statuses newest first, as many as it read. */
export interface CountStream {
  rows: readonly { eventTimestamp: number; status: DeliveryStatus }[];
  /** It stopped at the row limit, with more rows possibly left. */
  cut: boolean;
}

export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** The counts the streams make, and how far back they are exact (the newest point at which a stream was cut). */
export function tallyHours(streams: readonly CountStream[]): HourlyCounts {
  const hours = new Map<number, StatusCounts>();
  let rowsRead = 0;
  let exactAfter: number | undefined;
  for (const stream of streams) {
    rowsRead += stream.rows.length;
    for (const row of stream.rows) {
      const hour = hourOf(row.eventTimestamp);
      const counts = hours.get(hour) ?? noCounts();
      counts[row.status] += 1;
      hours.set(hour, counts);
    }
    const last = stream.rows[stream.rows.length - 1];
    if (stream.cut && last) exactAfter = Math.max(exactAfter ?? last.eventTimestamp, last.eventTimestamp);
  }
  return { hours, rowsRead, ...definedOnly({ exactAfter }) };
}
