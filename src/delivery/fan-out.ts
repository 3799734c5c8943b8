import { z } from 'zod';
import { describeIssue } from '../http/validate.js';
import type { EventClaims } from '../storage/event-claims.js';
import type { AuditEntry } from '../storage/audit-log.js';
import type { MessageQueue } from '../storage/message-queue.js';
import { matchEvent, type Match } from '../webhooks/match-event.js';
import { MAX_EVENTS_PER_PUBLISH, normalizeEvent, publishedEventSchema, type RegistryEvent } from '../webhooks/registry-event.js';
import { describeTarget } from '../webhooks/webhook.js';
import { attemptAndRecord, deferAttempt, type DelivererDeps, type DeliveryMessage } from './deliverer.js';
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
 * Works one `registry-events` message: each event is checked, claimed (a re-published event id within 24 h
 * is dropped), matched to its webhooks, and the first attempt to each is made right away, all in parallel.
 * A message that cannot be read, or an event in it that is invalid, goes to the poison queue with its reason
 * logged; the rest of the message is still delivered.
 */
export async function processEventMessage(deps: FanOutDeps, body: unknown, meta: QueueMessageMeta): Promise<void> {
  const envelope = readEnvelope(body);
  if ('problem' in envelope) {
    await poison(deps, meta.text, `${meta.id}: ${typeof body === 'string' ? 'not JSON' : envelope.problem}`);
    return;
  }
  const { publishedBy } = envelope;
  const events: RegistryEvent[] = [];
  for (const [index, candidate] of envelope.events.entries()) {
    const parsed = publishedEventSchema.safeParse(candidate, { reportInput: true });
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      await poison(deps, JSON.stringify(candidate), `${meta.id}[${index}]: ${issue ? describeIssue(issue) : 'invalid event'}`);
      continue;
    }
    events.push(normalizeEvent(parsed.data, { eventId: `${meta.id}:${index}`, now: deps.clock(), publishedBy }));
  }
  const audits = await Promise.all(events.map((event) => fanOutEvent(deps, event, meta)));
  const entries = audits.flat();
  if (entries.length > 0) await deps.audit.append(entries);
}

async function poison(deps: FanOutDeps, text: string, reason: string): Promise<void> {
  deps.log.error(`registry event moved to the poison queue: ${reason}`);
  await deps.poison.sendText(text);
}

async function fanOutEvent(deps: FanOutDeps, event: RegistryEvent, meta: QueueMessageMeta): Promise<AuditEntry[]> {
  if (!(await deps.claims.claim(event.eventId, meta.id, deps.clock()))) {
    deps.log.info(`event ${event.eventId} was already processed within 24 h; dropped as a duplicate`);
    return [];
  }
  const matches = matchEvent(event, await deps.subscribers.forModel(event.modelName, meta.insertedAt));
  const started = await Promise.all(matches.map((match) => deliverFirst(deps, event, match, meta)));
  return started.flatMap((delivery, index) => {
    const match = matches[index];
    return delivery && match
      ? [
          {
            timestamp: delivery.createdTimestamp,
            principal: event.publishedBy,
            action: 'deliver' as const,
            webhookId: match.webhook.id,
            target: describeTarget(match.webhook.target, deps.defaultWorkspaceUrl),
            details: { event: match.eventName, event_id: event.eventId, delivery_id: delivery.id, status: delivery.status },
          },
        ]
      : [];
  });
}

/**
 * The first attempt of one delivery, inline. When the message is being processed again (a crash or a failed
 * run), a delivery that already has a record was handled (its next step is queued, or it is final) and is
 * skipped; the rest are made, with the same delivery id and so the same `webhook-id`.
 */
async function deliverFirst(deps: FanOutDeps, event: RegistryEvent, match: Match, meta: QueueMessageMeta): Promise<Delivery | undefined> {
  const { webhook, eventName } = match;
  const id = deliveryIdOf(webhook.id, deliveryRowKey(event.eventTimestamp, event.eventId, webhook.id));
  if (meta.dequeueCount > 1 && (await deps.deliveries.get(id))) return undefined;
  const delivery: Delivery = {
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
  if (deps.gate.isCongested(deps.senders.for(webhook).originOf(webhook))) {
    const deferred = await deferAttempt(deps, delivery, message);
    await deps.deliveries.put(deferred);
    return deferred;
  }
  return attemptAndRecord(deps, webhook, delivery, message);
}
