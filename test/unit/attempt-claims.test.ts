import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redeliver } from '../../src/pipeline/deliveries-api.js';
import type { DeliveryMessage } from '../../src/pipeline/attempts.js';
import { processDeliveryMessage } from '../../src/pipeline/deliverer.js';
import { processEventMessage, type QueueMessageMeta } from '../../src/pipeline/fan-out.js';
import type { Principal } from '../../src/auth/principal.js';
import type { AttemptResult } from '../../src/outbound/classify-outcome.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

const meta = (overrides: Partial<QueueMessageMeta> = {}): QueueMessageMeta => ({ id: 'msg-1', dequeueCount: 1, insertedAt: 0, text: '{}', ...overrides });
const created = (overrides: Record<string, unknown> = {}) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'M', version: '1', ...overrides });
const admin: Principal = { id: 'token:admin', roles: ['admin'] };
const failing: AttemptResult = { kind: 'response', status: 503, body: 'down' };

/** Makes the sender's answers wait until released (then 200), so attempts overlap what runs meanwhile. */
function holdSends(sender: ReturnType<typeof pipelineDeps>['sender']): () => void {
  let release: () => void = () => undefined;
  const result = new Promise<AttemptResult>((resolve) => (release = () => resolve({ kind: 'response', status: 200, body: 'OK' })));
  const send = sender.send.bind(sender);
  sender.send = (...args) => {
    void send(...args);
    return result;
  };
  return release;
}

type Pipeline = ReturnType<typeof pipelineDeps>;

/** Works every message on the delivery queue, and those they enqueue, five minutes apart, until none is left. */
async function workQueueToEnd(deps: Pipeline['deps'], deliveryQueue: Pipeline['deliveryQueue'], clock: Pipeline['clock']): Promise<void> {
  clock.advance(300_000);
  for (let items = deliveryQueue.drain(); items.length > 0; items = deliveryQueue.drain()) {
    for (const item of items) await processDeliveryMessage(deps, item.body as DeliveryMessage);
    clock.advance(300_000);
  }
}

describe('one send per attempt', () => {
  it('an event without event_timestamp takes the message insertion time, so a re-run with a moving clock builds the same delivery', async () => {
    const { deps, webhooks, sender, deliveries, audit, clock } = pipelineDeps();
    await webhooks.insert(makeWebhook());
    const insertedAt = clock.now - 7000;
    const append = audit.append.bind(audit);
    audit.append = () => Promise.reject(new Error('audit table down'));
    await assert.rejects(processEventMessage(deps, created(), meta({ insertedAt })));
    audit.append = append;
    clock.advance(90_000);
    await processEventMessage(deps, created(), meta({ insertedAt, dequeueCount: 2 }));
    assert.equal(sender.sent.length, 1, 'sent once');
    assert.equal(deliveries.rows.size, 1, 'one record');
    assert.equal((JSON.parse(sender.sent[0]?.payload ?? '{}') as { event_timestamp: number }).event_timestamp, insertedAt);
  });

  it('two messages for one attempt, processed at the same time, send it once', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000, 2000]);
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing);
    await processEventMessage(deps, created(), meta({ insertedAt: clock.now }));
    const [retry] = deliveryQueue.drain();
    const message = retry?.body as DeliveryMessage;
    const release = holdSends(sender);
    clock.advance(1000);
    const firstRun = processDeliveryMessage(deps, message, 1);
    const secondRun = processDeliveryMessage(deps, message, 2);
    await new Promise((resolve) => setImmediate(resolve));
    release();
    await Promise.all([firstRun, secondRun]);
    assert.equal(sender.sent.length, 2, 'the first attempt and one retry, not two');
    assert.equal(deliveries.rows.get(message.delivery_id)?.status, 'SUCCEEDED');
    const recheck = deliveryQueue.drain();
    clock.advance(120_000);
    for (const item of recheck) await processDeliveryMessage(deps, item.body as DeliveryMessage);
    assert.equal(sender.sent.length, 2, 'the loser, looking again later, finds the attempt made');
  });

  it('a claim whose holder died expires, and the attempt is then made', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000]);
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing, { kind: 'response', status: 200, body: 'OK' });
    await processEventMessage(deps, created(), meta({ insertedAt: clock.now }));
    const message = deliveryQueue.drain()[0]?.body as DeliveryMessage;
    const found = await deliveries.get(message.delivery_id);
    assert.ok(found);
    await deliveries.replace([{ value: { ...found.value, claim: { attempt: 2, expiresAt: clock.now + 60_000 } }, etag: found.etag }]);
    await processDeliveryMessage(deps, message, 2);
    assert.equal(sender.sent.length, 1, 'a live claim is not overtaken');
    const [later] = deliveryQueue.drain();
    assert.ok((later?.delayMs ?? 0) >= 60_000, 'the message looks again once the claim has expired');
    clock.advance(later?.delayMs ?? 0);
    await processDeliveryMessage(deps, later?.body as DeliveryMessage);
    assert.equal(sender.sent.length, 2);
    assert.equal(deliveries.rows.get(message.delivery_id)?.status, 'SUCCEEDED');
    assert.equal(deliveries.rows.get(message.delivery_id)?.claim, undefined, 'the recorded attempt holds no claim');
  });

  it('concurrent redeliver calls of a RETRYING delivery send its next attempt once', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 60_000]);
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing, { kind: 'response', status: 200, body: 'OK' });
    await processEventMessage(deps, created(), meta({ insertedAt: clock.now }));
    const [id] = [...deliveries.rows.keys()];
    const api = { ...deps, newId: () => 'fresh' };
    await Promise.all([redeliver(api, admin, { delivery_id: id }), redeliver(api, admin, { delivery_id: id })]);
    const messages = deliveryQueue.drain();
    assert.equal(messages.length, 3, 'the scheduled retry and one per call');
    clock.advance(60_000);
    await Promise.all(messages.map((item) => processDeliveryMessage(deps, item.body as DeliveryMessage)));
    for (const item of deliveryQueue.drain()) await processDeliveryMessage(deps, item.body as DeliveryMessage);
    assert.equal(sender.sent.length, 2, 'the first attempt and one more');
    assert.equal(deliveries.rows.get(id ?? '')?.status, 'SUCCEEDED');
  });

  it('a redeliver written while the attempt is on the wire neither loses its outcome nor sends it again', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000]);
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing);
    await processEventMessage(deps, created(), meta({ insertedAt: clock.now }));
    const message = deliveryQueue.drain()[0]?.body as DeliveryMessage;
    const release = holdSends(sender);
    clock.advance(1000);
    const running = processDeliveryMessage(deps, message, 1);
    await new Promise((resolve) => setImmediate(resolve));
    await redeliver({ ...deps, newId: () => 'fresh' }, admin, { delivery_id: message.delivery_id });
    release();
    await running;
    assert.equal(deliveries.rows.get(message.delivery_id)?.status, 'SUCCEEDED', 'the outcome of the attempt on the wire is recorded');
    await workQueueToEnd(deps, deliveryQueue, clock);
    assert.equal(sender.sent.length, 2, 'the first attempt and the one the redeliver brought forward, once');
  });

  it('a redeliver written while a first attempt of the fan-out is on the wire neither loses its outcome nor sends it again', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000]);
    await webhooks.insert(makeWebhook());
    const release = holdSends(sender);
    const fanOut = processEventMessage(deps, created(), meta({ insertedAt: clock.now }));
    await sender.sends(1);
    const [id] = [...deliveries.rows.keys()];
    await redeliver({ ...deps, newId: () => 'fresh' }, admin, { delivery_id: id });
    release();
    await fanOut;
    assert.equal(deliveries.rows.get(id ?? '')?.status, 'SUCCEEDED', 'the outcome of the attempt on the wire is recorded');
    await workQueueToEnd(deps, deliveryQueue, clock);
    assert.equal(sender.sent.length, 1, 'sent once');
  });

  it('two runs of one event message at the same time send each delivery once', async () => {
    const { deps, webhooks, sender, deliveries, clock } = pipelineDeps();
    for (let index = 0; index < 5; index += 1) await webhooks.insert(makeWebhook());
    const insertedAt = clock.now;
    await Promise.all([processEventMessage(deps, created(), meta({ insertedAt })), processEventMessage(deps, created(), meta({ insertedAt, dequeueCount: 2 }))]);
    assert.equal(sender.sent.length, 5);
    assert.equal(new Set(sender.sent.map((sent) => sent.messageId)).size, 5);
    assert.equal(deliveries.rows.size, 5);
  });
});

