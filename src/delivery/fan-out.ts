import { z } from 'zod';
import { describeIssue } from '../http/validate.js';
import type { AuditEntry } from '../storage/audit-log.js';
import type { EventClaims } from '../storage/event-claims.js';
import type { MessageQueue } from '../storage/message-queue.js';
import { QUEUES } from '../storage/names.js';
import { matchEvent, type Match } from '../webhooks/match-event.js';
import { MAX_EVENTS_PER_PUBLISH, normalizeEvent, publishedEventSchema, type RegistryEvent } from '../webhooks/registry-event.js';
import { describeTargetOrigin, type Webhook } from '../webhooks/webhook.js';
import { attemptDelivery, deferAttempt, enqueueNextSteps, reportFirstSuccess, type DelivererDeps, type DeliveryMessage } from './deliverer.js';
import { deliveryIdOf, deliveryRowKey, type Delivery } from './delivery.js';
import { buildPayload } from './payload.js';
import type { SubscriberLookup } from './subscriber-lookup.js';

export interface FanOutDeps extends DelivererDeps {
  claims: EventClaims;
  subscribers: SubscriberLookup;
  poison: MessageQueue;
}

/** The queue trigger's view of one `registry-events` message. */
export interface QueueMessageMeta {
  id: string;
  dequeueCount: number;
  /** When the message was enqueued (ms). */
  insertedAt: number;
  /** The message text as it sat on the queue. */
  text: string;
}

const batchSchema = z.strictObject({
  events: z.array(z.unknown()).min(1).max(MAX_EVENTS_PER_PUBLISH),
  published_by: z.string().max(256).optional(),
});

/** A message holds one event, or `{"events": [...]}` as the publish call takes them; answers the events or why not. */
function readEnvelope(body: unknown): { events: unknown[]; publishedBy: string } | { problem: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { problem: 'not a JSON object' };
  if (!('events' in body)) return { events: [body], publishedBy: 'queue' };
  const batch = batchSchema.safeParse(body, { reportInput: true });
  if (!batch.success) return { problem: batch.error.issues[0] ? describeIssue(batch.error.issues[0]) : 'invalid batch' };
  return { events: batch.data.events, publishedBy: batch.data.published_by ?? 'queue' };
}

/**
 * Works one `registry-events` message: each event is checked, matched to its webhooks, and the first attempt
 * to each is made right away, all in parallel. Events whose id the publisher chose are claimed first (a
 * re-published id within 24 h is dropped). The records are then written together, one transaction per
 * webhook, and the audit entries likewise. A message that cannot be read, or an event in it that is invalid,
 * goes to the poison queue with its reason logged; the rest of the message is still delivered.
 */
export async function processEventMessage(deps: FanOutDeps, body: unknown, meta: QueueMessageMeta): Promise<void> {
  const envelope = readEnvelope(body);
  if ('problem' in envelope) {
    await poisonMessage(deps, meta.text, `${meta.id}: ${typeof body === 'string' ? 'not JSON' : envelope.problem}`);
    return;
  }
  const events = await admitEvents(deps, envelope.events, envelope.publishedBy, meta);
  const subscribers = new Map<string, Promise<Webhook[]>>();
  for (const event of events) {
    if (!subscribers.has(event.modelName)) subscribers.set(event.modelName, deps.subscribers.forModel(event.modelName, meta.insertedAt));
  }
  const planned = await Promise.all(
    events.map(async (event) => matchEvent(event, await (subscribers.get(event.modelName) ?? Promise.resolve([]))).map((match) => ({ event, match }))),
  );
  const source = sourceOf(envelope.publishedBy);
  if (events.length > 0) deps.metrics?.eventsPublished(events.length, source);
  const unmatched = planned.filter((matches) => matches.length === 0).length;
  if (unmatched > 0) deps.metrics?.eventsIgnored(unmatched, source, 'no_matching_webhook');
  const started = await Promise.all(planned.flat().map(({ event, match }) => deliverFirst(deps, event, match, meta)));
  const fresh = started.filter((entry) => !entry.existing).map((entry) => entry.delivery);
  await deps.deliveries.putAll(fresh);
  for (const entry of started) if (!entry.existing) reportFirstSuccess(deps, undefined, entry.delivery, meta.insertedAt);
  await enqueueNextSteps(deps, started.map((entry) => entry.delivery));
  if (started.length > 0) await deps.audit.append(started.map((entry) => entry.audit));
}

