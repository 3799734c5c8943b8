import { z } from 'zod';
import { describeIssue } from '../http/validate.js';
import { mapWithLimit, type Semaphore } from '../shared/limit.js';
import type { AuditEntry } from '../webhooks/audit-log.js';
import type { ClaimAnswer, EventClaims } from './event-claims.js';
import { QUEUES, type MessageQueue } from './queues.js';
import { matchEvent, type Match } from '../webhooks/match-event.js';
import { futureTimestampProblem, MAX_EVENTS_PER_PUBLISH, normalizeEvent, publishedEventSchema, toQueueForm, type RegistryEvent } from '../webhooks/registry-event.js';
import { describeTargetOrigin, isServiceDisabled, type Webhook } from '../webhooks/webhook.js';
import { mustWaitFor } from './rate-slots.js';
import { CLAIM_RECHECK_MARGIN_MS, deferAttempt, deferToSlot, targetWaitMs, newClaim, nextStepOf, runAttempts, type AttemptDeps, type ClaimedAttempt, type DeliveryMessage } from './attempts.js';
import type { Delivery } from './delivery.js';
import { deliveryIdsFor, type DeliveryIdScheme } from './delivery-ids.js';
import { buildPayload } from '../outbound/payload.js';
import { queuedBatchSchema } from './publish-events.js';
import type { SubscriberLookup } from './subscriber-lookup.js';
import { poisonMessage, type PoisonTarget } from './poison-queues.js';
import { definedOnly } from '../shared/defined.js';

export interface FanOutDeps extends AttemptDeps {
  /** First attempts (with their storage writes) in flight in this process, across every message: a wave holds one per delivery. */
  firstAttemptSlots: Semaphore;
  claims: EventClaims;
  subscribers: SubscriberLookup;
  poison: MessageQueue;
  /** `registry-events` itself: where the continuation of a large fan-out goes. */
  eventQueue: MessageQueue;
  /** Deliveries one message works at most before it hands the rest to a continuation (default CHUNK_DELIVERIES). */
  chunkDeliveries?: number;
}

/** Deliveries per `registry-events` message (or continuation): four waves, so even hanging targets finish far inside the lease. */
export const CHUNK_DELIVERIES = 256;
/**
 * Attempts one wave makes together. Each wave's claims are written just before its attempts are sent, so a
 * claim lease only has to outlast one attempt.
 */
const WAVE_DELIVERIES = 64;

/** The queue trigger's view of one `registry-events` message. */
export interface QueueMessageMeta {
  id: string;
  dequeueCount: number;
  /** When the message was enqueued (ms). */
  insertedAt: number;
  /** The message text as it sat on the queue. */
  text: string;
}

/**
 * The rest of a fan-out, after the webhooks up to `after` (by id): the original message as it was, with what
 * its events' defaults were derived from (message id, insertion time) and the events the first segment dropped.
 */
const continuationSchema = z.strictObject({
  continue_fan_out: z.strictObject({
    message_id: z.string().min(1).max(256),
    inserted_at: z.number().int().min(0),
    /** The last webhook id the earlier segments covered (short keys: queued messages keep them across deploys). */
    after: z.string().regex(/^[0-9a-f]{32}$/),
    /** Indexes of the events the first segment found to be duplicates. */
    skip: z.array(z.number().int().min(0)).max(MAX_EVENTS_PER_PUBLISH),
    body: z.unknown(),
  }),
});
type Continuation = z.infer<typeof continuationSchema>['continue_fan_out'];

/** A message holds one event, or `{"events": [...]}` as the publish call takes them; answers the events or why not. */
function readEnvelope(body: unknown): { events: unknown[]; publishedBy: string; deliveryIds?: DeliveryIdScheme } | { problem: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { problem: 'not a JSON object' };
  if (!('events' in body)) return { events: [body], publishedBy: 'queue' };
  const batch = queuedBatchSchema.safeParse(body, { reportInput: true });
  if (!batch.success) return { problem: batch.error.issues[0] ? describeIssue(batch.error.issues[0]) : 'invalid batch' };
  return { events: batch.data.events, publishedBy: batch.data.published_by ?? 'queue', deliveryIds: batch.data.delivery_ids };
}

