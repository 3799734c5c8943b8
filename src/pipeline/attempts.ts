import { errorMessage } from '../shared/errors.js';
import { noopMetrics, type DeliveryOutcome } from '../telemetry/metrics.js';
import type { Versioned } from '../webhooks/webhook-store.js';
import { mapWithLimit } from '../shared/limit.js';
import type { MessageQueue } from './queues.js';
import type { Webhook } from '../webhooks/webhook.js';
import type { Outcome } from '../outbound/classify-outcome.js';
import { RESPONSE_SNIPPET_BYTES, runTokenOf, withAttempt, type AttemptClaim, type AttemptRecord, type Delivery } from './delivery.js';
import { utf8Prefix } from '../outbound/http-client.js';
import { describeCircuitOpening, type CircuitOpening, type OriginGate } from '../outbound/origin-gate.js';
import { redactSecrets } from '../outbound/redact.js';
import { delayBeforeAttempt } from './retry-policy.js';
import { disableByService, checkFailingWebhooks, type AutoDisableDeps } from './auto-disable.js';
import { DELIVERY_RESPONSE_BYTES, type TargetSenders } from '../outbound/target-sender.js';
import { mustWaitFor, RATE_SLOT_TOLERANCE_MS, type RateSlots } from './rate-slots.js';
import { definedOnly } from '../shared/defined.js';

/** A retry, redelivery or deferred first attempt, as it travels on the delivery queue. */
export interface DeliveryMessage {
  delivery_id: string;
  /** The attempt this message makes, counted over the delivery's life (1 is the first). */
  attempt: number;
  /** Its place in the retry schedule (0 is the first attempt of a chain; redeliveries start a new chain). */
  schedule_index: number;
}

/** What making attempts needs; tests pass fakes, the app the Azure-backed ones. */
export interface AttemptDeps extends AutoDisableDeps {
  deliveryQueue: MessageQueue;
  senders: TargetSenders;
  gate: OriginGate;
  random: () => number;
  retryScheduleMs: readonly number[];
  /** How long a claimed attempt is held before another message may make it (longer than any attempt takes). */
  claimLeaseMs: number;
  /** Send slots of rate-limited webhooks (`max_requests_per_second`); no limit when absent. */
  rates?: RateSlots;
}

/** How long an attempt to a congested origin is put off. */
export const DEFER_MS = 5000;
/** A message that met a live claim looks again this long after the claim expires. */
export const CLAIM_RECHECK_MARGIN_MS = 1000;
const MAX_ERROR_CHARS = 500;
/** Queue sends one call keeps in flight. */
const ENQUEUE_CONCURRENCY = 16;

/**
 * The record is the truth about a delivery; a queue message only triggers its next step. A PENDING or
 * RETRYING record names that step (attempt number, schedule index, time), so it can always be enqueued again.
 */
export function nextStepOf(delivery: Delivery, now: number): { message: DeliveryMessage; delayMs: number } | undefined {
  if ((delivery.status !== 'PENDING' && delivery.status !== 'RETRYING') || delivery.nextScheduleIndex === undefined) return undefined;
  return {
    message: { delivery_id: delivery.id, attempt: delivery.attempts + 1, schedule_index: delivery.nextScheduleIndex },
    delayMs: Math.max(0, (delivery.nextAttemptTimestamp ?? now) - now),
  };
}

/** Enqueues the next step of each record that has one. Call it only after the records are written. */
export async function enqueueNextSteps(deps: Pick<AttemptDeps, 'clock' | 'deliveryQueue'>, deliveries: readonly Delivery[]): Promise<void> {
  const now = deps.clock();
  await mapWithLimit(deliveries, ENQUEUE_CONCURRENCY, (delivery) => {
    const next = nextStepOf(delivery, now);
    return next ? deps.deliveryQueue.send(next.message, next.delayMs) : Promise.resolve('');
  });
}

/** The record without its next step and claim: what an attempt, or the decision not to make one, settles. */
function withoutNextStep(delivery: Delivery): Delivery {
  const { nextAttemptTimestamp: _next, nextScheduleIndex: _index, claim: _claim, rateSlot: _slot, ...rest } = delivery;
  return rest;
}

/** The claim a message making `attempt` writes now: it holds the attempt for the claim lease. */
export const newClaim = (deps: Pick<AttemptDeps, 'clock' | 'claimLeaseMs'>, attempt: number): AttemptClaim => ({ attempt, expiresAt: deps.clock() + deps.claimLeaseMs });

