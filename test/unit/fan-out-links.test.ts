import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { processEventMessage, type QueueMessageMeta } from '../../src/pipeline/fan-out.js';
import { Semaphore } from '../../src/shared/limit.js';
import type { EventName } from '../../src/webhooks/events.js';
import type { Webhook } from '../../src/webhooks/webhook.js';
import type { MemoryQueue } from '../support/memory.js';
import { makeWebhook, pipelineDeps, type SentAttempt } from '../support/pipeline.js';

const meta = (overrides: Partial<QueueMessageMeta> = {}): QueueMessageMeta => ({ id: 'msg-1', dequeueCount: 1, insertedAt: 0, text: '{}', ...overrides });
const CREATED: EventName = 'MODEL_VERSION_CREATED';
const STAGED: EventName = 'MODEL_VERSION_TRANSITIONED_STAGE';
const event = (model: string, version: number, name: EventName, extra: Record<string, unknown> = {}) => ({
  event: name,
  model_name: model,
  version: String(version),
  ...(name === STAGED ? { to_stage: 'Staging', from_stage: 'None' } : {}),
  ...extra,
});

/** One delivery as a receiver tells it apart: webhook, model, version, event. */
const keyOf = (sent: SentAttempt): string => {
  const payload = JSON.parse(sent.payload) as { model_name: string; version: string; event: string };
  return [sent.webhookId, payload.model_name, payload.version, payload.event].join('|');
};

/** The deliveries a set of webhooks owes a set of events (generic event names only, no filters). */
function owed(webhooks: readonly Webhook[], events: readonly ReturnType<typeof event>[]): string[] {
  return webhooks.flatMap((webhook) =>
    events
      .filter((each) => (webhook.modelName === undefined || webhook.modelName === each.model_name) && webhook.events.includes(each.event))
      .map((each) => [webhook.id, each.model_name, each.version, each.event].join('|')),
  );
}

/** Runs the queue's messages one at a time until none is left; `run` may throw (the message is then offered again). */
async function drain(queue: MemoryQueue, run: (body: unknown, id: string, dequeueCount: number) => Promise<void>, maxRuns = 500): Promise<number> {
  const pending: { id: string; body: unknown; dequeueCount: number }[] = [];
  let runs = 0;
  for (;;) {
    pending.push(...queue.drain().map((message) => ({ id: message.id, body: message.body, dequeueCount: 1 })));
    const next = pending.shift();
    if (!next) return runs;
    runs += 1;
    assert.ok(runs <= maxRuns, `more than ${maxRuns} link runs: the chain does not end`);
    try {
      await run(next.body, next.id, next.dequeueCount);
    } catch {
      pending.push({ ...next, dequeueCount: next.dequeueCount + 1 });
    }
  }
}

/** Model M, model N and registry-wide webhooks interleaved in id order, subscribed to one event name or both. */
function interleaved(count: number): Webhook[] {
  const scopes = ['M', undefined, 'N'] as const;
  const subscriptions: EventName[][] = [[CREATED], [STAGED], [CREATED, STAGED]];
  return Array.from({ length: count }, (_, index) => makeWebhook({ modelName: scopes[index % 3], events: subscriptions[Math.floor(index / 3) % 3] as EventName[] }));
}