/**
 * Works one `registry-events` message a chunk at a time, handing the rest to a continuation message so each finishes
 * inside its lease; unreadable messages and invalid events go to the poison queue (docs/reliability.md).
 */
export async function processEventMessage(deps: FanOutDeps, body: unknown, meta: QueueMessageMeta): Promise<void> {
  const continued = typeof body === 'object' && body !== null && 'continue_fan_out' in body ? continuationSchema.safeParse(body) : undefined;
  if (continued && !continued.success) {
    await poisonMessage(deps, registryEventsPoison(deps), meta.text, `${meta.id}: unreadable continuation: ${continued.error.issues[0] ? describeIssue(continued.error.issues[0]) : 'invalid'}`);
    return;
  }
  // This message's segment of the fan-out: the original message (from the first webhook on), or a continuation.
  const segment: Continuation = continued?.data.continue_fan_out ?? { message_id: meta.id, inserted_at: meta.insertedAt, after: '', skip: [], body };
  const envelope = readEnvelope(segment.body);
  if ('problem' in envelope) {
    await poisonMessage(deps, registryEventsPoison(deps), meta.text, `${meta.id}: ${typeof body === 'string' ? 'not JSON' : envelope.problem}`);
    return;
  }
  const isFirstSegment = continued === undefined;
  // A link handed on twice (its first run failed after handing on, and the re-run handed on again) is worked by one
  // copy only: without this every failed link would double the rest of the chain.
  const link = isFirstSegment ? undefined : JSON.stringify(['continue_fan_out', segment.message_id, segment.after]);
  if (link !== undefined) {
    const answer = await deps.claims.claim(link, meta.id, deps.clock());
    if (answer.kind !== 'mine') {
      deps.log.info(`${meta.id}: the link of ${segment.message_id} after ${segment.after} is ${answer.kind === 'finished' ? 'done' : 'being worked'} by another copy; dropped`);
      return;
    }
  }
  const admitted = await admitEvents(deps, envelope.events, envelope.publishedBy, segment, isFirstSegment);
  const events = admitted.filter((entry) => !entry.skipped).map((entry) => entry.event);
  const chunk = await planChunk(deps, events, segment);
  const source = sourceOf(envelope.publishedBy);
  if (isFirstSegment && events.length > 0) deps.metrics?.eventsPublished(events.length, source);
  if (isFirstSegment) {
    const duplicates = admitted.filter((entry) => entry.skipped).length;
    if (duplicates > 0) deps.metrics?.eventsIgnored(duplicates, source, 'duplicate');
  }
  if (isFirstSegment && chunk.next === undefined) {
    // Counted when the whole fan-out fits one message (a continued one cannot tell in its first segment).
    const matched = new Set(chunk.planned.map(({ event }) => event.eventId));
    const unmatched = events.filter((event) => !matched.has(event.eventId)).length;
    if (unmatched > 0) deps.metrics?.eventsIgnored(unmatched, source, 'no_matching_webhook');
  }
  const handOn = async (next: string) => {
    const duplicateIndexes = admitted.filter((entry) => entry.skipped).map((entry) => entry.index);
    await deps.eventQueue.send({ continue_fan_out: { ...segment, after: next, skip: duplicateIndexes } } satisfies z.infer<typeof continuationSchema>);
  };
  // A continuation hands on before its chunk's attempts, so a wide fan-out's links run side by side. The first segment
  // hands on only after its own chunk: the last link marks the events finished, and a re-run of a first segment whose
  // events are finished drops them, so its chunk must be done by then (docs/reliability.md).
  if (chunk.next !== undefined && !isFirstSegment) await handOn(chunk.next);
  await runChunk(deps, chunk.planned, segment.inserted_at, envelope.deliveryIds);
  if (chunk.next !== undefined && isFirstSegment) await handOn(chunk.next);
  if (chunk.next === undefined) {
    const finished = deps.clock();
    await mapWithLimit(
      events.filter((event) => event.idSupplied),
      8,
      (event) => deps.claims.finish(dedupKeyOf(event), segment.message_id, finished),
    );
  }
  if (link !== undefined) await deps.claims.finish(link, meta.id, deps.clock());
}

/**
 * Event ids are de-duplicated per model: publishers scoped to different models (two teams' registries) may use
 * the same ids, and one team's id must never suppress another team's event.
 */
