import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { ApiError, invalidParameter } from '../shared/errors.js';
import { parseWith } from '../http/validate.js';
import { managedModels, requireRole } from '../webhooks/permissions.js';
import { DEFAULT_LIST_RESULTS, maxResultsSchema, webhookIdSchema } from '../webhooks/schemas.js';
import { audit, findManagedWebhook } from '../webhooks/webhook-service.js';
import type { Webhook } from '../webhooks/webhook.js';
import { mapWithLimit } from '../shared/limit.js';
import type { Clock, IdSource } from '../shared/ids.js';
import type { AuditLog } from '../webhooks/audit-log.js';
import type { WebhookStore } from '../webhooks/webhook-store.js';
import { enqueueNextSteps } from './attempts.js';
import type { DeliveryPage, DeliveryStore } from './delivery-store.js';
import { apiDeliverySchema, DELIVERY_STATUSES, toApiDelivery, toApiDeliveryDetail, webhookIdOfDelivery, type ApiDeliveryDetail, type Delivery } from './delivery.js';
import type { MessageQueue } from './queues.js';
import { definedOnly } from '../shared/defined.js';

/** What the deliveries calls (list, get, redeliver) use. */
export interface DeliveriesApiDeps {
  webhooks: WebhookStore;
  deliveries: DeliveryStore;
  /** Where a redelivered record's next step goes. */
  deliveryQueue: MessageQueue;
  audit: AuditLog;
  clock: Clock;
  newId: IdSource;
  defaultWorkspaceUrl?: string | undefined;
  /** DELIVERY_RETENTION: a delivery of an event older than this is being removed, and is not redelivered. */
  deliveryRetentionMs?: number;
}

/** A page of deliveries; an empty page leaves `deliveries` out, as Databricks' lists do. */
export const deliveryPageSchema = z.strictObject({ deliveries: z.array(apiDeliverySchema).optional(), next_page_token: z.string().optional() });
export const redeliverAnswerSchema = z.strictObject({ delivery_ids: z.array(z.string()), next_until_timestamp: z.int().optional() });

/** Allowance for clocks between this instance and the one running retention. */
const RETENTION_SKEW_MS = 60_000;

export const listDeliveriesSchema = z.strictObject({
  webhook_id: webhookIdSchema.optional(),
  status: z.enum(DELIVERY_STATUSES, { error: `must be one of ${DELIVERY_STATUSES.join(', ')}` }).optional(),
  max_results: maxResultsSchema.optional(),
  page_token: z.string().max(4096).optional(),
});

const timestampSchema = z.union([z.number(), z.string().regex(/^\d{1,13}$/)], { error: 'must be epoch milliseconds (a number)' }).transform(Number);

/** One form or the other; which fields belong together is checked after, so the message names the field. */
export const redeliverSchema = z.strictObject({
  delivery_id: z.string().min(1, { error: 'must not be empty' }).max(128).optional(),
  webhook_id: webhookIdSchema.optional(),
  since_timestamp: timestampSchema.optional(),
  until_timestamp: timestampSchema.optional(),
});

type RedeliverRequest = { delivery_id: string } | { webhook_id: string; since_timestamp: number; until_timestamp?: number };

/** Allowance for a caller's clock running ahead of ours when it says "since now". */
const SINCE_SKEW_MS = 60_000;

function redeliverRequestOf(body: unknown, now: number): RedeliverRequest {
  const input = parseWith(redeliverSchema, body);
  if (input.delivery_id !== undefined) {
    const mixed = input.webhook_id !== undefined ? 'webhook_id' : input.since_timestamp !== undefined ? 'since_timestamp' : input.until_timestamp !== undefined ? 'until_timestamp' : undefined;
    if (mixed) throw invalidParameter(`Invalid parameter '${mixed}': send either 'delivery_id' alone, or 'webhook_id' with 'since_timestamp'`);
    return { delivery_id: input.delivery_id };
  }
  if (input.webhook_id === undefined) throw invalidParameter(`Missing required parameter 'webhook_id': send either 'delivery_id', or 'webhook_id' with 'since_timestamp'`);
  if (input.since_timestamp === undefined) throw invalidParameter(`Missing required parameter 'since_timestamp': the epoch milliseconds from which to redeliver`);
  if (!Number.isSafeInteger(input.since_timestamp) || input.since_timestamp < 0) {
    throw invalidParameter(`Invalid parameter 'since_timestamp': ${input.since_timestamp} is not epoch milliseconds (a whole number, 0 or more)`);
  }
  if (input.since_timestamp > now + SINCE_SKEW_MS) throw invalidParameter(`Invalid parameter 'since_timestamp': ${input.since_timestamp} is in the future`);
  const until = input.until_timestamp;
  if (until !== undefined && (!Number.isSafeInteger(until) || until < input.since_timestamp)) {
    throw invalidParameter(`Invalid parameter 'until_timestamp': ${until} is not epoch milliseconds at or after since_timestamp`);
  }
  return { webhook_id: input.webhook_id, since_timestamp: input.since_timestamp, ...definedOnly({ until_timestamp: until }) };
}