/** The claim a message for `attempt` would take now, or why it may not (the attempt is made, or held by another). */
function claimFor(deps: AttemptDeps, delivery: Delivery, attempt: number): Delivery | { heldUntil: number } {
  if (delivery.claim && delivery.claim.expiresAt > deps.clock()) return { heldUntil: delivery.claim.expiresAt };
  return { ...delivery, claim: newClaim(deps, attempt) };
}

/**
 * How long an attempt to the webhook's target must wait before it may be made, if it must be put off: until
 * its origin's or endpoint's circuit lets attempts through again, or 0 (plus the deferral) while it would wait
 * for a slot behind attempts that are not moving.
 */
export function targetWaitMs(deps: AttemptDeps, webhook: Webhook): number | undefined {
  const destination = deps.senders.for(webhook).destinationOf(webhook);
  const retryAt = deps.gate.heldUntil(destination);
  if (retryAt !== undefined) return Math.max(0, retryAt - deps.clock());
  return deps.gate.isCongested(destination) ? 0 : undefined;
}

/** Puts an attempt off without using it up: past an open circuit's cool-down plus a fifth, else DEFER_MS ±20%. */
export function deferAttempt(deps: AttemptDeps, delivery: Delivery, message: DeliveryMessage, waitMs = 0): Delivery {
  const delayMs = Math.round(waitMs > 0 ? waitMs * (1 + 0.2 * deps.random()) : DEFER_MS * (0.8 + 0.4 * deps.random()));
  const { claim: _claim, ...unclaimed } = delivery;
  return { ...unclaimed, nextAttemptTimestamp: deps.clock() + delayMs, nextScheduleIndex: message.schedule_index };
}

/**
 * The slot a rate-limited webhook's attempt must wait for, if it must wait: the one the delivery holds, else one
 * booked now. A slot reached (or within RATE_SLOT_TOLERANCE_MS) is no wait.
 */
async function rateSlotFor(deps: AttemptDeps, webhook: Webhook, delivery: Delivery): Promise<number | undefined> {
  const now = deps.clock();
  if (delivery.rateSlot !== undefined) return delivery.rateSlot > now + RATE_SLOT_TOLERANCE_MS ? delivery.rateSlot : undefined;
  const booked = await deps.rates?.reserve(webhook, 1, deps.log);
  const slot = booked?.slots[0];
  return booked && slot !== undefined && mustWaitFor(booked, slot) ? slot : undefined;
}

/** Puts an attempt off to its rate slot, without using it up or adding jitter: the slot is the delivery's own. */
export function deferToSlot(delivery: Delivery, message: DeliveryMessage, slot: number): Delivery {
  const { claim: _claim, ...unclaimed } = delivery;
  return { ...unclaimed, nextAttemptTimestamp: slot, nextScheduleIndex: message.schedule_index, rateSlot: slot };
}

/** An attempt whose claim is written: the webhook it goes to, the record at the claim's version, the message it makes. */
export interface ClaimedAttempt {
  webhook: Webhook;
  claimed: Versioned<Delivery>;
  message: DeliveryMessage;
  /** Where the event's lag is measured from, should this attempt be its delivery's first success. */
  since: number;
}

/**
 * Makes a batch of claimed attempts together and records each outcome (only while its claim holds), then
 * enqueues each recorded record's next step and checks failing webhooks for auto-disable. Answers the records
 * written, by delivery id; an attempt another writer overtook is absent.
 */
export async function runAttempts(deps: AttemptDeps, attempts: readonly ClaimedAttempt[]): Promise<Map<string, Delivery>> {
  const settled = await Promise.all(attempts.map((entry) => attemptDelivery(deps, entry.webhook, entry.claimed.value, entry.message)));
  const written = await deps.deliveries.replace(settled.map((value, index) => ({ value, etag: attempts[index]?.claimed.etag ?? '' })));
  // A record rewritten while its attempt was on the wire (a redeliver) still takes the outcome if it holds the claim.
  const recorded = await mapWithLimit(settled, ENQUEUE_CONCURRENCY, async (value, index) => {
    const entry = attempts[index];
    return written[index] !== undefined || (entry !== undefined && (await recordWhileClaimHeld(deps, value, entry.claimed.value, entry.message.attempt)));
  });
  const outcomes = new Map<string, Delivery>();
  settled.forEach((delivery, index) => {
    const entry = attempts[index];
    if (!recorded[index] || !entry) return;
    outcomes.set(delivery.id, delivery);
    reportFirstSuccess(deps, entry.claimed.value, delivery, entry.since);
  });
  await enqueueNextSteps(deps, [...outcomes.values()]);
  await checkFailingWebhooks(deps, [...outcomes.values()], attempts.map((entry) => entry.webhook));
  return outcomes;
}

