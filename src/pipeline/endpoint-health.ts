import { z } from 'zod';
import { SERVICE_DISABLE_REASONS, type ServiceDisable, type Webhook } from '../webhooks/webhook.js';
import type { DeliverySummary } from './delivery.js';
import { definedOnly } from '../shared/defined.js';

/** Delivery records health reads at most (one page); past it, `failing_since` is a lower bound. */
export const HEALTH_RECORDS = 1000;
const DAY_MS = 86_400_000;
/** Failed attempts a webhook needs, beside the time, before the service disables it. */
export const AUTO_DISABLE_MIN_FAILURES = 10;

/**
 * HEALTHY: the latest attempt succeeded. FAILING: it failed. NO_ATTEMPTS: none among the records read.
 * SERVICE_DISABLED: the service disabled the webhook (auto-disable or 410 Gone); its events are recorded SKIPPED.
 */
export const HEALTH_STATUSES = ['HEALTHY', 'FAILING', 'NO_ATTEMPTS', 'SERVICE_DISABLED'] as const;
export type HealthStatus = (typeof HEALTH_STATUSES)[number];

export interface EndpointHealth {
  webhookId: string;
  status: HealthStatus;
  lastSuccessTimestamp?: number;
  lastFailureTimestamp?: number;
  /** The first failed attempt of the current run of failures (none since, no success after it). */
  failingSinceTimestamp?: number;
  /** Failed attempts since the last successful one. */
  consecutiveFailures: number;
  /** Deliveries recorded in the last 24 hours (SKIPPED ones included). */
  deliveries24h: number;
  /** Of those that were attempted, the share (0 to 1) that succeeded; absent when none was attempted. */
  successRate24h?: number;
  autoDisabledTimestamp?: number;
  /** Why the service disabled it: failing too long (`auto_disable`), or the endpoint answered 410 Gone (`gone`). */
  autoDisabledReason?: ServiceDisable['reason'];
}

interface Attempt {
  timestamp: number;
  ok: boolean;
}

/**
 * The attempts a record tells of, from its kept history (an attempt without an error succeeded). A record
 * written before histories existed tells of its last attempt only.
 */
function attemptsOf(delivery: DeliverySummary): Attempt[] {
  if (delivery.history && delivery.history.length > 0) return delivery.history.map((record) => ({ timestamp: record.timestamp, ok: record.error === undefined }));
  if (delivery.attempts > 0 && delivery.lastAttemptTimestamp !== undefined) return [{ timestamp: delivery.lastAttemptTimestamp, ok: delivery.status === 'SUCCEEDED' }];
  return [];
}

/** Every attempt the records tell of, newest first. */
const attemptsNewestFirst = (deliveries: readonly DeliverySummary[]): Attempt[] => deliveries.flatMap(attemptsOf).sort((a, b) => b.timestamp - a.timestamp);

/** The failed attempts after the last success (and after `notBefore`), newest first. */
function currentFailures(attempts: readonly Attempt[], notBefore = Number.NEGATIVE_INFINITY): Attempt[] {
  const failures: Attempt[] = [];
  for (const attempt of attempts) {
    if (attempt.ok || attempt.timestamp < notBefore) break;
    failures.push(attempt);
  }
  return failures;
}

/**
 * A webhook's endpoint health, derived from its newest delivery records and their attempt histories (nothing
 * is counted on the delivery path, so health costs no write). Pure: the caller reads the records.
 */