/** Redelivery by time range resends at most this many FAILED and SKIPPED deliveries per call (newest first). */
export const MAX_REDELIVER = 1000;

export const getDeliverySchema = z.strictObject({ id: z.string().min(1, 'must not be empty').max(128) });

/**
 * One delivery with its attempts and payload. Its webhook's managers may read it; an admin may also read the
 * records of a deleted webhook, which are kept until retention removes them.
 */
export async function getDelivery(deps: DeliveriesApiDeps, principal: Principal, input: unknown): Promise<ApiDeliveryDetail> {
  requireRole(principal, ['admin', 'manager'], 'read deliveries');
  const { id } = parseWith(getDeliverySchema, input);
  const webhookId = webhookIdOfDelivery(id);
  if (webhookId === undefined) throw invalidParameter(`Invalid parameter 'id': '${id}' is not a delivery id (<webhook id>_<13 digits>_<16 hex digits>)`);
  await readableLog(deps, principal, webhookId, 'read deliveries');
  const found = await deps.deliveries.get(id);
  if (!found) throw new ApiError('RESOURCE_DOES_NOT_EXIST', `Delivery '${id}' does not exist`);
  return toApiDeliveryDetail(found.value);
}

/**
 * Checks the caller may read a webhook's delivery log: as its manager, or as an admin once it is deleted.
 * Answers whether the webhook still exists.
 */
async function readableLog(deps: DeliveriesApiDeps, principal: Principal, webhookId: string, action: string): Promise<boolean> {
  try {
    await webhookFor(deps, principal, webhookId, action);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'RESOURCE_DOES_NOT_EXIST' && managedModels(principal) === undefined) return false;
    throw error;
  }
}

const hasRecords = async (deps: DeliveriesApiDeps, webhookId: string): Promise<boolean> => (await deps.deliveries.list({ webhookId, limit: 1 })).deliveries.length > 0;

/** The webhook a delivery call is about, with the caller's access to it checked. */
async function webhookFor(deps: DeliveriesApiDeps, principal: Principal, webhookId: string, action: string): Promise<Webhook> {
  return (await findManagedWebhook(deps.webhooks, principal, webhookId, action)).value;
}

/**
 * One webhook's deliveries (`webhook_id`), or every webhook's for an admin (deleted webhooks' too), newest
 * first, by `status` if given. The store refuses a page token of another listing rather than misreading it.
 */
export async function listDeliveries(deps: DeliveriesApiDeps, principal: Principal, input: unknown): Promise<z.output<typeof deliveryPageSchema>> {
  requireRole(principal, ['admin', 'manager'], 'read deliveries');
  const query = parseWith(listDeliveriesSchema, input);
  const filter = {
    ...(query.status ? { status: query.status } : {}),
    ...definedOnly({ pageToken: query.page_token }),
    limit: query.max_results ?? DEFAULT_LIST_RESULTS,
  };
  const { webhook_id: webhookId } = query;
  if (webhookId === undefined) {
    if (managedModels(principal) !== undefined) {
      throw invalidParameter("Missing required parameter 'webhook_id': a manager lists the deliveries of one webhook at a time; listing across all webhooks is for admins");
    }
    return answerPage(await deps.deliveries.listAll(filter));
  }
  const exists = await readableLog(deps, principal, webhookId, 'read deliveries');
  const page = await deps.deliveries.list({ webhookId, ...filter });
  // A deleted webhook's log is there while it has records; an id that names nothing stays a 404.
  if (!exists && query.page_token === undefined && page.deliveries.length === 0 && !(query.status && (await hasRecords(deps, webhookId)))) {
    throw new ApiError('RESOURCE_DOES_NOT_EXIST', `Webhook with id '${webhookId}' does not exist`);
  }
  return answerPage(page);
}

function answerPage(page: DeliveryPage): z.output<typeof deliveryPageSchema> {
  return {
    ...(page.deliveries.length > 0 ? { deliveries: page.deliveries.map(toApiDelivery) } : {}),
    ...definedOnly({ next_page_token: page.nextPageToken }),
  };
}

/**
 * Sends deliveries again under their ids, one by id or a webhook's FAILED and SKIPPED since a time (docs/operations.md).
 * Each record is written at the version read before its message is enqueued, so the worker never sees a stale status.
 */
