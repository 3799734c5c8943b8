import { errorMessage } from '../errors.js';
import type { Clock } from '../ids.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from '../storage/audit-log.js';
import type { DeliveryStore } from '../storage/delivery-store.js';
import type { MessageQueue } from '../storage/message-queue.js';
import type { WebhookStore } from '../storage/webhook-store.js';
import { describeTarget, type Webhook } from '../webhooks/webhook.js';
import type { Outcome } from './classify-outcome.js';
import type { Delivery } from './delivery.js';
import type { OriginGate } from './origin-gate.js';
import { delayBeforeAttempt } from './retry-policy.js';
import type { TargetSenders } from './target-sender.js';

/** A retry, redelivery or deferred first attempt, as it travels on the delivery queue. */
export interface DeliveryMessage {
  delivery_id: string;
  /** The attempt this message makes, counted over the delivery's life (1 is the first). */
  attempt: number;
  /** Its place in the retry schedule (0 is the first attempt of a chain; redeliveries start a new chain). */
  schedule_index: number;
}

/** What delivering needs; tests pass fakes, the app the Azure-backed ones. */
export interface DelivererDeps {
  webhooks: WebhookStore;
  deliveries: DeliveryStore;
  audit: AuditLog;
  deliveryQueue: MessageQueue;
  senders: TargetSenders;
  gate: OriginGate;
  clock: Clock;
  random: () => number;
  retryScheduleMs: readonly number[];
  defaultWorkspaceUrl?: string | undefined;
  log: Logger;
}

/** How long an attempt to a congested origin is put off. */
export const DEFER_MS = 5000;
const MAX_ERROR_CHARS = 500;

/**
 * Makes one attempt and records where the delivery stands. On a retryable failure the next attempt is
 * enqueued before the record is written, so a crash in between can only cause a duplicate, never a loss.
 */
export async function attemptAndRecord(deps: DelivererDeps, webhook: Webhook, delivery: Delivery, message: DeliveryMessage): Promise<Delivery> {
  const sender = deps.senders.for(webhook);
  const startedAt = deps.clock();
  let outcome: Outcome;
  let statusCode: number | undefined;
  try {
    const result = await deps.gate.track(sender.originOf(webhook), () => sender.send(webhook, delivery.payload, delivery.id));
    statusCode = result.kind === 'response' ? result.status : undefined;
    outcome = sender.classify(result);
  } catch (error) {
    outcome = { kind: 'retry', reason: `internal error: ${errorMessage(error)}` };
  }
  const attempted: Delivery = {
    ...delivery,
    attempts: message.attempt,
    lastAttemptTimestamp: startedAt,
    ...(statusCode !== undefined ? { lastStatusCode: statusCode } : {}),
  };
  delete attempted.nextAttemptTimestamp;
  if (statusCode === undefined) delete attempted.lastStatusCode;
  const recorded = await settle(deps, webhook, attempted, outcome, message);
  await deps.deliveries.put(recorded);
  return recorded;
}

async function settle(deps: DelivererDeps, webhook: Webhook, delivery: Delivery, outcome: Outcome, message: DeliveryMessage): Promise<Delivery> {
  if (outcome.kind === 'success') {
    const succeeded: Delivery = { ...delivery, status: 'SUCCEEDED' };
    delete succeeded.lastError;
    return succeeded;
  }
  const reason = outcome.reason.slice(0, MAX_ERROR_CHARS);
  if (outcome.kind === 'permanent') {
    if (outcome.disableWebhook) await disableWebhook(deps, webhook, reason);
    return { ...delivery, status: 'FAILED', lastError: reason };
  }
  const nextIndex = message.schedule_index + 1;
  const delayMs = delayBeforeAttempt(deps.retryScheduleMs, nextIndex, outcome.retryAfterMs, deps.random);
  if (delayMs === undefined) {
    return { ...delivery, status: 'FAILED', lastError: `gave up after ${delivery.attempts} attempts: ${reason}` };
  }
  const next: DeliveryMessage = { delivery_id: delivery.id, attempt: message.attempt + 1, schedule_index: nextIndex };
  await deps.deliveryQueue.send(next, delayMs);
  return { ...delivery, status: 'RETRYING', lastError: reason, nextAttemptTimestamp: deps.clock() + delayMs };
}

/** 410 Gone: the receiver says the endpoint is gone for good. Only the status changes, so a concurrent edit survives. */
async function disableWebhook(deps: DelivererDeps, webhook: Webhook, reason: string): Promise<void> {
  const now = deps.clock();
  await deps.webhooks.setStatus(webhook, 'DISABLED', now);
  await deps.audit.append([
    {
      timestamp: now,
      principal: 'system',
      action: 'disable',
      webhookId: webhook.id,
      target: describeTarget(webhook.target, deps.defaultWorkspaceUrl),
      details: { reason },
    },
  ]);
  deps.log.warn(`webhook ${webhook.id} disabled: its endpoint answered 410 Gone`);
}

/** Puts an attempt off because its origin is congested; the attempt number is not used up. */
export async function deferAttempt(deps: DelivererDeps, delivery: Delivery, message: DeliveryMessage): Promise<Delivery> {
  const delayMs = Math.round(DEFER_MS * (0.8 + 0.4 * deps.random()));
  await deps.deliveryQueue.send(message, delayMs);
  return { ...delivery, nextAttemptTimestamp: deps.clock() + delayMs };
}

/**
 * Works one delivery-queue message: drops it if a newer attempt already happened (a duplicate chain after a
 * crash), fails the delivery if its webhook is gone or no longer ACTIVE, defers it while the origin is
 * congested, and otherwise makes the attempt.
 */
export async function processDeliveryMessage(deps: DelivererDeps, message: DeliveryMessage): Promise<void> {
  const delivery = await deps.deliveries.get(message.delivery_id);
  if (!delivery) {
    deps.log.warn(`delivery ${message.delivery_id} not found; message dropped`);
    return;
  }
  if (delivery.attempts >= message.attempt) return;
  const found = await deps.webhooks.get(delivery.webhookId);
  if (!found || found.value.status !== 'ACTIVE') {
    const why = found ? `webhook is ${found.value.status}` : 'webhook was deleted';
    await deps.deliveries.put({ ...delivery, status: 'FAILED', lastError: `not attempted: ${why}`, nextAttemptTimestamp: undefined });
    return;
  }
  const webhook = found.value;
  if (deps.gate.isCongested(deps.senders.for(webhook).originOf(webhook))) {
    await deps.deliveries.put(await deferAttempt(deps, delivery, message));
    return;
  }
  await attemptAndRecord(deps, webhook, delivery, message);
}