export function deriveHealth(webhook: Webhook, deliveries: readonly DeliverySummary[], now: number): EndpointHealth {
  const attempts = attemptsNewestFirst(deliveries);
  const lastSuccess = attempts.find((attempt) => attempt.ok)?.timestamp;
  const lastFailure = attempts.find((attempt) => !attempt.ok)?.timestamp;
  const failures = currentFailures(attempts);
  const recent = deliveries.filter((delivery) => delivery.createdTimestamp >= now - DAY_MS);
  const attempted = recent.filter((delivery) => delivery.attempts > 0);
  const succeeded = attempted.filter((delivery) => delivery.status === 'SUCCEEDED').length;
  const serviceDisabled = webhook.status === 'DISABLED' ? webhook.serviceDisabled : undefined;
  const status: HealthStatus =
    serviceDisabled ? 'SERVICE_DISABLED' : attempts.length === 0 ? 'NO_ATTEMPTS' : failures.length > 0 ? 'FAILING' : 'HEALTHY';
  return {
    webhookId: webhook.id,
    status,
    ...definedOnly({
      lastSuccessTimestamp: lastSuccess,
      lastFailureTimestamp: lastFailure,
    }),
    ...(failures.length > 0 ? { failingSinceTimestamp: runStart(webhook, failures, lastSuccess !== undefined) } : {}),
    consecutiveFailures: failures.length,
    deliveries24h: recent.length,
    ...(attempted.length > 0 ? { successRate24h: succeeded / attempted.length } : {}),
    ...(serviceDisabled ? { autoDisabledTimestamp: serviceDisabled.timestamp, autoDisabledReason: serviceDisabled.reason } : {}),
  };
}

/**
 * The first failure of the current run: found in the records when they reach back to a success; otherwise the
 * earlier of the oldest failure read and the start kept on the webhook row (a run longer than the records read).
 */
function runStart(webhook: Webhook, failures: readonly Attempt[], successRead: boolean): number {
  const oldestRead = failures[failures.length - 1]?.timestamp ?? Number.POSITIVE_INFINITY;
  return successRead ? oldestRead : Math.min(oldestRead, webhook.failingSince ?? oldestRead);
}

/**
 * Whether to disable an ACTIVE webhook now: its run of failures (kept on its row, so any number of records)
 * started `afterMs` ago or more, and after its last update; the newest records show no success since and at
 * least AUTO_DISABLE_MIN_FAILURES failures. `afterMs` 0 turns auto-disable off.
 */
export function autoDisableDue(webhook: Webhook, deliveries: readonly DeliverySummary[], now: number, afterMs: number): boolean {
  if (afterMs <= 0 || webhook.status !== 'ACTIVE' || webhook.failingSince === undefined) return false;
  const start = Math.max(webhook.failingSince, webhook.lastUpdatedTimestamp);
  if (start > now - afterMs) return false;
  const since = attemptsNewestFirst(deliveries).filter((attempt) => attempt.timestamp >= start);
  return since.length >= AUTO_DISABLE_MIN_FAILURES && since.every((attempt) => !attempt.ok);
}

/** Health as the API answers it: epoch milliseconds, a timestamp that does not exist left out. */
export const apiHealthSchema = z.strictObject({
  webhook_id: z.string(),
  status: z.enum(HEALTH_STATUSES),
  last_success_timestamp: z.int().optional(),
  last_failure_timestamp: z.int().optional(),
  failing_since_timestamp: z.int().optional(),
  consecutive_failures: z.int(),
  deliveries_24h: z.int(),
  success_rate_24h: z.number().min(0).max(1).optional(),
  auto_disabled_timestamp: z.int().optional(),
  auto_disabled_reason: z.enum(SERVICE_DISABLE_REASONS).optional(),
});
export type ApiHealth = z.output<typeof apiHealthSchema>;

export function toApiHealth(health: EndpointHealth): ApiHealth {
  return {
    webhook_id: health.webhookId,
    status: health.status,
    ...definedOnly({
      last_success_timestamp: health.lastSuccessTimestamp,
      last_failure_timestamp: health.lastFailureTimestamp,
      failing_since_timestamp: health.failingSinceTimestamp,
    }),
    consecutive_failures: health.consecutiveFailures,
    deliveries_24h: health.deliveries24h,
    ...definedOnly({
      success_rate_24h: health.successRate24h,
      auto_disabled_timestamp: health.autoDisabledTimestamp,
      auto_disabled_reason: health.autoDisabledReason,
    }),
  };
}
