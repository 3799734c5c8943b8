import { z } from 'zod';
import { webhookIdOfDelivery, type AttemptRecord, type Delivery, type DeliveryStatus, type DeliverySummary } from '../pipeline/delivery.js';
import type { EventName } from '../webhooks/events.js';
import { isIndexedStatus, type IndexedStatus } from './status-index.js';
import { definedOnly } from '../shared/defined.js';

/** A delivery record's row in the deliveries table. */
export type DeliveryEntity = {
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
  RateSlotAt?: number;
  ClaimAttempt?: number;
  ClaimExpiresAt?: number;
  /** The attempt history, as JSON. */
  History?: string;
  /** The status whose index row this record has (its own status, when that is indexed). */
  Indexed?: IndexedStatus;
};

/** An index row: the record's summary (all but Payload and Indexed), under the index's row key. */
export type IndexEntity = Omit<DeliveryEntity, 'Payload' | 'Indexed'>;

/** The columns a listing reads from records. */
export const SUMMARY_COLUMNS = ['PartitionKey', 'RowKey', 'Event', 'EventId', 'EventTimestamp', 'Status', 'Attempts', 'LastStatusCode', 'LastError', 'CreatedAt', 'LastAttemptAt', 'NextAttemptAt', 'NextScheduleIndex', 'RunToken', 'RateSlotAt', 'ClaimAttempt', 'ClaimExpiresAt', 'History'];

/** A listing's row: the summary columns, each absent or null when the record has none. */
export type SummaryEntity = { partitionKey: string; rowKey: string } & { [K in keyof Omit<IndexEntity, 'partitionKey' | 'rowKey'>]?: IndexEntity[K] | null };

const present = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null;

export function summaryOf(entity: SummaryEntity, recordRowKey: string): DeliverySummary {
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
    ...(present(entity.RateSlotAt) ? { rateSlot: entity.RateSlotAt } : {}),
    ...(present(entity.ClaimAttempt) && present(entity.ClaimExpiresAt) ? { claim: { attempt: entity.ClaimAttempt, expiresAt: entity.ClaimExpiresAt } } : {}),
    ...(present(entity.History) ? { history: parseHistory(entity.History) } : {}),
  };
}

/** A delivery's row: its webhook's partition, and the rest of its id (event time newest first, then a hash). */
export function keysOf(id: string): { partitionKey: string; rowKey: string } | undefined {
  const webhookId = webhookIdOfDelivery(id);
  return webhookId === undefined ? undefined : { partitionKey: webhookId, rowKey: id.slice(webhookId.length + 1) };
}

export const idOf = (keys: { partitionKey: string; rowKey: string }): string => `${keys.partitionKey}_${keys.rowKey}`;

export function toEntity(delivery: Delivery): DeliveryEntity {
  const key = keysOf(delivery.id);
  if (!key) throw new Error(`malformed delivery id ${delivery.id}`);
  return {
    ...key,
    Event: delivery.event,
    EventId: delivery.eventId,
    EventTimestamp: delivery.eventTimestamp,
    Status: delivery.status,
    Attempts: delivery.attempts,
    ...definedOnly({
      LastStatusCode: delivery.lastStatusCode,
      LastError: delivery.lastError,
    }),
    CreatedAt: delivery.createdTimestamp,
    ...definedOnly({
      LastAttemptAt: delivery.lastAttemptTimestamp,
      NextAttemptAt: delivery.nextAttemptTimestamp,
      NextScheduleIndex: delivery.nextScheduleIndex,
    }),
    Payload: delivery.payload,
    ...definedOnly({
      RunToken: delivery.runToken,
      RateSlotAt: delivery.rateSlot,
    }),
    ...(delivery.claim ? { ClaimAttempt: delivery.claim.attempt, ClaimExpiresAt: delivery.claim.expiresAt } : {}),
    ...(delivery.history && delivery.history.length > 0 ? { History: historyText(delivery.history) } : {}),
    ...(isIndexedStatus(delivery.status) ? { Indexed: delivery.status } : {}),
  };
}

export function fromEntity(entity: DeliveryEntity): Delivery {
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