/**
 * Makes the attempt a delivery-queue message names on a record read at `found`: a live claim elsewhere waits,
 * an inactive webhook fails the delivery unattempted, a held or congested origin defers it; otherwise the
 * attempt is claimed by a write at the record's version (one message wins), made and recorded.
 */
export async function claimAndAttempt(deps: AttemptDeps, found: Versioned<Delivery>, message: DeliveryMessage): Promise<void> {
  const delivery = found.value;
  const claimed = claimFor(deps, delivery, message.attempt);
  if ('heldUntil' in claimed) {
    await deps.deliveryQueue.send(message, claimed.heldUntil - deps.clock() + CLAIM_RECHECK_MARGIN_MS);
    return;
  }
  const webhookFound = await deps.webhooks.get(delivery.webhookId);
  if (!webhookFound || webhookFound.value.status !== 'ACTIVE') {
    const reason = `not attempted: ${webhookFound ? `webhook is ${webhookFound.value.status}` : 'webhook was deleted'}`;
    await deps.deliveries.replace([{ value: { ...withoutNextStep(delivery), status: 'FAILED', lastError: reason }, etag: found.etag }]);
    return;
  }
  const webhook = webhookFound.value;
  const waitMs = targetWaitMs(deps, webhook);
  const slot = waitMs === undefined ? await rateSlotFor(deps, webhook, delivery) : undefined;
  if (waitMs !== undefined || slot !== undefined) {
    const deferred = slot !== undefined ? deferToSlot(delivery, message, slot) : deferAttempt(deps, delivery, message, waitMs);
    const [written] = await deps.deliveries.replace([{ value: deferred, etag: found.etag }]);
    if (written !== undefined) await enqueueNextSteps(deps, [deferred]);
    return;
  }
  const [etag] = await deps.deliveries.replace([{ value: claimed, etag: found.etag }]);
  if (etag === undefined) {
    // Another message claimed or recorded this attempt (or a redeliver reset it) since it was read.
    await deps.deliveryQueue.send(message, deps.claimLeaseMs + CLAIM_RECHECK_MARGIN_MS);
    return;
  }
  await runAttempts(deps, [{ webhook, claimed: { value: claimed, etag }, message, since: delivery.createdTimestamp }]);
}

/** Makes one attempt and answers the record of where the delivery now stands. Nothing is written here. */
async function attemptDelivery(deps: AttemptDeps, webhook: Webhook, delivery: Delivery, message: DeliveryMessage): Promise<Delivery> {
  const sender = deps.senders.for(webhook);
  const destination = sender.destinationOf(webhook);
  const startedAt = deps.clock();
  let outcome: Outcome;
  let statusCode: number | undefined;
  let snippet: string | undefined;
  try {
    const sent = await deps.gate.attempt(
      destination,
      () => sender.send(webhook, delivery.payload, delivery.id, DELIVERY_RESPONSE_BYTES, runTokenOf(delivery)),
      (opening) => reportCircuitOpened(deps, webhook, opening),
    );
    // A circuit held it, or refusals outlasted the retry budget: nothing was sent, and the attempt is not used up.
    if (sent.kind === 'held') return deferAttempt(deps, delivery, message, sent.retryAt - deps.clock());
    // Redacted whole, before any excerpt is taken, so no part of a secret survives a cut.
    const result = sent.kind === 'response' ? { ...sent, body: redactSecrets(sent.body, webhook.target) } : sent;
    statusCode = result.kind === 'response' ? result.status : undefined;
    snippet = result.kind === 'response' && result.body !== '' ? utf8Prefix(result.body, RESPONSE_SNIPPET_BYTES) : undefined;
    const classified = sender.classify(result, webhook);
    // Again on the reason: a sender may decode the answer (a job's JSON error message), making a new spelling.
    outcome = classified.kind === 'success' ? classified : { ...classified, reason: redactSecrets(classified.reason, webhook.target) };
  } catch (error) {
    outcome = { kind: 'retry', reason: `internal error: ${errorMessage(error)}` };
  }
  const durationMs = Math.max(0, deps.clock() - startedAt);
  const { lastStatusCode: _status, lastError: _error, ...rest } = withoutNextStep(delivery);
  const attempted: Delivery = { ...rest, attempts: message.attempt, lastAttemptTimestamp: startedAt, ...definedOnly({ lastStatusCode: statusCode }) };
  const settled = await withOutcome(deps, webhook, attempted, outcome, message);
  const record: AttemptRecord = {
    attempt: message.attempt,
    timestamp: startedAt,
    durationMs,
    ...definedOnly({ statusCode }),
    ...(outcome.kind !== 'success' ? { error: outcome.reason.slice(0, MAX_ERROR_CHARS) } : {}),
    ...definedOnly({ responseSnippet: snippet }),
  };
  const metrics = deps.metrics ?? noopMetrics;
  const reported = OUTCOME_OF_STATUS[settled.status];
  metrics.delivery(reported, webhook.target.kind, delivery.event, webhook.id);
  metrics.attemptDuration(durationMs, webhook.target.kind, reported);
  return { ...settled, history: withAttempt(delivery.history, record) };
}

