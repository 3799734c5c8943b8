import { sha256Hex } from '../shared/ids.js';
import { z } from 'zod';
import { EVENT_NAMES, type EventName } from '../webhooks/events.js';
import { definedOnly } from '../shared/defined.js';

/** SKIPPED: recorded, not sent, while the service had the webhook disabled; redeliver sends it. */
export const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'SKIPPED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event's delivery to one webhook, across all its attempts. */
export interface Delivery {
  /** Stable across retries, crashes and redeliveries: it is the `webhook-id` header. */
  id: string;
  webhookId: string;
  event: EventName;
  eventId: string;
  eventTimestamp: number;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
  createdTimestamp: number;
  lastAttemptTimestamp?: number;
  nextAttemptTimestamp?: number;
  /** While PENDING or RETRYING: the retry-schedule index of the next attempt. */
  nextScheduleIndex?: number;
  /** The exact body sent, so retries and redeliveries are byte-identical. */
  payload: string;
  /**
   * Job targets: the `idempotency_token` sent with `run-now`, so a retry never starts a second run. Absent, it
   * is the delivery id; an explicit redeliver sets a fresh one.
   */
  runToken?: string;
  /**
   * The send slot a rate-limited webhook reserved for this delivery's next attempt (ms): the attempt is made then
   * without reserving another (docs/routing.md, rate limit).
   */
  rateSlot?: number;
  /**
   * Written conditionally before an attempt is sent, so two messages never both send it; it expires, so the
   * attempt of a process that died is still made.
   */
  claim?: AttemptClaim;
  /** The latest attempts, oldest first, at most MAX_ATTEMPT_HISTORY of them. */
  history?: AttemptRecord[];
}

/** A delivery as listings answer it: everything but the payload. */
export type DeliverySummary = Omit<Delivery, 'payload'>;

/** One attempt as kept on its delivery. */
export interface AttemptRecord {
  /** The attempt's number over the delivery's life (1 is the first). */
  attempt: number;
  timestamp: number;
  durationMs: number;
  statusCode?: number;
  error?: string;
  /** The first RESPONSE_SNIPPET_BYTES of the response body, with the webhook's secrets redacted. */
  responseSnippet?: string;
}

/** Attempts kept per delivery: the default schedule's eight, and two redelivered ones. */
export const MAX_ATTEMPT_HISTORY = 10;
export const RESPONSE_SNIPPET_BYTES = 1024;


/** The history with one more attempt, the oldest dropped past the bound. */
export const withAttempt = (history: readonly AttemptRecord[] | undefined, attempt: AttemptRecord): AttemptRecord[] =>
  [...(history ?? []), attempt].slice(-MAX_ATTEMPT_HISTORY);

export interface AttemptClaim {
  attempt: number;
  expiresAt: number;
}

/** The token a job run is started with for this delivery (Databricks allows at most 64 characters). */
export const runTokenOf = (delivery: Delivery): string => delivery.runToken ?? delivery.id;

/** 13-digit inverted epoch milliseconds: a webhook's delivery ids sort newest first. */
export const newestFirstTime = (ms: number): string => String(9_999_999_999_999 - Math.trunc(ms)).padStart(13, '0');

/**
 * `<webhook id>_<newestFirstTime(event time)>_<16 hex of a hash of model, event and webhook>`: deterministic, so a
 * re-run after a crash finds the same record and sends the same `webhook-id`; unique per (webhook, model, event),
 * as event ids are unique per model only.
 */
export const deliveryIdOf = (webhookId: string, eventTimestamp: number, modelName: string, eventId: string): string =>
  `${webhookId}_${newestFirstTime(eventTimestamp)}_${sha256Hex('v2', modelName, eventId, webhookId).slice(0, 16)}`;

/** The id earlier versions derived, without the model: still read, and kept by the messages they queued. */
export const legacyDeliveryIdOf = (webhookId: string, eventTimestamp: number, eventId: string): string =>
  `${webhookId}_${newestFirstTime(eventTimestamp)}_${sha256Hex(eventId, webhookId).slice(0, 16)}`;

/** The webhook a delivery id belongs to, if it is one. */
export function webhookIdOfDelivery(id: string): string | undefined {
  return /^([0-9a-f]{32})_\d{13}_[0-9a-f]{16}$/.exec(id)?.[1];
}

/** A delivery as listings answer it. The OpenAPI document is generated from these schemas. */
export const apiDeliverySchema = z.strictObject({
  id: z.string(),
  webhook_id: z.string(),
  event: z.enum(EVENT_NAMES),
  event_id: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.int(),
  last_status_code: z.int().optional(),
  last_error: z.string().optional(),
  created_timestamp: z.int(),
  last_attempt_timestamp: z.int().optional(),
  next_attempt_timestamp: z.int().optional(),
});
export type ApiDelivery = z.output<typeof apiDeliverySchema>;

/** One attempt as `deliveries/get` answers it. */
export const apiAttemptSchema = z.strictObject({
  attempt: z.int(),
  timestamp: z.int(),
  duration_ms: z.number(),
  status_code: z.int().optional(),
  error: z.string().optional(),
  response_snippet: z.string().optional(),
});

/** One delivery with its attempts (the latest MAX_ATTEMPT_HISTORY) and the exact payload sent. */
export const apiDeliveryDetailSchema = apiDeliverySchema.omit({ attempts: true }).extend({
  attempt_count: z.int(),
  attempts: z.array(apiAttemptSchema).max(MAX_ATTEMPT_HISTORY),
  payload: z.string(),
});
export type ApiDeliveryDetail = z.output<typeof apiDeliveryDetailSchema>;

export function toApiDeliveryDetail(delivery: Delivery): ApiDeliveryDetail {
  return {
    ...toApiDelivery(delivery),
    attempt_count: delivery.attempts,
    attempts: (delivery.history ?? []).map((record) => ({
      attempt: record.attempt,
      timestamp: record.timestamp,
      duration_ms: record.durationMs,
      ...definedOnly({
        status_code: record.statusCode,
        error: record.error,
        response_snippet: record.responseSnippet,
      }),
    })),
    payload: delivery.payload,
  };
}

export function toApiDelivery(delivery: DeliverySummary): ApiDelivery {
  return {
    id: delivery.id,
    webhook_id: delivery.webhookId,
    event: delivery.event,
    event_id: delivery.eventId,
    status: delivery.status,
    attempts: delivery.attempts,
    ...definedOnly({
      last_status_code: delivery.lastStatusCode,
      last_error: delivery.lastError,
    }),
    created_timestamp: delivery.createdTimestamp,
    ...definedOnly({
      last_attempt_timestamp: delivery.lastAttemptTimestamp,
      next_attempt_timestamp: delivery.nextAttemptTimestamp,
    }),
  };
}
