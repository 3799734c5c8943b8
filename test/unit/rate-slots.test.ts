import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processDeliveryMessage } from '../../src/pipeline/deliverer.js';
import type { DeliveryMessage } from '../../src/pipeline/attempts.js';
import { processEventMessage } from '../../src/pipeline/fan-out.js';
import { MAX_RATE_BACKLOG_MS, RateSlots, type SharedRateSlots } from '../../src/pipeline/rate-slots.js';
import { ManualClock } from '../support/memory.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

/** The shared row of every webhook, as the table holds it for all instances. */
class MemorySharedRateSlots implements SharedRateSlots {
  readonly freeAt = new Map<string, number>();
  failing = false;
  reserve(webhookId: string, intervalMs: number, count: number, now: number): Promise<number> {
    if (this.failing) return Promise.reject(new Error('storage down'));
    const first = Math.max(now, this.freeAt.get(webhookId) ?? 0);
    this.freeAt.set(webhookId, first + count * intervalMs);
    return Promise.resolve(first);
  }
}

const limited = (rate: number) => makeWebhook({ target: { kind: 'http', url: 'https://hooks.example/x', enableSslVerification: true, maxRequestsPerSecond: rate } });

describe('rate slots', () => {
  it('books one slot every 1/rate seconds, shared by every instance', async () => {
    const clock = new ManualClock();
    const shared = new MemorySharedRateSlots();
    const [a, b] = [new RateSlots(clock.read, shared), new RateSlots(clock.read, shared)];
    const webhook = limited(4);
    const booked = await Promise.all([a.reserve(webhook, 2), b.reserve(webhook, 1), a.reserve(webhook, 1)]);
    const all = booked.flatMap((booking) => booking?.slots ?? []).map((slot) => slot - clock.now).sort((x, y) => x - y);
    assert.deepEqual(all, [0, 250, 500, 750]);
    assert.equal(a.reserve(makeWebhook(), 1), undefined, 'no limit: no booking');
  });

  it('books in this instance alone when storage fails', async () => {
    const clock = new ManualClock();
    const shared = new MemorySharedRateSlots();
    shared.failing = true;
    const slots = new RateSlots(clock.read, shared);
    const webhook = limited(1);
    assert.deepEqual((await slots.reserve(webhook, 2))?.slots, [clock.now, clock.now + 1000]);
    assert.deepEqual((await slots.reserve(webhook, 1))?.slots, [clock.now + 2000]);
  });

  it('a burst waits for its slots (deferred, no attempt used), each attempt made at its slot without booking again', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps();
    const shared = new MemorySharedRateSlots();
    deps.rates = new RateSlots(clock.read, shared);
    const webhook = limited(2);
    await webhooks.insert(webhook);
    const events = Array.from({ length: 5 }, (_, index) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'M', version: String(index + 1), event_id: `e${index}` }));
    await processEventMessage(deps, { events }, { id: 'msg', dequeueCount: 1, insertedAt: clock.now, text: '' });
    assert.equal(sender.sent.length, 1, 'one attempt in the first slot');
    const waiting = [...deliveries.rows.values()].filter((delivery) => delivery.status === 'PENDING');
    assert.equal(waiting.length, 4);
    assert.ok(waiting.every((delivery) => delivery.attempts === 0 && delivery.rateSlot === delivery.nextAttemptTimestamp));
    assert.deepEqual(waiting.map((delivery) => (delivery.rateSlot ?? 0) - clock.now).sort((x, y) => x - y), [500, 1000, 1500, 2000]);
    const bookedUntil = shared.freeAt.get(webhook.id);

    const messages = deliveryQueue.drain().sort((x, y) => x.delayMs - y.delayMs);
    assert.deepEqual(messages.map((message) => message.delayMs), [500, 1000, 1500, 2000]);
    const start = clock.now;
    for (const message of messages) {
      clock.now = start + message.delayMs;
      await processDeliveryMessage(deps, message.body as DeliveryMessage);
    }
    assert.equal(sender.sent.length, 5);
    assert.ok([...deliveries.rows.values()].every((delivery) => delivery.status === 'SUCCEEDED' && delivery.attempts === 1 && delivery.rateSlot === undefined));
    assert.equal(shared.freeAt.get(webhook.id), bookedUntil, 'no slot booked twice');
  });

  it('an attempt that comes back early waits again for its own slot', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps();
    deps.rates = new RateSlots(clock.read, new MemorySharedRateSlots());
    const webhook = limited(1);
    await webhooks.insert(webhook);
    const events = [1, 2].map((version) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'M', version: String(version), event_id: `v${version}` }));
    await processEventMessage(deps, { events }, { id: 'msg', dequeueCount: 1, insertedAt: clock.now, text: '' });
    const [message] = deliveryQueue.drain();
    clock.advance(200);
    await processDeliveryMessage(deps, message?.body as DeliveryMessage);
    assert.equal(sender.sent.length, 1);
    const [again] = deliveryQueue.drain();
    assert.equal(again?.delayMs, 800);
    clock.advance(800);
    await processDeliveryMessage(deps, again?.body as DeliveryMessage);
    assert.equal(sender.sent.length, 2);
    assert.ok([...deliveries.rows.values()].every((delivery) => delivery.attempts === 1));
  });
});

describe('rate slot backlog', () => {
  it('never books a slot beyond the queue visibility limit, even after a clock far ahead', async () => {
    const clock = new ManualClock();
    const shared = new MemorySharedRateSlots();
    const webhook = limited(1);
    shared.freeAt.set(webhook.id, clock.now + 30 * 86_400_000);
    const [slot] = (await new RateSlots(clock.read, shared).reserve(webhook))?.slots ?? [];
    assert.equal(slot, clock.now + MAX_RATE_BACKLOG_MS);
  });
});
