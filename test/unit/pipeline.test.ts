import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliveryMessage } from '../../src/pipeline/attempts.js';
import { processDeliveryMessage } from '../../src/pipeline/deliverer.js';
import { processEventMessage, type QueueMessageMeta } from '../../src/pipeline/fan-out.js';
import type { OutboundClient } from '../../src/outbound/http-client.js';
import { JobTargetSender } from '../../src/outbound/job-target-sender.js';
import type { AttemptResult } from '../../src/outbound/classify-outcome.js';
import { OriginGate } from '../../src/outbound/origin-gate.js';
import { DELIVERY_RESPONSE_BYTES, TargetSenders } from '../../src/outbound/target-sender.js';
import { EVENT_CLAIM_LEASE_MS } from '../../src/pipeline/event-claims.js';
import { getDelivery, listDeliveries, redeliver } from '../../src/pipeline/deliveries-api.js';
import { deliveryIdOf, legacyDeliveryIdOf } from '../../src/pipeline/delivery.js';
import { admin } from '../support/deps.js';
import type { MemoryAuditLog } from '../support/memory.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

const meta = (overrides: Partial<QueueMessageMeta> = {}): QueueMessageMeta => ({ id: 'msg-1', dequeueCount: 1, insertedAt: 0, text: '{}', ...overrides });
const created = (overrides: Record<string, unknown> = {}) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'M', version: '1', event_id: 'evt-1', ...overrides });

/** The next audit append fails, as a storage outage after the attempts were made would. */
function failAuditOnce(audit: MemoryAuditLog): void {
  const append = audit.append.bind(audit);
  audit.append = () => {
    audit.append = append;
    return Promise.reject(new Error('audit table down'));
  };
}

