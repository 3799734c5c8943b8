import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processEventMessage, type QueueMessageMeta } from '../../src/pipeline/fan-out.js';
import { CLOCK_SKEW_MARGIN_MS, SubscriberLookup } from '../../src/pipeline/subscriber-lookup.js';
import type { Webhook } from '../../src/webhooks/webhook.js';
import { ManualClock, MemoryWebhookStore, type MemoryQueue } from '../support/memory.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

const meta = (overrides: Partial<QueueMessageMeta> = {}): QueueMessageMeta => ({ id: 'msg-1', dequeueCount: 1, insertedAt: 0, text: '{}', ...overrides });
const created = (version: number, overrides: Record<string, unknown> = {}) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'M', version: String(version), ...overrides });

/** Runs every continuation on the event queue until none is left; answers how many links ran. */
async function drainContinuations(run: (body: unknown, id: string) => Promise<void>, queue: MemoryQueue): Promise<number> {
  let links = 0;
  for (let message = queue.drain()[0]; message; message = queue.drain()[0]) {
    links += 1;
    await run(message.body, message.id);
  }
  return links;
}

describe('bounded fan-out', () => {
  it('splits a large fan-out into continuation links of bounded size, each delivery made once, marked finished after the last link', async () => {
    const { deps, webhooks, sender, deliveries, eventQueue, clock, claims } = pipelineDeps();
    deps.chunkDeliveries = 10;
    const models = Array.from({ length: 4 }, () => makeWebhook());
    const wide = Array.from({ length: 9 }, () => makeWebhook({ modelName: undefined }));
    for (const webhook of [...models, ...wide]) await webhooks.insert(webhook);
    let inFlight = 0;
    let peak = 0;
    const send = sender.send.bind(sender);
    sender.send = async (...args) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return send(...args);
    };
    const events = { events: [created(1, { event_id: 'chosen' }), created(2), created(3)] };
    const insertedAt = clock.now;
    await processEventMessage(deps, events, meta({ insertedAt }));
    assert.ok(sender.sent.length <= 12, `the first link made ${sender.sent.length} attempts, at most a chunk plus one webhook's events`);
    assert.equal(claims.finished.size, 0, 'not finished while links remain');
    const links = await drainContinuations((body, id) => {
      clock.advance(1000);
      return processEventMessage(deps, body, meta({ id, insertedAt: clock.now }));
    }, eventQueue);
    assert.ok(links >= 3, `${links} continuation links`);
    assert.equal(sender.sent.length, 13 * 3);
    assert.equal(new Set(sender.sent.map((sent) => sent.messageId)).size, 13 * 3, 'each delivery once');
    assert.equal(deliveries.rows.size, 13 * 3);
    assert.ok(peak <= 32, `at most 32 attempts in flight, saw ${peak}`);
    const eventKeys = [...claims.finished.keys()].filter((key) => !key.startsWith('["continue_fan_out"'));
    assert.deepEqual(eventKeys, ['["M","chosen"]'], 'finished once, keyed by model and id');
    const ids = new Set(sender.sent.map((sent) => JSON.parse(sent.payload) as { event_timestamp: number }).map((payload) => payload.event_timestamp));
    assert.deepEqual([...ids], [insertedAt], 'continuations keep the first message time as the event time');
  });

  it('a re-run of one link redoes only that link, and a duplicate dropped by the first link stays dropped in the rest', async () => {
    const { deps, webhooks, sender, eventQueue, clock, claims } = pipelineDeps();
    deps.chunkDeliveries = 2;
    for (let index = 0; index < 6; index += 1) await webhooks.insert(makeWebhook());
    await claims.finish(JSON.stringify(['M', 'old']), 'an-earlier-copy', clock.now);
    const body = { events: [created(1), created(2, { event_id: 'old' })] };
    await processEventMessage(deps, body, meta({ insertedAt: clock.now }));
    const [second] = eventQueue.drain();
    assert.ok(second);
    sender.sent.length = 0;
    await processEventMessage(deps, second.body, meta({ id: second.id }));
    const firstRun = sender.sent.length;
    const next = eventQueue.drain();
    await processEventMessage(deps, second.body, meta({ id: second.id, dequeueCount: 2 }));
    assert.equal(sender.sent.length, firstRun, 'the re-run sent nothing again');
    assert.equal(next.length, 1, 'the link handed on once');
    assert.deepEqual(eventQueue.drain(), [], 'and its re-run, the link being done, hands on nothing again');
    eventQueue.messages.push(...next);
    await drainContinuations((item, id) => processEventMessage(deps, item, meta({ id })), eventQueue);
    assert.ok(sender.sent.every((sent) => (JSON.parse(sent.payload) as { version: string }).version === '1'), 'the duplicate is never sent');
  });

  it('a re-run whose records exist issues bounded storage reads, not one per planned delivery at once', async () => {
    const { deps, webhooks, deliveries, deliveryQueue, audit, clock } = pipelineDeps();
    for (let index = 0; index < 40; index += 1) await webhooks.insert(makeWebhook({ modelName: undefined }));
    const insertedAt = clock.now;
    const append = audit.append.bind(audit);
    audit.append = () => Promise.reject(new Error('audit down'));
    await assert.rejects(processEventMessage(deps, created(1), meta({ insertedAt })));
    audit.append = append;
    let creates = 0;
    const create = deliveries.create.bind(deliveries);
    deliveries.create = (items) => {
      creates += 1;
      return create(items);
    };
    await processEventMessage(deps, created(1), meta({ insertedAt, dequeueCount: 2 }));
    assert.equal(creates, 1, 'one create call for the chunk, which the store batches');
    assert.equal(deliveryQueue.messages.length, 0);
  });
});

describe('subscriber lookup', () => {
  it('shares a read only if it started after the event was enqueued, so a webhook created before the event is seen', async () => {
    const clock = new ManualClock();
    const store = new MemoryWebhookStore();
    const releases: (() => void)[] = [];
    const listScope = store.listScope.bind(store);
    let slow = true;
    store.listScope = async (...args) => {
      const answer = await listScope(...args);
      if (slow) await new Promise<void>((resolve) => releases.push(resolve));
      return answer;
    };
    const lookup = new SubscriberLookup(store, clock.read);
    const early = lookup.forModel('M', clock.now - 60_000);
    await new Promise((resolve) => setImmediate(resolve));
    const late: Webhook = makeWebhook({ modelName: 'M' });
    clock.advance(5000);
    await store.insert(late);
    slow = false;
    const found = await lookup.forModel('M', clock.now - CLOCK_SKEW_MARGIN_MS);
    for (const release of releases) release();
    await early;
    assert.ok(found.model.webhooks.some((webhook) => webhook.id === late.id), 'the later event did not share the stale read');
  });
});