const OUTCOME_OF_STATUS: Record<Delivery['status'], DeliveryOutcome> = { PENDING: 'deferred', RETRYING: 'retrying', SUCCEEDED: 'succeeded', FAILED: 'failed', SKIPPED: 'skipped' };

/** Reports the lag of a delivery that just succeeded for the first time, measured from `since`. */
function reportFirstSuccess(deps: AttemptDeps, before: Delivery, after: Delivery, since: number): void {
  if (after.status !== 'SUCCEEDED' || before.status === 'SUCCEEDED') return;
  (deps.metrics ?? noopMetrics).eventLag(Math.max(0, deps.clock() - since), after.event);
}

async function withOutcome(deps: AttemptDeps, webhook: Webhook, delivery: Delivery, outcome: Outcome, message: DeliveryMessage): Promise<Delivery> {
  if (outcome.kind === 'success') return { ...delivery, status: 'SUCCEEDED' };
  const reason = outcome.reason.slice(0, MAX_ERROR_CHARS);
  if (outcome.kind === 'permanent') {
    if (outcome.disableWebhook) await disableWebhook(deps, webhook, reason);
    return { ...delivery, status: 'FAILED', lastError: reason };
  }
  const nextIndex = message.schedule_index + 1;
  const delayMs = delayBeforeAttempt(deps.retryScheduleMs, nextIndex, outcome.retryAfterMs, deps.random);
  if (delayMs === undefined) return { ...delivery, status: 'FAILED', lastError: `gave up after ${delivery.attempts} attempts: ${reason}` };
  return { ...delivery, status: 'RETRYING', lastError: reason, nextAttemptTimestamp: deps.clock() + delayMs, nextScheduleIndex: nextIndex };
}

/**
 * 410 Gone disables the webhook with the service's mark, by a write at the version read so a user's update made
 * meanwhile wins; a failure here is logged, never thrown, so the message's other deliveries are not re-sent.
 */
async function disableWebhook(deps: AttemptDeps, webhook: Webhook, reason: string): Promise<void> {
  try {
    const current = await deps.webhooks.get(webhook.id);
    if (!current || current.value.status !== 'ACTIVE' || current.value.lastUpdatedTimestamp !== webhook.lastUpdatedTimestamp) return;
    if (!(await disableByService(deps, current, 'gone', 'disable', { reason }))) return;
    deps.log.warn(`webhook ${webhook.id} disabled: its endpoint answered 410 Gone`);
  } catch (error) {
    deps.log.error(`webhook ${webhook.id} answered 410 Gone, but disabling it failed: ${errorMessage(error)}`);
  }
}

/** Logs (the origin only: a path or query can hold a secret, as a Slack URL's does) and counts a circuit opening. */
function reportCircuitOpened(deps: AttemptDeps, webhook: Webhook, opening: CircuitOpening): void {
  deps.log.warn(`${describeCircuitOpening(opening)} (webhook ${webhook.id})`);
  (deps.metrics ?? noopMetrics).circuitOpened();
}

/**
 * Records `settled` after the write at the claim's version failed, only while the record still holds this attempt's
 * own claim: a claim another message took is theirs, and writing over it would send that attempt again.
 */
async function recordWhileClaimHeld(deps: AttemptDeps, settled: Delivery, claimed: Delivery, attempt: number): Promise<boolean> {
  for (;;) {
    const current = await deps.deliveries.get(settled.id);
    const claim = current?.value.claim;
    if (!current || !claim || claim.attempt !== attempt || claim.expiresAt !== claimed.claim?.expiresAt || current.value.attempts >= attempt) {
      deps.log.warn(`delivery ${settled.id} changed while attempt ${attempt} was made; its outcome was not recorded`);
      return false;
    }
    const [written] = await deps.deliveries.replace([{ value: settled, etag: current.etag }]);
    if (written !== undefined) return true;
  }
}