describe('job runs are idempotent', () => {
  it('sends the delivery id as idempotency token on every retry, and a fresh one after an explicit redeliver', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000]);
    const webhook = makeWebhook({ target: { kind: 'job', jobId: '42', accessToken: 'dapi-x', workspaceUrl: 'https://adb.example' } });
    await webhooks.insert(webhook);
    sender.answer(webhook.id, { kind: 'error', error: 'timed out', retryable: true, network: 'timeout' }, { kind: 'response', status: 200, body: '{}' });
    await processEventMessage(deps, created(), meta({ insertedAt: clock.now }));
    clock.advance(1000);
    await processDeliveryMessage(deps, deliveryQueue.drain()[0]?.body as DeliveryMessage);
    const [id] = [...deliveries.rows.keys()];
    assert.deepEqual(sender.sent.map((sent) => sent.idempotencyToken), [id, id]);
    assert.ok((id ?? '').length <= 64);
    await redeliver({ ...deps, newId: () => 'f'.repeat(32) }, admin, { delivery_id: id });
    await processDeliveryMessage(deps, deliveryQueue.drain()[0]?.body as DeliveryMessage);
    assert.equal(sender.sent.at(-1)?.idempotencyToken, 'f'.repeat(32));
  });
});

describe('a 410 racing a delete', () => {
  it('a failing disable never fails the other deliveries of the message', async () => {
    const { deps, webhooks, sender, deliveries } = pipelineDeps();
    const gone = makeWebhook();
    const others = [makeWebhook(), makeWebhook()];
    for (const webhook of [gone, ...others]) await webhooks.insert(webhook);
    sender.answer(gone.id, { kind: 'response', status: 410, body: 'gone' });
    webhooks.setStatus = () => Promise.reject(Object.assign(new Error('The specified resource does not exist.'), { statusCode: 404 }));
    await processEventMessage(deps, created(), meta());
    assert.deepEqual([...deliveries.rows.values()].map((delivery) => delivery.status).sort(), ['FAILED', 'SUCCEEDED', 'SUCCEEDED']);
    assert.equal(sender.sent.length, 3);
  });
});