export async function redeliver(deps: DeliveriesApiDeps, principal: Principal, body: unknown): Promise<z.output<typeof redeliverAnswerSchema>> {
  requireRole(principal, ['admin', 'manager'], 'redeliver');
  const input = redeliverRequestOf(body ?? {}, deps.clock());
  let webhook: Webhook;
  let targets: string[];
  let nextUntil: number | undefined;
  if ('delivery_id' in input) {
    const webhookId = webhookIdOfDelivery(input.delivery_id);
    if (webhookId === undefined) throw new ApiError('RESOURCE_DOES_NOT_EXIST', `Delivery '${input.delivery_id}' does not exist`);
    webhook = await webhookFor(deps, principal, webhookId, 'redeliver');
    targets = [input.delivery_id];
  } else {
    webhook = await webhookFor(deps, principal, input.webhook_id, 'redeliver');
    ({ ids: targets, nextUntil } = await redeliverable(deps, webhook.id, input.since_timestamp, input.until_timestamp));
  }
  if (webhook.status !== 'ACTIVE') {
    throw invalidParameter(`Invalid parameter 'webhook_id': webhook ${webhook.id} is ${webhook.status}; set it ACTIVE before redelivering`);
  }
  const pending = await mapWithLimit(targets, REDELIVER_CONCURRENCY, (id) => markForRedelivery(deps, id, !('delivery_id' in input)));
  if ('delivery_id' in input && pending[0] === undefined) throw new ApiError('RESOURCE_DOES_NOT_EXIST', `Delivery '${input.delivery_id}' does not exist`);
  const marked = pending.flatMap((delivery) => (delivery ? [delivery] : []));
  await enqueueNextSteps(deps, marked);
  await audit(deps, principal, 'redeliver', webhook, { deliveries: marked.length });
  return { delivery_ids: marked.map((delivery) => delivery.id), ...definedOnly({ next_until_timestamp: nextUntil }) };
}

const REDELIVER_CONCURRENCY = 8;

/**
 * A webhook's FAILED and SKIPPED deliveries between two times, newest first, at most MAX_REDELIVER; `nextUntil`
 * (the oldest one's event time) is the `until_timestamp` that goes on from there.
 */
async function redeliverable(deps: DeliveriesApiDeps, webhookId: string, sinceTimestamp: number, untilTimestamp: number | undefined): Promise<{ ids: string[]; nextUntil?: number }> {
  const [failed, skipped] = await Promise.all(
    (['FAILED', 'SKIPPED'] as const).map(
      async (status) => (await deps.deliveries.list({ webhookId, status, sinceTimestamp, ...definedOnly({ untilTimestamp }), limit: MAX_REDELIVER })).deliveries,
    ),
  );
  // One webhook's ids sort newest first (see deliveryIdOf).
  const all = [...(failed ?? []), ...(skipped ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const taken = all.slice(0, MAX_REDELIVER);
  const oldest = taken[taken.length - 1];
  const more = all.length > MAX_REDELIVER || (failed?.length ?? 0) === MAX_REDELIVER || (skipped?.length ?? 0) === MAX_REDELIVER;
  return { ids: taken.map((delivery) => delivery.id), ...(more && oldest ? { nextUntil: oldest.eventTimestamp } : {}) };
}

/**
 * Writes one record's redelivery at the version read, re-reading on a race. With `listedAsMissed`, a record that
 * SUCCEEDED since it was listed is left alone: sending it again would deliver the event twice.
 */
async function markForRedelivery(deps: DeliveriesApiDeps, id: string, listedAsMissed: boolean): Promise<Delivery | undefined> {
  for (;;) {
    const found = await deps.deliveries.get(id);
    if (!found) return undefined;
    const current = found.value;
    if (listedAsMissed && current.status === 'SUCCEEDED') return undefined;
    // Retention may be deleting it this minute (its delete cannot be made conditional in a transaction): marking
    // it would answer a redelivery that never happens.
    if (deps.deliveryRetentionMs !== undefined && current.eventTimestamp < deps.clock() - deps.deliveryRetentionMs + RETENTION_SKEW_MS) {
      if (listedAsMissed) return undefined;
      throw invalidParameter(`Invalid parameter 'delivery_id': delivery '${id}' is past DELIVERY_RETENTION and is being removed; it can no longer be redelivered`);
    }
    const scheduled = current.status === 'PENDING' || current.status === 'RETRYING';
    const marked: Delivery = {
      ...current,
      ...(scheduled ? {} : { status: 'PENDING', runToken: deps.newId() }),
      nextAttemptTimestamp: deps.clock(),
      nextScheduleIndex: 0,
    };
    const [written] = await deps.deliveries.replace([{ value: marked, etag: found.etag }]);
    if (written !== undefined) return marked;
  }
}