const dedupKeyOf = (event: RegistryEvent): string => JSON.stringify([event.modelName, event.eventId]);

/** Validates and de-duplicates one message's events; ids and times default from the message so re-runs build the same deliveries. */
async function admitEvents(
  deps: FanOutDeps,
  candidates: unknown[],
  publishedBy: string,
  segment: Continuation,
  isFirstSegment: boolean,
): Promise<{ event: RegistryEvent; index: number; skipped: boolean }[]> {
  const admitted: { event: RegistryEvent; index: number; skipped: boolean }[] = [];
  const seen = new Set<string>();
  for (const [index, candidate] of candidates.entries()) {
    const parsed = publishedEventSchema.safeParse(candidate, { reportInput: true });
    const problem = parsed.success ? futureTimestampProblem(parsed.data, segment.inserted_at) : undefined;
    if (!parsed.success || problem) {
      const issue = parsed.error?.issues[0];
      const why = problem ? `event_timestamp ${problem}` : issue ? describeIssue(issue) : 'invalid event';
      if (isFirstSegment) await poisonMessage(deps, registryEventsPoison(deps), JSON.stringify(candidate), `${segment.message_id}[${index}]: ${why}`);
      continue;
    }
    const event = normalizeEvent(parsed.data, { eventId: `${segment.message_id}:${index}`, now: segment.inserted_at, publishedBy });
    if (seen.has(dedupKeyOf(event))) continue;
    seen.add(dedupKeyOf(event));
    admitted.push({ event, index, skipped: segment.skip.includes(index) });
  }
  if (!isFirstSegment) return admitted;
  const now = deps.clock();
  const answers = await mapWithLimit(admitted, 8, (entry) =>
    entry.event.idSupplied ? deps.claims.claim(dedupKeyOf(entry.event), segment.message_id, now) : Promise.resolve<ClaimAnswer>({ kind: 'mine' }),
  );
  const waiting: { event: RegistryEvent; until: number }[] = [];
  const judged = admitted.map((entry, index) => {
    const answer = answers[index];
    if (!answer || answer.kind === 'mine') return entry;
    if (answer.kind === 'finished') deps.log.info(`event ${entry.event.eventId} already finished its fan-out within 24 h; dropped as a duplicate`);
    else waiting.push({ event: entry.event, until: answer.until });
    return { ...entry, skipped: true };
  });
  if (waiting.length > 0) {
    // Another copy is fanning these out; they are looked at again when its claim expires, as events of their
    // own (their ids and times fixed), so nothing else in this message is processed twice.
    const until = Math.max(...waiting.map((entry) => entry.until));
    deps.log.info(`events ${waiting.map((entry) => entry.event.eventId).join(', ')} are being fanned out by another copy; looked at again later`);
    await deps.eventQueue.send({ events: waiting.map((entry) => toQueueForm(entry.event)), published_by: publishedBy } satisfies z.input<typeof queuedBatchSchema>, Math.max(0, until - now) + CLAIM_RECHECK_MARGIN_MS);
  }
  return judged;
}

/**
 * Events from the publish call carry the publisher (a principal id); those a producer wrote to the queue do
 * not; the MLflow and Azure ML sources publish as themselves.
 */
const SOURCES = new Set(['queue', 'mlflow', 'azureml']);
const sourceOf = (publishedBy: string): string => (SOURCES.has(publishedBy) ? publishedBy : 'api');

/** Where an unreadable `registry-events` message, or one invalid event of it, goes. */
export const registryEventsPoison = (deps: Pick<FanOutDeps, 'poison'>): PoisonTarget => ({ from: QUEUES.registryEvents, poison: deps.poison });