describe('fan-out', () => {
  it('delivers an event to each matching ACTIVE webhook once, records and audits each', async () => {
    const { deps, webhooks, sender, deliveries, audit } = pipelineDeps();
    const a = makeWebhook();
    const b = makeWebhook({ modelName: undefined });
    const other = makeWebhook({ modelName: 'N' });
    const testMode = makeWebhook({ status: 'TEST_MODE' });
    for (const webhook of [a, b, other, testMode]) await webhooks.insert(webhook);
    await processEventMessage(deps, { events: [created()], published_by: 'token:publisher:12345678' }, meta());
    assert.deepEqual(sender.sent.map((sent) => sent.webhookId).sort(), [a.id, b.id].sort());
    assert.deepEqual([...deliveries.rows.values()].map((delivery) => delivery.status), ['SUCCEEDED', 'SUCCEEDED']);
    assert.equal(audit.entries.length, 2);
    assert.ok(audit.entries.every((entry) => entry.action === 'deliver' && entry.principal === 'token:publisher:12345678'));
    assert.deepEqual(sender.limits, [DELIVERY_RESPONSE_BYTES, DELIVERY_RESPONSE_BYTES], 'a delivery reads only an excerpt of the answer');
    const payload = JSON.parse(sender.sent[0]?.payload ?? '{}') as Record<string, unknown>;
    assert.equal(payload.event, 'MODEL_VERSION_CREATED');
    assert.equal(sender.sent[0]?.messageId, [...deliveries.rows.keys()].find((id) => id.startsWith(sender.sent[0]?.webhookId ?? '')));
  });

  it('treats a copy of an event id as a duplicate only once an earlier copy finished its fan-out, for 24 h', async () => {
    const { deps, webhooks, sender, audit, clock, eventQueue } = pipelineDeps();
    await webhooks.insert(makeWebhook());
    const event = created({ event_timestamp: 1_700_000_000_000 });
    failAuditOnce(audit);
    await assert.rejects(processEventMessage(deps, event, meta({ id: 'first', insertedAt: clock.now })), /audit table down/);
    assert.equal(sender.sent.length, 1, 'the attempt was made before the run failed');
    clock.advance(60_000);
    await processEventMessage(deps, event, meta({ id: 'while-the-first-may-still-run', insertedAt: clock.now }));
    const [later] = eventQueue.drain();
    assert.ok((later?.delayMs ?? 0) >= EVENT_CLAIM_LEASE_MS - 60_000, 'a copy meeting a live claim is looked at again when it expires');
    assert.deepEqual((later?.body as { events: { event_id: string }[] }).events.map((item) => item.event_id), ['evt-1']);
    clock.advance(EVENT_CLAIM_LEASE_MS);
    await processEventMessage(deps, event, meta({ id: 'moved-back-from-poison', insertedAt: clock.now }));
    assert.equal(sender.sent.length, 1, 'the copy finished the fan-out without sending again');
    assert.equal(audit.entries.at(-1)?.details?.replayed, true);
    clock.advance(60_000);
    const audited = audit.entries.length;
    await processEventMessage(deps, event, meta({ id: 'published-again', insertedAt: clock.now }));
    assert.equal(audit.entries.length, audited, 'a copy after a finished fan-out is dropped');
    clock.advance(24 * 3_600_000 + 1);
    await processEventMessage(deps, created(), meta({ id: 'a-day-later', insertedAt: clock.now }));
    assert.equal(sender.sent.length, 2, 'after 24 h the id is new again');
  });

  it('on a re-run of a failed message, skips deliveries already recorded and makes the rest', async () => {
    const { deps, webhooks, sender, deliveries, audit, clock } = pipelineDeps();
    const a = makeWebhook();
    const b = makeWebhook();
    await webhooks.insert(a);
    await webhooks.insert(b);
    const insertedAt = clock.now;
    failAuditOnce(audit);
    await assert.rejects(processEventMessage(deps, created(), meta({ insertedAt })));
    const [firstA] = [...deliveries.rows.values()].filter((delivery) => delivery.webhookId === a.id);
    deliveries.forget([...deliveries.rows.keys()].find((id) => id.startsWith(b.id)) ?? '');
    sender.sent.length = 0;
    clock.advance(30_000);
    await processEventMessage(deps, created(), meta({ dequeueCount: 2, insertedAt }));
    assert.deepEqual(sender.sent.map((sent) => sent.webhookId), [b.id]);
    assert.deepEqual([...deliveries.rows.values()].find((delivery) => delivery.webhookId === a.id), firstA);
  });

  it('claims only event ids the publisher chose, and delivers a repeated id within one message once', async () => {
    const { deps, webhooks, sender, claims } = pipelineDeps();
    await webhooks.insert(makeWebhook());
    await processEventMessage(deps, { events: [created({ event_id: undefined }), created({ event_id: undefined })] }, meta({ id: 'm-9' }));
    assert.equal(claims.finished.size, 0);
    assert.deepEqual(sender.sent.map((sent) => (JSON.parse(sent.payload) as { event: string }).event), ['MODEL_VERSION_CREATED', 'MODEL_VERSION_CREATED']);
    await processEventMessage(deps, { events: [created({ event_id: 'twice' }), created({ event_id: 'twice' })] }, meta({ id: 'm-10' }));
    assert.equal(sender.sent.length, 3);
    assert.deepEqual([...claims.finished.keys()], ['["M","twice"]'], 'claimed once, for its model (ids are de-duplicated per model)');
  });

  it('uses the same delivery id (webhook-id) for the same event and webhook, always', async () => {
    const run = async () => {
      const { deps, webhooks, sender } = pipelineDeps();
      await webhooks.insert(makeWebhook({ id: 'f'.repeat(32) }));
      await processEventMessage(deps, created({ event_timestamp: 1700000000000 }), meta({ id: String(Math.random()), insertedAt: 1700000000000 }));
      return sender.sent[0]?.messageId;
    };
    const first = await run();
    assert.match(first ?? '', /^f{32}_\d{13}_[0-9a-f]{16}$/);
    assert.equal(await run(), first);
  });

  it('keeps the earlier id of a delivery an earlier version made for a message it queued, and names every other by model too', async () => {
    const { deps, webhooks, sender, deliveries, eventQueue } = pipelineDeps();
    const a = makeWebhook({ modelName: undefined });
    const b = makeWebhook({ modelName: undefined });
    await webhooks.insert(a);
    await webhooks.insert(b);
    const event = created({ event_timestamp: 1_700_000_000_000 });
    // What an earlier version left of this message: a's delivery made and sent under the id without the model.
    const legacyId = legacyDeliveryIdOf(a.id, 1_700_000_000_000, 'evt-1');
    const payload = JSON.stringify({ event: 'MODEL_VERSION_CREATED', webhook_id: a.id, event_timestamp: 1_700_000_000_000, model_name: 'M', version: '1' });
    await deliveries.create([{ id: legacyId, webhookId: a.id, event: 'MODEL_VERSION_CREATED', eventId: 'evt-1', eventTimestamp: 1_700_000_000_000, status: 'SUCCEEDED', attempts: 1, createdTimestamp: 0, payload }]);
    await processEventMessage(deps, { events: [event], published_by: 'queue' }, meta({ dequeueCount: 2, insertedAt: 1_700_000_000_000 }));
    assert.deepEqual(sender.sent.map((sent) => sent.webhookId), [b.id], 'a was already sent; b is sent now');
    assert.equal(sender.sent[0]?.messageId, deliveryIdOf(b.id, 1_700_000_000_000, 'M', 'evt-1'));
    // Another model's event with the same id and time is its own delivery, though the earlier id is taken.
    await processEventMessage(deps, { events: [{ ...event, model_name: 'N' }] }, meta({ id: 'msg-2', insertedAt: 1_700_000_000_000 }));
    assert.deepEqual(sender.sent.slice(1).map((sent) => sent.messageId).sort(), [a.id, b.id].map((id) => deliveryIdOf(id, 1_700_000_000_000, 'N', 'evt-1')).sort());
    assert.equal(deliveries.rows.size, 4);
    assert.equal(eventQueue.drain().length, 0);
  });

  it('answers, lists and redelivers a delivery under the id an earlier version derived', async () => {
    const { deps, webhooks, deliveries, deliveryQueue } = pipelineDeps();
    const hook = makeWebhook();
    await webhooks.insert(hook);
    const legacyId = legacyDeliveryIdOf(hook.id, 1_700_000_000_000, 'evt-1');
    await deliveries.create([{ id: legacyId, webhookId: hook.id, event: 'MODEL_VERSION_CREATED', eventId: 'evt-1', eventTimestamp: 1_700_000_000_000, status: 'FAILED', attempts: 3, createdTimestamp: 0, payload: '{}' }]);
    const api = { ...deps, newId: () => 'f'.repeat(32) };
    assert.equal((await getDelivery(api, admin, { id: legacyId })).id, legacyId);
    assert.deepEqual((await listDeliveries(api, admin, { webhook_id: hook.id })).deliveries?.map((delivery) => delivery.id), [legacyId]);
    assert.deepEqual((await redeliver(api, admin, { delivery_id: legacyId })).delivery_ids, [legacyId]);
    assert.equal((deliveryQueue.drain()[0]?.body as DeliveryMessage).delivery_id, legacyId);
  });

  it('poisons an unreadable message and an invalid event, and still delivers the valid ones', async () => {
    const { deps, webhooks, sender, poison } = pipelineDeps();
    await webhooks.insert(makeWebhook());
    await processEventMessage(deps, 'not json at all', meta({ text: 'not json at all' }));
    assert.deepEqual(poison.drain().map((message) => message.text), ['not json at all']);
    await processEventMessage(deps, { events: [created({ version: undefined }), created({ event_id: 'ok' })] }, meta());
    const poisoned = poison.drain();
    assert.equal(poisoned.length, 1);
    assert.match(poisoned[0]?.text ?? '', /MODEL_VERSION_CREATED/);
    assert.equal(sender.sent.length, 1);
    await processEventMessage(deps, [1, 2], meta());
    await processEventMessage(deps, { events: 'x' }, meta());
    assert.equal(poison.drain().length, 2);
  });

  it('poisons an event stamped more than a day after it was enqueued, naming event_timestamp', async () => {
    const { deps, webhooks, sender, poison } = pipelineDeps();
    await webhooks.insert(makeWebhook());
    const insertedAt = 1_700_000_000_000;
    await processEventMessage(deps, { events: [created({ event_timestamp: insertedAt + 2 * 86_400_000, event_id: 'future' }), created({ event_timestamp: insertedAt + 3_600_000, event_id: 'soon' })] }, meta({ insertedAt }));
    const poisoned = poison.drain();
    assert.equal(poisoned.length, 1);
    assert.match(poisoned[0]?.text ?? '', /"future"/);
    assert.deepEqual(sender.sent.map((sent) => (JSON.parse(sent.payload) as { event_timestamp: number }).event_timestamp), [insertedAt + 3_600_000]);
  });
});

