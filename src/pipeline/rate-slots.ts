import { errorMessage } from '../shared/errors.js';
import type { Clock } from '../shared/ids.js';
import type { Logger } from '../telemetry/logger.js';
import type { Webhook } from '../webhooks/webhook.js';

/**
 * Where every instance books a webhook's send slots: the time its next slot is free, moved on by `count`
 * intervals in one conditional write; answers the first slot booked.
 */
export interface SharedRateSlots {
  reserve(webhookId: string, intervalMs: number, count: number, now: number): Promise<number>;
}

/** A slot this close ahead is taken now: an attempt never waits less than this. */
export const RATE_SLOT_TOLERANCE_MS = 50;
/**
 * A slot is never booked further ahead than this (a backlog of half a million events at one a second), so a
 * deferred attempt always fits the queue's 7-day visibility limit, and a clock far ahead cannot stall a webhook for longer.
 */
export const MAX_RATE_BACKLOG_MS = 6 * 86_400_000;

export interface BookedSlots {
  bookedAt: number;
  slots: number[];
}

/** Whether a booked slot is later than its booking, so the attempt must wait for it. */
export const mustWaitFor = (booked: BookedSlots, slot: number): boolean => slot > booked.bookedAt + RATE_SLOT_TOLERANCE_MS;

/**
 * Send slots for webhooks with `max_requests_per_second`: one every 1/rate seconds, booked in shared storage so
 * that instances share the rate (approximately: their clocks may differ a little). Reservations of one webhook
 * queue up in this process, so only other instances contend for its row; if storage fails, this process books
 * alone and the rate holds per instance.
 */
export class RateSlots {
  private readonly local = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly clock: Clock,
    private readonly shared: SharedRateSlots | undefined,
    private readonly log?: Logger,
  ) {}

  /**
   * `count` consecutive slots for the webhook (ms) and when they were booked, or undefined when it has no rate
   * limit. A slot later than its booking (beyond RATE_SLOT_TOLERANCE_MS) must be waited for.
   */
  reserve(webhook: Webhook, count = 1): Promise<BookedSlots> | undefined {
    const rate = webhook.target.kind === 'http' ? webhook.target.maxRequestsPerSecond : undefined;
    if (rate === undefined || count < 1) return undefined;
    const intervalMs = 1000 / rate;
    const turn = (this.queues.get(webhook.id) ?? Promise.resolve())
      .catch(() => undefined)
      .then(async () => {
        const now = this.clock();
        const first = Math.min(await this.book(webhook.id, intervalMs, count, now), now + MAX_RATE_BACKLOG_MS);
        this.local.set(webhook.id, Math.max(this.local.get(webhook.id) ?? 0, first + count * intervalMs));
        return { bookedAt: now, slots: Array.from({ length: count }, (_, index) => first + index * intervalMs) };
      });
    this.queues.set(webhook.id, turn);
    void turn
      .finally(() => {
        if (this.queues.get(webhook.id) === turn) this.queues.delete(webhook.id);
      })
      .catch(() => undefined);
    return turn;
  }

  private async book(webhookId: string, intervalMs: number, count: number, now: number): Promise<number> {
    const local = Math.max(now, this.local.get(webhookId) ?? 0);
    if (!this.shared) return local;
    try {
      return await this.shared.reserve(webhookId, intervalMs, count, now);
    } catch (error) {
      this.log?.warn(`rate slots of webhook ${webhookId} could not be booked in storage (${errorMessage(error)}); booked in this instance only`);
      return local;
    }
  }
}