/** The next chunk: whole webhooks after `segment.after` in id order; past a full page they wait for the next segment, so none is skipped. */
async function planChunk(deps: FanOutDeps, events: RegistryEvent[], segment: Continuation): Promise<{ planned: { event: RegistryEvent; match: Match }[]; next?: string }> {
  const limit = deps.chunkDeliveries ?? CHUNK_DELIVERIES;
  // A webhook takes at most one delivery per event it can see, so a chunk needs no more webhooks than fill it at that
  // rate: a page larger than that would be read (and decoded) only to be cut off again.
  const pageFor = (eventCount: number) => ({ ...(segment.after ? { after: segment.after } : {}), limit: Math.ceil(limit / Math.max(1, eventCount)) });
  const eventsOfModel = new Map<string, number>();
  for (const event of events) eventsOfModel.set(event.modelName, (eventsOfModel.get(event.modelName) ?? 0) + 1);
  const registryWidePage = pageFor(events.length);
  const slices = new Map(
    await Promise.all(
      [...eventsOfModel].map(async ([model, count]) => [model, await deps.subscribers.forModel(model, segment.inserted_at, pageFor(count), registryWidePage)] as const),
    ),
  );
  let cut: string | undefined;
  for (const { model, registryWide } of slices.values()) {
    for (const slice of [model, registryWide]) {
      const last = slice.webhooks.at(-1)?.id;
      if (slice.full && last !== undefined && (cut === undefined || last < cut)) cut = last;
    }
  }
  const byWebhook = new Map<string, { event: RegistryEvent; match: Match }[]>();
  for (const event of events) {
    const slice = slices.get(event.modelName);
    if (!slice) continue;
    for (const match of matchEvent(event, [...slice.model.webhooks, ...slice.registryWide.webhooks])) {
      if (cut !== undefined && match.webhook.id > cut) continue;
      byWebhook.set(match.webhook.id, [...(byWebhook.get(match.webhook.id) ?? []), { event, match }]);
    }
  }
  const planned: { event: RegistryEvent; match: Match }[] = [];
  for (const id of [...byWebhook.keys()].sort()) {
    if (planned.length >= limit) return { planned, next: planned.at(-1)?.match.webhook.id ?? id };
    planned.push(...(byWebhook.get(id) ?? []));
  }
  return { planned, ...definedOnly({ next: cut }) };
}

/** What a wave does with each planned delivery once its record is created (or found). */
type Step =
  | { kind: 'attempt'; webhook: Webhook; record: Delivery; etag: string }
  | { kind: 'enqueue'; record: Delivery; message?: DeliveryMessage; delayMs?: number }
  /** Recorded SKIPPED (the service has the webhook disabled): nothing is sent or enqueued. */
  | { kind: 'skipped'; record: Delivery };

/**
 * The first attempts of one chunk, in waves: every record is created and claimed before anything is sent, so a
 * re-run (same delivery ids) finds the rows it made and never sends twice (docs/reliability.md).
 */
async function runChunk(deps: FanOutDeps, planned: { event: RegistryEvent; match: Match }[], insertedAt: number, scheme: DeliveryIdScheme): Promise<void> {
  const waves: { event: RegistryEvent; match: Match }[][] = [];
  for (let start = 0; start < planned.length; start += WAVE_DELIVERIES) waves.push(planned.slice(start, start + WAVE_DELIVERIES));
  // Side by side, as the process's first-attempt slots allow: a chunk takes about as long as its slowest wave, not their sum.
  // Settled before a failure is answered, so no wave of a failed link is still at work when its re-run starts.
  await mapWithLimit(waves, waves.length, async (wave) => {
    const ids = await deliveryIdsFor(deps.deliveries, scheme, wave.map(({ event, match }) => ({ event, webhookId: match.webhook.id })));
    const entries = await deps.firstAttemptSlots.run(() => runWave(deps, wave, ids, insertedAt), wave.length);
    await deps.audit.append(entries);
  });
}

/**
 * The rate slot each planned first attempt to a rate-limited webhook must wait for, if it must (see mustWaitFor); only
 * those that may go now (not skipped, origin not held) book, one booking per webhook for its deliveries in the wave.
 */
async function rateSlotsOf(deps: FanOutDeps, webhooks: readonly Webhook[]): Promise<(number | undefined)[]> {
  const slots: (number | undefined)[] = webhooks.map(() => undefined);
  const byWebhook = new Map<string, number[]>();
  webhooks.forEach((webhook, index) => {
    if (!isServiceDisabled(webhook) && targetWaitMs(deps, webhook) === undefined) byWebhook.set(webhook.id, [...(byWebhook.get(webhook.id) ?? []), index]);
  });
  await Promise.all(
    [...byWebhook.values()].map(async (indexes) => {
      const webhook = webhooks[indexes[0] ?? 0] as Webhook;
      const booked = await deps.rates?.reserve(webhook, indexes.length, deps.log);
      indexes.forEach((index, position) => {
        const slot = booked?.slots[position];
        if (booked && slot !== undefined && mustWaitFor(booked, slot)) slots[index] = slot;
      });
    }),
  );
  return slots;
}

