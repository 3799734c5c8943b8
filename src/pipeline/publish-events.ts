import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { invalidParameter } from '../shared/errors.js';
import type { Clock } from '../shared/ids.js';
import { parseWith, type FieldNamer } from '../http/validate.js';
import type { HeldMessage, MessageQueue } from './queues.js';
import { EVENT_NAMES } from '../webhooks/events.js';
import { requireAccess, requireRole } from '../webhooks/permissions.js';
import { futureTimestampProblem, MAX_EVENTS_PER_PUBLISH, MAX_PAYLOAD_BYTES, normalizeEvent, publishedEventSchema, toQueueForm, type RegistryEvent } from '../webhooks/registry-event.js';
import { buildPayload } from '../outbound/payload.js';

export interface PublishDeps {
  eventQueue: MessageQueue;
  clock: Clock;
  /** Publishing's own fan-out of what it enqueued, while this instance has room for it (docs/capacity.md). */
  fanOutNow?: InlineFanOut;
}

type FanOut = (body: unknown, meta: { id: string; dequeueCount: number; insertedAt: number; text: string }) => Promise<void>;

/**
 * Fans `registry-events` messages out at once, as their trigger would, at most `limit` at a time per instance: a
 * message beyond that is enqueued plainly for the trigger, so a busy instance does not pile up work.
 */
export class InlineFanOut {
  private running = 0;

  constructor(
    private readonly fanOut: FanOut,
    private readonly limit: number,
  ) {}

  tryStart(): boolean {
    if (this.running >= this.limit) return false;
    this.running += 1;
    return true;
  }

  release(): void {
    this.running -= 1;
  }

  /** Works a held message (after tryStart) and removes it; on failure it is left to surface for the trigger. */
  async work(message: HeldMessage): Promise<void> {
    // Renewed while the fan-out runs, so the backstop surfaces only when this instance stopped or failed.
    let renewal: Promise<void> = Promise.resolve();
    const renew = setInterval(() => {
      renewal = renewal.then(() => message.extend(PUBLISH_HOLD_MS)).catch(() => undefined);
    }, PUBLISH_HOLD_MS / 2);
    try {
      await this.fanOut(JSON.parse(message.text), { id: message.id, dequeueCount: 1, insertedAt: message.insertedAt, text: message.text });
      clearInterval(renew);
      await renewal;
      await message.remove();
    } catch {
      // The fan-out logged it; the held message surfaces after the hold and the trigger works it.
    } finally {
      clearInterval(renew);
      this.release();
    }
  }
}

/** Fan-outs one instance makes itself at once; more are left to the queue trigger. */
export const INLINE_FAN_OUTS = 2;

/** How long a published message stays hidden while the publishing instance fans it out itself. */
export const PUBLISH_HOLD_MS = 10_000;
/** How long the publish call waits for its own fan-out before answering; the rest goes on, or the backstop takes it. */
export const PUBLISH_FAN_OUT_WAIT_MS = 1_000;

/** Queue messages hold at most 64 KiB of base64, i.e. 48 KiB of JSON; events are packed below that. */
const MAX_MESSAGE_JSON_BYTES = 45_000;

/** `{"events": [...]}`: the publish call's batch. */
const batchSchema = z.strictObject({
  events: z
    .array(z.unknown())
    .min(1, { error: 'must hold at least one event' })
    .max(MAX_EVENTS_PER_PUBLISH, { error: `may hold at most ${MAX_EVENTS_PER_PUBLISH} events` }),
});

/** The JSON body as documented: one event, or `{"events": [...]}`, each entry an event. */
export const publishJsonBodySchema = z.union([publishedEventSchema, batchSchema.extend({ events: z.array(publishedEventSchema).min(1).max(MAX_EVENTS_PER_PUBLISH) })]);
export const publishAnswerSchema = z.strictObject({ event_ids: z.array(z.string()) });

/** A `registry-events` message holding a batch, as the publish path writes it: the events and who published them. */
export const queuedBatchSchema = batchSchema.extend({
  published_by: z.string().max(256).optional(),
  /** How the fan-out names this message's deliveries (see DeliveryIdScheme); every message this version writes says 'v2'. */
  delivery_ids: z.literal('v2').optional(),
});

const LONGEST_EVENT_NAME = EVENT_NAMES.reduce((a, b) => (b.length > a.length ? b : a));

/** The largest payload this event can become, whichever webhook and event name it is sent as. */
const payloadBytes = (event: RegistryEvent): number => Buffer.byteLength(buildPayload(event, '0'.repeat(32), LONGEST_EVENT_NAME), 'utf8');

/** One event as a source hands it to the publish path, with a label and how its sender names its fields. */
export interface SourcedEvent {
  input: unknown;
  label: string;
  nameOf: FieldNamer;
}

/**
 * The HTTP JSON form: one event or `{"events": [...]}` (up to 100), answered once all of them are durably on
 * the `registry-events` queue, with their event ids.
 */
