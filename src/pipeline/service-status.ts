import type { Principal } from '../auth/principal.js';
import { ApiError } from '../shared/errors.js';
import type { Clock } from '../shared/ids.js';
import { parseWith } from '../http/validate.js';
import { z } from 'zod';
import type { CountableQueue } from './poison-queues.js';

/** An event queue: its length, and when its oldest visible message was enqueued (none waiting: undefined). */
export interface WaitingQueue extends CountableQueue {
  oldestWaitingSince(): Promise<number | undefined>;
}

/** What an event source is doing, as far as this service can tell. */
export interface SourceState {
  name: string;
  configured: boolean;
  /** Where its events wait, when it has a queue of its own. */
  queue?: string;
}

export interface ServiceStatusDeps {
  unreadableIds(): Promise<string[]>;
  poisonQueues: readonly CountableQueue[];
  /** Queues whose messages are events not yet fanned out: their backlog is the lag a receiver sees. */
  eventQueues: readonly WaitingQueue[];
  sources: readonly SourceState[];
  clock: Clock;
}

const queueStateSchema = z.strictObject({
  name: z.string(),
  depth: z.int(),
  oldest_waiting_timestamp: z.int().optional(),
  oldest_waiting_lag_ms: z.int().optional().describe('How long the oldest waiting message has waited, in milliseconds.'),
});
type ApiQueueState = z.output<typeof queueStateSchema>;

/** The answer; the OpenAPI document is generated from it. */
export const serviceStatusAnswerSchema = z.strictObject({
  unreadable_webhook_ids: z.array(z.string()),
  poison_queues: z.array(z.strictObject({ name: z.string(), depth: z.int() })),
  event_queues: z.array(queueStateSchema),
  sources: z.array(z.strictObject({ name: z.string(), configured: z.boolean(), queue: z.string().optional() })),
});
export type ApiServiceStatus = z.output<typeof serviceStatusAnswerSchema>;

export const serviceStatusSchema = z.strictObject({});

/**
 * `GET service/status`, for admins: what a person on call checks beside the webhooks. Costs one webhook-table
 * scan a minute (shared with health), one properties call per queue and one peek per event queue.
 */
export async function serviceStatus(deps: ServiceStatusDeps, principal: Principal, input: unknown): Promise<ApiServiceStatus> {
  if (!principal.roles.includes('admin')) throw new ApiError('PERMISSION_DENIED', 'Only an admin may read the service status');
  parseWith(serviceStatusSchema, input);
  const now = deps.clock();
  const [unreadable, poison, events] = await Promise.all([
    deps.unreadableIds(),
    Promise.all(deps.poisonQueues.map(async (queue) => ({ name: queue.name, depth: await queue.length() }))),
    Promise.all(
      deps.eventQueues.map(async (queue): Promise<ApiQueueState> => {
        const [depth, since] = await Promise.all([queue.length(), queue.oldestWaitingSince()]);
        return { name: queue.name, depth, ...(since !== undefined ? { oldest_waiting_timestamp: since, oldest_waiting_lag_ms: Math.max(0, now - since) } : {}) };
      }),
    ),
  ]);
  return { unreadable_webhook_ids: unreadable, poison_queues: poison, event_queues: events, sources: [...deps.sources] };
}