describe('continuation links side by side', () => {
  const mixed = [event('M', 1, CREATED), event('N', 1, STAGED), event('M', 2, STAGED), event('N', 2, CREATED), event('M', 3, CREATED)];
  for (const chunkDeliveries of [1, 2, 3]) {
    for (const events of [mixed.slice(0, 1), mixed.slice(0, 2), mixed]) {
      it(`chunk ${chunkDeliveries}, ${events.length} event(s) of mixed models and names: every owed delivery once, none other`, async () => {
        const { deps, webhooks, sender, eventQueue, clock } = pipelineDeps();
        deps.chunkDeliveries = chunkDeliveries;
        const hooks = interleaved(14);
        for (const webhook of hooks) await webhooks.insert(webhook);
        await processEventMessage(deps, { events }, meta({ insertedAt: clock.now }));
        await drain(eventQueue, (body, id) => processEventMessage(deps, body, meta({ id, insertedAt: clock.now })));
        assert.deepEqual(sender.sent.map(keyOf).sort(), owed(hooks, events).sort());
      });
    }
  }

  it('webhooks deleted between links: the others are each delivered once, the deleted at most once', async () => {
    const { deps, webhooks, sender, eventQueue, clock } = pipelineDeps();
    deps.chunkDeliveries = 2;
    const hooks = interleaved(12);
    for (const webhook of hooks) await webhooks.insert(webhook);
    await processEventMessage(deps, { events: mixed }, meta({ insertedAt: clock.now }));
    const removed = [hooks[1], hooks[7], hooks[11]] as Webhook[];
    for (const webhook of removed) await webhooks.remove(webhook);
    await drain(eventQueue, (body, id) => processEventMessage(deps, body, meta({ id, insertedAt: clock.now })));
    const sent = sender.sent.map(keyOf);
    assert.equal(new Set(sent).size, sent.length, 'nothing twice');
    const kept = hooks.filter((webhook) => !removed.includes(webhook));
    const keptIds = new Set(kept.map((webhook) => webhook.id));
    assert.deepEqual(sent.filter((key) => keptIds.has(key.split('|')[0] as string)).sort(), owed(kept, mixed).sort());
  });

  it('a first link that fails after handing on is re-run after the chain finished the event: its deliveries are still made, once', async () => {
    const { deps, webhooks, sender, eventQueue, clock, claims, deliveries } = pipelineDeps();
    deps.chunkDeliveries = 2;
    const hooks = Array.from({ length: 6 }, () => makeWebhook());
    for (const webhook of hooks) await webhooks.insert(webhook);
    const events = [event('M', 1, CREATED, { event_id: 'chosen' })];
    const create = deliveries.create.bind(deliveries);
    deliveries.create = () => Promise.reject(new Error('storage busy'));
    const insertedAt = clock.now;
    await assert.rejects(processEventMessage(deps, { events }, meta({ insertedAt })));
    deliveries.create = create;
    await drain(eventQueue, (body, id) => processEventMessage(deps, body, meta({ id, insertedAt: clock.now })));
    // On the first run's re-run the rest of the chain may already have finished the event.
    await processEventMessage(deps, { events }, meta({ insertedAt, dequeueCount: 2 }));
    await drain(eventQueue, (body, id) => processEventMessage(deps, body, meta({ id, insertedAt: clock.now })));
    assert.deepEqual(sender.sent.map(keyOf).sort(), owed(hooks, events).sort());
    assert.ok(claims.finished.has('["M","chosen"]'), 'and the event is finished');
  });

  it('a link failing once on every message: each delivery once, and the chain is not multiplied by the re-runs', async () => {
    const { deps, webhooks, sender, eventQueue, audit, clock } = pipelineDeps();
    deps.chunkDeliveries = 1;
    const hooks = Array.from({ length: 8 }, () => makeWebhook({ modelName: undefined }));
    for (const webhook of hooks) await webhooks.insert(webhook);
    const append = audit.append.bind(audit);
    const failedOnce = new Set<string>();
    let current = '';
    audit.append = (entries) => {
      if (failedOnce.has(current)) return append(entries);
      failedOnce.add(current);
      return Promise.reject(new Error('audit table busy'));
    };
    const run = (body: unknown, id: string, dequeueCount: number) => {
      current = id;
      return processEventMessage(deps, body, meta({ id, dequeueCount, insertedAt: clock.now }));
    };
    await eventQueue.send({ events: [event('M', 1, CREATED)] });
    const runs = await drain(eventQueue, run);
    assert.deepEqual([...new Set(sender.sent.map(keyOf))].sort(), owed(hooks, [event('M', 1, CREATED)]).sort());
    assert.equal(new Set(sender.sent.map(keyOf)).size, sender.sent.length, 'nothing sent twice');
    assert.ok(runs <= 4 * hooks.length, `${runs} link runs for ${hooks.length} links that each fail once`);
  });
});

describe('a chunk\u2019s waves side by side', () => {
  it('a wave that fails fails the link only after its other waves settled, their audit written once', async () => {
    const { deps, webhooks, deliveries, audit, clock } = pipelineDeps();
    const hooks = Array.from({ length: 130 }, () => makeWebhook({ modelName: undefined }));
    for (const webhook of hooks) await webhooks.insert(webhook);
    const create = deliveries.create.bind(deliveries);
    let refused = 0;
    deliveries.create = async (items) => {
      if (refused === 0) {
        refused = items.length;
        throw new Error('one wave\u2019s batch refused');
      }
      for (let tick = 0; tick < 20; tick += 1) await new Promise((resolve) => setImmediate(resolve));
      return create(items);
    };
    await assert.rejects(processEventMessage(deps, event('M', 1, CREATED), meta({ insertedAt: clock.now })));
    assert.equal(audit.entries.length, 130 - refused, 'the other waves were written before the link failed');
    deliveries.create = create;
    await processEventMessage(deps, event('M', 1, CREATED), meta({ insertedAt: clock.now, dequeueCount: 2 }));
    const firsts = audit.entries.filter((entry) => entry.details?.['replayed'] === undefined);
    assert.equal(new Set(firsts.map((entry) => entry.webhookId)).size, 130, 'each delivery audited unreplayed once');
    assert.equal(firsts.length, 130);
  });

  it('many links each holding waves on one wave of first-attempt slots all finish', async () => {
    const { deps, webhooks, sender, eventQueue, clock } = pipelineDeps();
    deps.firstAttemptSlots = new Semaphore(64);
    deps.chunkDeliveries = 200;
    const hooks = Array.from({ length: 1000 }, () => makeWebhook({ modelName: undefined }));
    for (const webhook of hooks) await webhooks.insert(webhook);
    // Every link starts as soon as it is handed on, none awaited before the next, as a host with a large batch does.
    const settled: boolean[] = [];
    const start = (body: unknown, id: string) => {
      const index = settled.push(false) - 1;
      void processEventMessage(deps, body, meta({ id, insertedAt: clock.now })).finally(() => (settled[index] = true));
    };
    start(event('M', 1, CREATED), 'first');
    while (settled.includes(false) || eventQueue.messages.length > 0) {
      for (const message of eventQueue.drain()) start(message.body, message.id);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(new Set(sender.sent.map(keyOf)).size, 1000);
  });
});