export async function publishEvents(deps: PublishDeps, principal: Principal, body: unknown): Promise<z.output<typeof publishAnswerSchema>> {
  requireRole(principal, ['publisher', 'admin'], 'publish events');
  if (body === undefined) throw invalidParameter('Missing request body: send one event, or {"events": [...]}');
  const isBatch = typeof body === 'object' && body !== null && !Array.isArray(body) && 'events' in body;
  const sourced: SourcedEvent[] = isBatch
    ? parseWith(batchSchema, body).events.map((input, index) => ({ input, label: `events[${index}]`, nameOf: (field) => `events[${index}].${field}` }))
    : [{ input: body, label: 'body', nameOf: (field) => field }];
  return { event_ids: await enqueueEvents(deps, { principal }, sourced) };
}

/**
 * Who publishes: a caller with a bearer token, whose grants must cover every event's model, or a source that
 * authenticates otherwise and may publish for every model (MLflow's signed webhooks).
 */
export type Publisher = { principal: Principal } | { source: string };

const publisherId = (publisher: Publisher): string => ('principal' in publisher ? publisher.principal.id : publisher.source);

/**
 * The one publish path of every source: answers once all events are durably on `registry-events`, with their ids;
 * nothing is enqueued unless every event is valid (docs/publishing.md).
 */
export async function enqueueEvents(deps: PublishDeps, publisher: Publisher, sourced: readonly SourcedEvent[]): Promise<string[]> {
  const now = deps.clock();
  const events = sourced.map(({ input, nameOf }) => {
    const parsed = parseWith(publishedEventSchema, input, nameOf);
    const problem = futureTimestampProblem(parsed, now);
    if (problem) throw invalidParameter(`Invalid parameter '${nameOf('event_timestamp')}': ${problem}`);
    return normalizeEvent(parsed, { eventId: '', now, publishedBy: publisherId(publisher) });
  });
  // All or nothing: one event for a model outside the caller's grant refuses the call, naming the first such model.
  if ('principal' in publisher) {
    const { principal } = publisher;
    const describeLabel = (label = 'body') => (label === 'body' ? 'events' : label.startsWith('[') ? `event ${label}` : label);
    events.forEach((event, index) => requireAccess(principal, 'publish', event.modelName, `publish ${describeLabel(sourced[index]?.label)}`));
  }
  const firstIndexOfId = new Map<string, number>();
  events.forEach((event, index) => {
    const { label, nameOf } = sourced[index] as SourcedEvent;
    const earlier = event.idSupplied ? firstIndexOfId.get(event.eventId) : undefined;
    if (earlier !== undefined) throw invalidParameter(`Invalid parameter '${nameOf('event_id')}': repeats the event_id of ${sourced[earlier]?.label ?? ''}`);
    firstIndexOfId.set(event.eventId, index);
    const bytes = payloadBytes(event);
    if (bytes > MAX_PAYLOAD_BYTES) {
      throw invalidParameter(`Invalid parameter '${label}': its payload would be ${bytes} bytes; at most ${MAX_PAYLOAD_BYTES} are allowed`);
    }
  });
  const groups = packMessages(events);
  const bodies = groups.map((group) => ({ events: group.map(toQueueForm), published_by: publisherId(publisher), delivery_ids: 'v2' }) satisfies z.input<typeof queuedBatchSchema>);
  const messageIds = await sendAndFanOut(deps, bodies);
  return groups.flatMap((group, index) => group.map((event, position) => (event.idSupplied ? event.eventId : `${messageIds[index] ?? ''}:${position}`)));
}

/**
 * The first attempts without waiting for a queue poll: while this instance has room, a message is sent held, fanned
 * out here and removed. A fan-out that fails, or an instance that stops, leaves it to surface after the hold for the
 * trigger, whose re-run of a fan-out already begun sends nothing twice (the claims). Answers the message ids.
 */
async function sendAndFanOut(deps: PublishDeps, bodies: readonly unknown[]): Promise<string[]> {
  const inline = deps.fanOutNow;
  const work: Promise<void>[] = [];
  const ids = await Promise.all(
    bodies.map(async (body) => {
      if (!inline?.tryStart()) return deps.eventQueue.send(body);
      let message: HeldMessage;
      try {
        message = await deps.eventQueue.sendHeld(body, PUBLISH_HOLD_MS);
      } catch (error) {
        inline.release();
        throw error;
      }
      work.push(inline.work(message));
      return message.id;
    }),
  );
  if (work.length > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(work), new Promise((resolve) => (timer = setTimeout(resolve, PUBLISH_FAN_OUT_WAIT_MS)))]);
    clearTimeout(timer);
  }
  return ids;
}

/** Groups events, in order, into as few queue messages as fit. */
export function packMessages(events: readonly RegistryEvent[]): RegistryEvent[][] {
  const groups: RegistryEvent[][] = [];
  let current: RegistryEvent[] = [];
  let size = 0;
  for (const event of events) {
    const bytes = Buffer.byteLength(JSON.stringify(toQueueForm(event)), 'utf8') + 1;
    if (current.length > 0 && size + bytes > MAX_MESSAGE_JSON_BYTES) {
      groups.push(current);
      current = [];
      size = 0;
    }
    current.push(event);
    size += bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