describe('retries', () => {
  const failing = { kind: 'response' as const, status: 503, body: 'down' };

  it('writes the record before it enqueues any message that refers to it', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000, 1000]);
    const healthy = makeWebhook();
    const failing = makeWebhook();
    await webhooks.insert(healthy);
    await webhooks.insert(failing);
    sender.answer(failing.id, { kind: 'response', status: 503, body: '' });
    // What the stored record says when a message for it is sent: it must already be the step the message makes.
    const seen: string[] = [];
    const send = deliveryQueue.send.bind(deliveryQueue);
    deliveryQueue.send = (message, delayMs) => {
      const { delivery_id: id, attempt, schedule_index: index } = message as DeliveryMessage;
      const stored = deliveries.rows.get(id);
      seen.push(`attempt ${attempt} (schedule ${index}) sent while the record is ${stored?.status} after ${stored?.attempts} (next ${stored?.nextScheduleIndex})`);
      return send(message, delayMs);
    };
    await processEventMessage(deps, created(), meta());
    const [retry] = deliveryQueue.drain();
    clock.advance(retry?.delayMs ?? 0);
    await processDeliveryMessage(deps, retry?.body as DeliveryMessage);
    assert.deepEqual(seen, [
      'attempt 2 (schedule 1) sent while the record is RETRYING after 1 (next 1)',
      'attempt 3 (schedule 2) sent while the record is RETRYING after 2 (next 2)',
    ]);
  });

  it('enqueues the next attempt with the schedule delay after recording RETRYING, then succeeds', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue } = pipelineDeps([0, 1000, 2000]);
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing, { kind: 'response', status: 200, body: 'OK' });
    await processEventMessage(deps, created(), meta());
    const [delivery] = [...deliveries.rows.values()];
    assert.equal(delivery?.status, 'RETRYING');
    assert.equal(delivery?.attempts, 1);
    assert.equal(delivery?.lastStatusCode, 503);
    assert.match(delivery?.lastError ?? '', /HTTP 503: down/);
    const [next] = deliveryQueue.drain();
    assert.equal(next?.delayMs, 1000);
    assert.deepEqual(next?.body, { delivery_id: delivery?.id, attempt: 2, schedule_index: 1 });
    await processDeliveryMessage(deps, next?.body);
    const done = deliveries.rows.get(delivery?.id ?? '');
    assert.equal(done?.status, 'SUCCEEDED');
    assert.equal(done?.attempts, 2);
    assert.equal(done?.lastError, undefined);
    assert.equal(new Set(sender.sent.map((sent) => sent.messageId)).size, 1, 'same webhook-id on the retry');
    assert.equal(new Set(sender.sent.map((sent) => sent.payload)).size, 1, 'byte-identical payload');
  });

  it('marks FAILED after the last scheduled attempt', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue } = pipelineDeps([0, 1000]);
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing);
    await processEventMessage(deps, created(), meta());
    await processDeliveryMessage(deps, deliveryQueue.drain()[0]?.body as DeliveryMessage);
    const [delivery] = [...deliveries.rows.values()];
    assert.equal(delivery?.status, 'FAILED');
    assert.equal(delivery?.attempts, 2);
    assert.match(delivery?.lastError ?? '', /gave up after 2 attempts/);
    assert.equal(deliveryQueue.messages.length, 0);
  });

  it('never stores a job token that the workspace answer spells in JSON \\u escapes', async () => {
    const { deps, webhooks, deliveries } = pipelineDeps();
    const token = 'dapi-pipeline-token-1234';
    const escaped = token.replace(/./g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
    const workspace: OutboundClient = {
      send: (request) =>
        Promise.resolve(
          request.method === 'GET'
            ? { kind: 'response', status: 200, body: JSON.stringify({ settings: { tasks: [{ notebook_task: {} }] } }) }
            : { kind: 'response', status: 403, body: `{"error_code":"PERMISSION_DENIED","message":"token ${escaped} may not run this job"}` },
        ),
    };
    const job = new JobTargetSender(workspace, { policy: { allowHttp: false, allowPrivate: false }, clock: () => 0 });
    const http = deps.senders.for(makeWebhook());
    const withJob = { ...deps, senders: new TargetSenders({ http, job }) };
    await webhooks.insert(makeWebhook({ target: { kind: 'job', jobId: '7', accessToken: token, workspaceUrl: 'https://adb.example' } }));
    await processEventMessage(withJob, created(), meta());
    const [record] = [...deliveries.rows.values()];
    assert.equal(record?.status, 'FAILED');
    assert.match(record?.lastError ?? '', /PERMISSION_DENIED/);
    assert.doesNotMatch(JSON.stringify(record), /pipeline-token/);
  });

  it('gives up at once on a 4xx, and 410 disables the webhook with an audit entry', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, audit } = pipelineDeps();
    const bad = makeWebhook();
    const gone = makeWebhook();
    await webhooks.insert(bad);
    await webhooks.insert(gone);
    sender.answer(bad.id, { kind: 'response', status: 400, body: 'bad' });
    sender.answer(gone.id, { kind: 'response', status: 410, body: 'gone' });
    await processEventMessage(deps, created(), meta());
    assert.deepEqual([...deliveries.rows.values()].map((delivery) => delivery.status), ['FAILED', 'FAILED']);
    assert.equal(deliveryQueue.messages.length, 0);
    assert.equal((await webhooks.get(gone.id))?.value.status, 'DISABLED');
    assert.equal((await webhooks.get(bad.id))?.value.status, 'ACTIVE');
    assert.ok(audit.entries.some((entry) => entry.action === 'disable' && entry.webhookId === gone.id && entry.principal === 'system'));
  });

  it('re-enqueues the next step when the same message comes back after a crash between record and enqueue', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue } = pipelineDeps([0, 1000, 1000]);
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing);
    await processEventMessage(deps, created(), meta());
    const second = deliveryQueue.drain()[0]?.body as DeliveryMessage;
    const send = deliveryQueue.send.bind(deliveryQueue);
    deliveryQueue.send = () => Promise.reject(new Error('storage went away'));
    await assert.rejects(processDeliveryMessage(deps, second, 1), /storage went away/);
    assert.equal([...deliveries.rows.values()][0]?.attempts, 2, 'attempt 2 was recorded');
    deliveryQueue.send = send;
    await processDeliveryMessage(deps, second, 1);
    assert.equal(deliveryQueue.messages.length, 0, 'a plain duplicate does nothing');
    await processDeliveryMessage(deps, second, 2);
    assert.equal(sender.sent.length, 2, 'no attempt was made again');
    assert.deepEqual(deliveryQueue.drain().map((message) => message.body), [{ delivery_id: second.delivery_id, attempt: 3, schedule_index: 2 }]);
  });

  it('on a re-run of the event, re-enqueues the next step of RETRYING deliveries instead of attempting again', async () => {
    const { deps, webhooks, sender, deliveryQueue, audit, clock } = pipelineDeps();
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing);
    failAuditOnce(audit);
    await assert.rejects(processEventMessage(deps, created(), meta({ insertedAt: clock.now })));
    const first = deliveryQueue.drain();
    clock.advance(2000);
    await processEventMessage(deps, created(), meta({ dequeueCount: 2, insertedAt: clock.now - 2000 }));
    assert.equal(sender.sent.length, 1);
    assert.deepEqual(deliveryQueue.drain().map((message) => message.body), first.map((message) => message.body));
    assert.equal(audit.entries.at(-1)?.details?.replayed, true);
  });

  it('drops a stale message of a duplicate chain without sending', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue } = pipelineDeps();
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing, { kind: 'response', status: 200, body: 'OK' });
    await processEventMessage(deps, created(), meta());
    const message = deliveryQueue.drain()[0]?.body as DeliveryMessage;
    await processDeliveryMessage(deps, message);
    await processDeliveryMessage(deps, message);
    assert.equal(sender.sent.length, 2);
    assert.equal([...deliveries.rows.values()][0]?.attempts, 2);
  });

  it('stops retrying a webhook that was deleted or is no longer ACTIVE', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue } = pipelineDeps();
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    sender.answer(webhook.id, failing);
    await processEventMessage(deps, created(), meta());
    await webhooks.setStatus(webhook, 'DISABLED', 1);
    await processDeliveryMessage(deps, deliveryQueue.drain()[0]?.body as DeliveryMessage);
    const [delivery] = [...deliveries.rows.values()];
    assert.equal(delivery?.status, 'FAILED');
    assert.equal(delivery?.lastError, 'not attempted: webhook is DISABLED');
    assert.equal(sender.sent.length, 1);
  });

  it('defers attempts to a congested origin without using up an attempt', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, gate, clock } = pipelineDeps();
    const webhook = makeWebhook();
    await webhooks.insert(webhook);
    const origin = sender.destinationOf(webhook);
    const release: (() => void)[] = [];
    const stuck = Array.from({ length: 4 }, () => gate.track(origin, () => new Promise<void>((resolve) => release.push(resolve))));
    clock.advance(1001);
    await processEventMessage(deps, created(), meta());
    assert.equal(sender.sent.length, 0);
    const [delivery] = [...deliveries.rows.values()];
    assert.equal(delivery?.status, 'PENDING');
    assert.equal(delivery?.attempts, 0);
    const [deferred] = deliveryQueue.drain();
    assert.deepEqual(deferred?.body, { delivery_id: delivery?.id, attempt: 1, schedule_index: 0 });
    assert.ok((deferred?.delayMs ?? 0) >= 4000);
    for (const resolve of release) resolve();
    await Promise.all(stuck);
    await processDeliveryMessage(deps, deferred?.body);
    assert.equal(sender.sent.length, 1);
    assert.equal(deliveries.rows.get(delivery?.id ?? '')?.status, 'SUCCEEDED');
  });

  it('holds attempts to an origin whose circuit is open, using none up, and sends each once a probe gets an answer', async () => {
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000, 2000]);
    const target = (path: string) => ({ kind: 'http' as const, url: `https://dead.example/${path}`, enableSslVerification: true });
    const a = makeWebhook({ target: target('a') });
    const b = makeWebhook({ modelName: 'N', target: target('b') });
    for (const webhook of [a, b]) {
      await webhooks.insert(webhook);
      sender.answer(webhook.id, { kind: 'error', error: 'network error: ENOTFOUND', retryable: true, network: 'unreachable' });
    }
    const events = Array.from({ length: 5 }, (_, n) => created({ event_id: `evt-${n}`, version: String(n + 1) }));
    await processEventMessage(deps, { events }, meta({ id: 'five' }));
    assert.equal(sender.sent.length, 5, 'five connection failures: the circuit opens');
    await processEventMessage(deps, created({ model_name: 'N', event_id: 'evt-n' }), meta({ id: 'sixth' }));
    assert.equal(sender.sent.length, 5, 'a first attempt to the open origin is not made');
    const recordOf = (webhookId: string) => [...deliveries.rows.values()].filter((delivery) => delivery.webhookId === webhookId);
    assert.deepEqual(recordOf(b.id).map((delivery) => [delivery.status, delivery.attempts]), [['PENDING', 0]]);
    clock.advance(1000);
    for (const message of deliveryQueue.drain()) await processDeliveryMessage(deps, message.body as DeliveryMessage);
    assert.equal(sender.sent.length, 5, 'nor a retry');
    assert.deepEqual(recordOf(a.id).map((delivery) => [delivery.status, delivery.attempts]), Array.from({ length: 5 }, () => ['RETRYING', 1]));
    const waiting = deliveryQueue.drain();
    assert.equal(waiting.length, 6);
    assert.ok(waiting.every((message) => message.delayMs >= 29_000), 'each waits out the cool-down');
    for (const webhook of [a, b]) sender.answer(webhook.id, { kind: 'response', status: 200, body: 'OK' });
    clock.advance(36_000);
    await Promise.all(waiting.map((message) => processDeliveryMessage(deps, message.body as DeliveryMessage)));
    // Four of a's five are let at the gate at once (one endpoint holds half of 8 slots): one probes, three are held;
    // the fifth gets its slot after the probe's answer closed the circuit, and goes.
    assert.equal(sender.sent.length, 7, 'one probe goes; those at the gate while it is on the wire wait for its answer');
    clock.advance(6000);
    for (const message of deliveryQueue.drain()) await processDeliveryMessage(deps, message.body as DeliveryMessage);
    assert.deepEqual(recordOf(a.id).map((delivery) => [delivery.status, delivery.attempts]), Array.from({ length: 5 }, () => ['SUCCEEDED', 2]));
    assert.deepEqual(recordOf(b.id).map((delivery) => [delivery.status, delivery.attempts, delivery.history?.length]), [['SUCCEEDED', 1, 1]]);
    assert.equal(sender.sent.length, 11, 'each delivery sent once more, and only once');
    assert.equal(new Set(sender.sent.slice(5).map((sent) => sent.messageId)).size, 6);
  });
  it('an attempt held by an open circuit after its claim expired leaves alone the claim of the message now making it', async () => {
    // Two instances share the stores; instance 1 has one permit per origin and opens a circuit on one failure.
    const { deps, webhooks, sender, deliveries, deliveryQueue, clock } = pipelineDeps([0, 1000, 2000]);
    const one = { ...deps, gate: new OriginGate(clock.read, { maxConcurrency: 1, slowAfterMs: 3_600_000, circuit: { failureThreshold: 1 } }) };
    const two = { ...deps, gate: new OriginGate(clock.read, { maxConcurrency: 32 }) };
    const a = makeWebhook({ target: { kind: 'http', url: 'https://shared.example/a', enableSslVerification: true } });
    const b = makeWebhook({ modelName: 'N', target: { kind: 'http', url: 'https://shared.example/b', enableSslVerification: true } });
    for (const webhook of [a, b]) await webhooks.insert(webhook);
    sender.answer(a.id, { kind: 'response', status: 503, body: 'not yet' }, { kind: 'response', status: 200, body: 'OK' });
    await processEventMessage(one, created(), meta({ id: 'a' }));
    const retry = deliveryQueue.drain()[0]?.body as DeliveryMessage;
    // From here every send waits until the test answers it.
    const pending: ((result: AttemptResult) => void)[] = [];
    const send = sender.send.bind(sender);
    sender.send = (...args) => {
      void send(...args);
      return new Promise<AttemptResult>((resolve) => pending.push(resolve));
    };
    const blocker = processEventMessage(one, created({ model_name: 'N', event_id: 'evt-b' }), meta({ id: 'b' }));
    await sender.sends(2);
    clock.advance(1000);
    const retryClaimed = deliveries.claimWritten(retry.delivery_id, retry.attempt);
    const waiting = processDeliveryMessage(one, retry, 1);
    await retryClaimed;
    assert.equal(sender.sent.length, 2, 'the retry, claimed, waits for instance 1\'s only permit (held until the test answers)');
    clock.advance(deps.claimLeaseMs + 1000);
    const overtaking = processDeliveryMessage(two, retry, 2);
    await sender.sends(3);
    assert.equal(sender.sent.length, 3, 'its claim expired: instance 2 claims the attempt and sends it');
    pending[0]?.({ kind: 'error', error: 'network error: ECONNREFUSED', retryable: true, network: 'refused' });
    await blocker;
    await waiting;
    pending[1]?.({ kind: 'response', status: 200, body: 'OK' });
    await overtaking;
    sender.send = send;
    clock.advance(120_000);
    for (const message of deliveryQueue.drain()) await processDeliveryMessage(two, message.body as DeliveryMessage);
    const record = [...deliveries.rows.values()].find((delivery) => delivery.webhookId === a.id);
    assert.deepEqual([record?.status, record?.attempts], ['SUCCEEDED', 2], 'the answer to the attempt on the wire is recorded');
    assert.equal(sender.sent.filter((sent) => sent.webhookId === a.id).length, 2, 'the first attempt and one retry: the held attempt is not sent again');
  });
});