/** Validates, de-duplicates and claims the events of one message; invalid ones are poisoned. */
async function admitEvents(deps: FanOutDeps, candidates: unknown[], publishedBy: string, meta: QueueMessageMeta): Promise<RegistryEvent[]> {
  const events: RegistryEvent[] = [];
  const seen = new Set<string>();
  for (const [index, candidate] of candidates.entries()) {
    const parsed = publishedEventSchema.safeParse(candidate, { reportInput: true });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await poisonMessage(deps, JSON.stringify(candidate), `${meta.id}[${index}]: ${issue ? describeIssue(issue) : 'invalid event'}`);
      continue;
    }
    const event = normalizeEvent(parsed.data, { eventId: `${meta.id}:${index}`, now: deps.clock(), publishedBy });
    if (seen.has(event.eventId)) continue;
    seen.add(event.eventId);
    events.push(event);
  }
  const admitted = await Promise.all(events.map((event) => (event.idSupplied ? deps.claims.claim(event.eventId, meta.id, deps.clock()) : Promise.resolve(true))));
  for (const [index, event] of events.entries()) {
    if (!admitted[index]) deps.log.info(`event ${event.eventId} was already processed within 24 h; dropped as a duplicate`);
  }
  const duplicates = admitted.filter((claimed) => !claimed).length;
  if (duplicates > 0) deps.metrics?.eventsIgnored(duplicates, sourceOf(publishedBy), 'duplicate');
  return events.filter((_, index) => admitted[index]);
}

/**
 * Events from the publish call carry the publisher (a principal id); those a producer wrote to the queue do
 * not; the MLflow and Azure ML sources publish as themselves.
 */
const SOURCES = new Set(['queue', 'mlflow', 'azureml']);
const sourceOf = (publishedBy: string): string => (SOURCES.has(publishedBy) ? publishedBy : 'api');

/** Moves a message (or one event of it) to the poison queue, logging why. */
export async function poisonMessage(deps: Pick<FanOutDeps, 'log' | 'poison' | 'metrics'>, text: string, reason: string): Promise<void> {
  deps.log.error(`registry event moved to the poison queue: ${reason}`);
  await deps.poison.sendText(text);
  deps.metrics?.messagePoisoned(QUEUES.registryEvents);
}

/**
 * The first attempt of one delivery, inline (or deferred, if its origin is congested); answers the record to
 * write and its audit entry. The caller writes the records, then enqueues their next steps. When the message
 * is processed again (a crash or a failed run), a delivery that already has a record is not attempted again;
 * its record is answered as it is, so a next step that may not have been enqueued is enqueued again. The rest
 * are made with the same delivery id, and so the same `webhook-id`.
 */
async function deliverFirst(deps: FanOutDeps, event: RegistryEvent, match: Match, meta: QueueMessageMeta): Promise<{ delivery: Delivery; audit: AuditEntry; existing: boolean }> {
  const { webhook, eventName } = match;
  const id = deliveryIdOf(webhook.id, deliveryRowKey(event.eventTimestamp, event.eventId, webhook.id));
  const existing = meta.dequeueCount > 1 ? await deps.deliveries.get(id) : undefined;
  const pending: Delivery = {
    id,
    webhookId: webhook.id,
    event: eventName,
    eventId: event.eventId,
    eventTimestamp: event.eventTimestamp,
    status: 'PENDING',
    attempts: 0,
    createdTimestamp: deps.clock(),
    payload: buildPayload(event, webhook.id, eventName),
  };
  const message: DeliveryMessage = { delivery_id: id, attempt: 1, schedule_index: 0 };
  const congested = deps.gate.isCongested(deps.senders.for(webhook).originOf(webhook));
  const delivery = existing ?? (congested ? deferAttempt(deps, pending, message) : await attemptDelivery(deps, webhook, pending, message));
  return {
    existing: existing !== undefined,
    delivery,
    audit: {
      timestamp: pending.createdTimestamp,
      principal: event.publishedBy,
      action: 'deliver',
      webhookId: webhook.id,
      target: describeTargetOrigin(webhook.target, deps.defaultWorkspaceUrl),
      details: { event: eventName, event_id: event.eventId, delivery_id: id, status: delivery.status, ...(existing ? { replayed: true } : {}) },
    },
  };
}