async function runWave(deps: FanOutDeps, planned: { event: RegistryEvent; match: Match }[], ids: readonly string[], insertedAt: number): Promise<AuditEntry[]> {
  const slots = await rateSlotsOf(deps, planned.map(({ match }) => match.webhook));
  const now = deps.clock();
  const firstAttempt: DeliveryMessage = { delivery_id: '', attempt: 1, schedule_index: 0 };
  const drafts = planned.map(({ event, match }, index) => {
    const { webhook, eventName } = match;
    const id = ids[index] as string;
    const pending: Delivery = {
      id,
      webhookId: webhook.id,
      event: eventName,
      eventId: event.eventId,
      eventTimestamp: event.eventTimestamp,
      status: 'PENDING',
      attempts: 0,
      createdTimestamp: now,
      payload: buildPayload(event, webhook.id, eventName),
    };
    if (isServiceDisabled(webhook)) return { ...pending, status: 'SKIPPED' } satisfies Delivery;
    const waitMs = targetWaitMs(deps, webhook);
    if (waitMs !== undefined) return deferAttempt(deps, pending, { ...firstAttempt, delivery_id: id }, waitMs);
    const slot = slots[index];
    return slot !== undefined ? deferToSlot(pending, { ...firstAttempt, delivery_id: id }, slot) : { ...pending, claim: newClaim(deps, 1) };
  });
  const created = await deps.deliveries.create(drafts);
  const steps = planned.map(({ match }, index): Step => {
    const draft = drafts[index] as Delivery;
    const result = created[index];
    if (result?.created) {
      if (draft.status === 'SKIPPED') return { kind: 'skipped', record: draft };
      return draft.claim ? { kind: 'attempt', webhook: match.webhook, record: draft, etag: result.etag } : { kind: 'enqueue', record: draft };
    }
    const existing = result?.existing.value ?? draft;
    if (existing.status === 'SKIPPED') return { kind: 'skipped', record: existing };
    if (existing.attempts > 0 || existing.nextScheduleIndex !== undefined) return { kind: 'enqueue', record: existing };
    // Created by another run and not yet attempted: its holder may still be at it, or may have died.
    const delayMs = existing.claim ? Math.max(0, existing.claim.expiresAt - now) + CLAIM_RECHECK_MARGIN_MS : 0;
    return { kind: 'enqueue', record: existing, message: { ...firstAttempt, delivery_id: existing.id }, delayMs };
  });
  const attempts = steps.flatMap((step): ClaimedAttempt[] =>
    step.kind === 'attempt' ? [{ webhook: step.webhook, claimed: { value: step.record, etag: step.etag }, message: { ...firstAttempt, delivery_id: step.record.id }, since: insertedAt }] : [],
  );
  const outcomes = await runAttempts(deps, attempts);
  planned.forEach(({ match }, index) => {
    if (steps[index]?.kind === 'skipped' && created[index]?.created) deps.metrics?.delivery('skipped', match.webhook.target.kind, match.eventName, match.webhook.id);
  });
  const enqueues = steps.flatMap((step) => (step.kind === 'enqueue' ? [step] : []));
  await mapWithLimit(enqueues, 16, (step) => {
    if (step.message) return deps.deliveryQueue.send(step.message, step.delayMs ?? 0);
    const next = nextStepOf(step.record, now);
    return next ? deps.deliveryQueue.send(next.message, next.delayMs) : Promise.resolve('');
  });
  return planned.map(({ event, match }, index): AuditEntry => {
    const step = steps[index] as Step;
    const replayed = !(created[index]?.created ?? false);
    const status = outcomes.get(step.record.id)?.status ?? step.record.status;
    return {
      timestamp: drafts[index]?.createdTimestamp ?? now,
      principal: event.publishedBy,
      action: 'deliver',
      webhookId: match.webhook.id,
      target: describeTargetOrigin(match.webhook.target, deps.defaultWorkspaceUrl),
      details: { event: match.eventName, event_id: event.eventId, delivery_id: step.record.id, status, ...(replayed ? { replayed: true } : {}) },
    };
  });
}
