import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUEUES, poisonQueueOf } from '../../src/pipeline/queues.js';
import { pipelineIdle, queuesDrained, testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, versionCreated, waitForDeliveries, waitForRequests, type ApiDelivery } from '../support/api-helpers.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { API, MANAGER_TOKEN, PUBLISHER_TOKEN, TEAM_PUBLISHER_TOKEN, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';
import { SPECIAL_MODEL_NAMES } from '../support/fixtures.js';

const eventsAt = (receiver: Receiver) => receiver.requests.map((request) => (JSON.parse(request.body) as { event: string }).event);

describe('events: publishing, matching and the queue, end to end', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  it('matches model and registry-wide webhooks, expands stage events, and skips TEST_MODE, DISABLED and other models', async () => {
    const receivers = await Promise.all(Array.from({ length: 7 }, () => startReceiver()));
    const [generic, specific, wide, staging, testMode, disabled, otherModel] = receivers as [Receiver, Receiver, Receiver, Receiver, Receiver, Receiver, Receiver];
    const hook = (receiver: Receiver, events: string[], extra: Record<string, unknown> = {}) =>
      createHook(runtime, { model_name: 'Airline_Delay_SparkML', events, http_url_spec: { url: receiver.url }, ...extra });
    await hook(generic, ['MODEL_VERSION_TRANSITIONED_STAGE']);
    await hook(specific, ['MODEL_VERSION_TRANSITIONED_TO_PRODUCTION']);
    await createHook(runtime, { events: ['MODEL_VERSION_TRANSITIONED_STAGE', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION'], http_url_spec: { url: wide.url } });
    await hook(staging, ['MODEL_VERSION_TRANSITIONED_TO_STAGING']);
    await hook(testMode, ['MODEL_VERSION_TRANSITIONED_STAGE'], { status: 'TEST_MODE' });
    await hook(disabled, ['MODEL_VERSION_TRANSITIONED_STAGE'], { status: 'DISABLED' });
    await hook(otherModel, ['MODEL_VERSION_TRANSITIONED_STAGE'], { model_name: 'Other' });
    const transition = { model_name: 'Airline_Delay_SparkML', version: '8', from_stage: 'None' };
    await publish(runtime, [{ event: 'MODEL_VERSION_TRANSITIONED_STAGE', to_stage: 'Production', ...transition }]);
    await publish(runtime, [{ event: 'MODEL_VERSION_TRANSITIONED_TO_STAGING', ...transition }], PUBLISHER_TOKEN);
    await waitForRequests(generic, 2);
    await waitForRequests(staging, 1);
    await waitForRequests(wide, 2);
    await waitForRequests(specific, 1);
    assert.deepEqual(eventsAt(generic).sort(), ['MODEL_VERSION_TRANSITIONED_STAGE', 'MODEL_VERSION_TRANSITIONED_STAGE']);
    assert.deepEqual(eventsAt(specific), ['MODEL_VERSION_TRANSITIONED_TO_PRODUCTION']);
    assert.deepEqual(eventsAt(wide).sort(), ['MODEL_VERSION_TRANSITIONED_STAGE', 'MODEL_VERSION_TRANSITIONED_STAGE'], 'once per event, as the generic name');
    assert.deepEqual(eventsAt(staging), ['MODEL_VERSION_TRANSITIONED_TO_STAGING']);
    const toStages = generic.requests.map((request) => (JSON.parse(request.body) as { to_stage: string }).to_stage).sort();
    assert.deepEqual(toStages, ['Production', 'Staging']);
    await pipelineIdle(azurite.clients);
    assert.equal(testMode.requests.length + disabled.requests.length + otherModel.requests.length, 0);
    assert.equal(specific.requests.length, 1);
  });

  it('expands transition requests and delivers REGISTERED_MODEL_CREATED to registry-wide webhooks', async () => {
    const requests = await startReceiver();
    const created = await startReceiver();
    await createHook(runtime, { model_name: 'tr', events: ['TRANSITION_REQUEST_TO_ARCHIVED_CREATED'], http_url_spec: { url: requests.url } });
    await createHook(runtime, { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: created.url } });
    await publish(runtime, [
      { event: 'TRANSITION_REQUEST_CREATED', model_name: 'tr', version: '2', to_stage: 'Archived', from_stage: 'Production', user_id: 'someone@example.com' },
      { event: 'REGISTERED_MODEL_CREATED', model_name: 'brand-new' },
    ]);
    const [request] = await waitForRequests(requests, 1);
    const payload = JSON.parse(request?.body ?? '{}') as Record<string, unknown>;
    assert.equal(payload.event, 'TRANSITION_REQUEST_TO_ARCHIVED_CREATED');
    assert.equal(payload.text, "someone@example.com requested a transition of registered model 'tr' version 2 from Production to Archived.");
    const [model] = await waitForRequests(created, 1);
    assert.deepEqual(Object.keys(JSON.parse(model?.body ?? '{}') as object), ['event', 'webhook_id', 'event_timestamp', 'model_name', 'text']);
  });

  it('delivers events for every special model name', async () => {
    const receiver = await startReceiver();
    for (const name of SPECIAL_MODEL_NAMES) await createHook(runtime, { model_name: name, events: ['COMMENT_CREATED'], http_url_spec: { url: receiver.url } });
    await publish(runtime, SPECIAL_MODEL_NAMES.map((name) => ({ event: 'COMMENT_CREATED', model_name: name, version: '1', comment: 'hi' })));
    const received = await waitForRequests(receiver, SPECIAL_MODEL_NAMES.length);
    assert.deepEqual(received.map((request) => (JSON.parse(request.body) as { model_name: string }).model_name).sort(), [...SPECIAL_MODEL_NAMES].sort());
  });

  it('delivers an event id published twice within 24 h once', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { model_name: 'dedup', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    assert.deepEqual(await publish(runtime, [versionCreated('dedup', { event_id: 'same-id' })]), ['same-id']);
    await waitForRequests(receiver, 1);
    // Once the first copy's fan-out has finished (its message is gone), a copy is dropped at once.
    await pipelineIdle(azurite.clients);
    await publish(runtime, [versionCreated('dedup', { event_id: 'same-id' })]);
    await publish(runtime, [versionCreated('dedup', { event_id: 'sentinel' })]);
    await waitForRequests(receiver, 2);
    await pipelineIdle(azurite.clients);
    assert.equal(receiver.requests.length, 2, 'same-id once, and the sentinel');
  });

  it('delivers two models\' events that share event_id and time to a registry-wide webhook, each once under its own stable webhook-id', async () => {
    const sent = new Set<string>();
    // Each event's first attempt fails, so its retry shows whether the webhook-id holds across attempts.
    const receiver = await startReceiver({
      behaviour: (request, _n, response) => {
        const model = (JSON.parse(request.body) as { model_name: string }).model_name;
        const first = !sent.has(model);
        sent.add(model);
        response.writeHead(first ? 500 : 200).end();
      },
    });
    const hookId = await createHook(runtime, { events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const shared = { event_id: 'shared-id-X', event_timestamp: 1_700_000_000_000 };
    await publish(runtime, [versionCreated('fraud-shared', shared)], TEAM_PUBLISHER_TOKEN);
    await publish(runtime, [versionCreated('team-b-shared', shared)], PUBLISHER_TOKEN);
    const shares = (deliveries: ApiDelivery[]) => deliveries.filter((delivery) => delivery.event_id === 'shared-id-X');
    // Waits for both to succeed (before the fix, the second never was), then for nothing more to be due.
    await waitForDeliveries(runtime, hookId, (deliveries) => shares(deliveries).filter((delivery) => delivery.status === 'SUCCEEDED').length >= 2);
    await queuesDrained(azurite.clients, [QUEUES.deliveries]);
    const mine = receiver.requests.filter((request) => (JSON.parse(request.body) as { model_name: string }).model_name.endsWith('-shared'));
    const idsOf = (model: string) => mine.filter((request) => request.body.includes(`"model_name":"${model}"`)).map((request) => request.headers['webhook-id']);
    const [a, b] = [idsOf('fraud-shared'), idsOf('team-b-shared')];
    assert.equal(a.length, 2, 'the first model\'s event: a failed attempt and its retry');
    assert.equal(b.length, 2, 'the second model\'s event: a failed attempt and its retry');
    assert.equal(new Set(a).size, 1, 'one webhook-id across the first event\'s attempts');
    assert.equal(new Set(b).size, 1, 'one webhook-id across the second event\'s attempts');
    assert.notEqual(a[0], b[0]);
    const records = shares(await deliveriesOf(runtime, hookId));
    assert.deepEqual(records.map((delivery) => delivery.id).sort(), [a[0], b[0]].sort());
    assert.ok(records.every((delivery) => delivery.status === 'SUCCEEDED' && delivery.attempts === 2));
  });

  it('answers publish with event ids once queued, and validates every event first', async () => {
    const single = await runtime.api('POST', `${API}/publish`, { body: versionCreated('p'), token: PUBLISHER_TOKEN });
    assert.equal(single.status, 202);
    assert.match((single.json.event_ids as string[])[0] ?? '', /^[0-9a-f-]{36}:0$/, 'the queue message id and the index');
    const repeated = await runtime.api('POST', `${API}/publish`, { body: { events: [versionCreated('p', { event_id: 'a' }), versionCreated('p', { event_id: 'a' })] } });
    assert.equal(repeated.status, 400);
    assert.match(String(repeated.json.message), /'events\[1\]\.event_id': repeats/);
    const tooMany = await runtime.api('POST', `${API}/publish`, { body: { events: Array.from({ length: 101 }, () => versionCreated('p')) } });
    assert.equal(tooMany.status, 400);
    assert.match(String(tooMany.json.message), /at most 100/);
    const missing = await runtime.api('POST', `${API}/publish`, { body: { events: [versionCreated('p'), { event: 'MODEL_VERSION_TAG_SET', model_name: 'p', version: '1' }] } });
    assert.equal(missing.status, 400);
    assert.match(String(missing.json.message), /'events\[1\]\.tags'/);
    const huge = await runtime.api('POST', `${API}/publish`, { body: { event: 'MODEL_VERSION_TAG_SET', model_name: 'p', version: '1', tags: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(5000) })) } });
    assert.equal(huge.status, 400);
    assert.match(String(huge.json.message), /payload would be \d+ bytes; at most 32768/);
    assert.equal((await runtime.api('POST', `${API}/publish`, { body: versionCreated('p'), token: MANAGER_TOKEN })).status, 403);
  });

  it('delivers a message a producer wrote straight onto registry-events, base64 as the host expects', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { model_name: 'direct', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const queue = azurite.clients.queue(QUEUES.registryEvents);
    await queue.sendMessage(Buffer.from(JSON.stringify(versionCreated('direct', { event_id: 'from-queue' }))).toString('base64'));
    await queue.sendMessage(Buffer.from(JSON.stringify({ events: [versionCreated('direct', { event_id: 'batch-1' }), versionCreated('direct', { event_id: 'batch-2' })] })).toString('base64'));
    await waitForRequests(receiver, 3);
  });

  it('sends bad queue messages to the poison queue with a logged reason, and keeps working', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { model_name: 'after-poison', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const queue = azurite.clients.queue(QUEUES.registryEvents);
    const bad = [
      Buffer.from('this is not json').toString('base64'),
      Buffer.from('{"event":"UNKNOWN_EVENT","model_name":"m"}').toString('base64'),
      Buffer.from('{"event":"MODEL_VERSION_CREATED","model_name":"m"}').toString('base64'),
      '{"raw":"json that is not base64"}',
    ];
    for (const message of bad) await queue.sendMessage(message);
    await publish(runtime, [versionCreated('after-poison')]);
    await waitForRequests(receiver, 1);
    const poison = azurite.clients.queue(poisonQueueOf(QUEUES.registryEvents));
    const poisoned = await waitFor('four poison messages', async () => {
      const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
      return peekedMessageItems.length >= 4 ? peekedMessageItems.map((message) => message.messageText) : undefined;
    });
    assert.deepEqual([...poisoned].sort(), [...bad].sort());
    assert.match(runtime.output(), /poison queue: .*not JSON/);
    assert.match(runtime.output(), /poison queue: .*'event'/);
    assert.match(runtime.output(), /Missing required parameter 'version'/);
    assert.match(runtime.output(), /Message decoding has failed/);
    assert.equal((await runtime.api('GET', '/api/health', { token: null })).status, 200);
  });
});
