import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pipelineIdle, testAzurite } from '../support/azurite.js';
import { createHook, waitForRequests } from '../support/api-helpers.js';
import { startReceiver } from '../support/receiver.js';
import { API, PUBLISHER_TOKEN, startRuntime, testEnv } from '../support/runtime-process.js';
import { mlflowDelivery, MLFLOW_TEST_PAYLOADS, type MlflowDelivery } from '../support/mlflow-sender.js';
import { asQueueMessage, cloudEventsEvent, eventGridEvent } from '../support/event-grid.js';
import { QUEUES, poisonQueueOf } from '../../src/pipeline/queues.js';
import { waitFor } from '../support/runtime-process.js';

const OLD_SECRET = 'mlflow-old-secret-0123456789';
const NEW_SECRET = 'mlflow-new-secret-9876543210';
const INGEST = '/api/ingest/mlflow';

const payloadsAt = (requests: { body: string }[]) => requests.map((request) => JSON.parse(request.body) as Record<string, unknown>);

describe('event sources, end to end on Azurite', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { MLFLOW_WEBHOOK_SECRETS: `${OLD_SECRET},${NEW_SECRET}` }));
  const send = (delivery: MlflowDelivery, headers = delivery.headers) => runtime.api('POST', INGEST, { rawBody: delivery.body, headers, token: null });

  it('MLflow: every mapped event reaches a real receiver in the Databricks format, under either rotated secret', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: receiver.url } });
    await createHook(runtime, {
      model_name: 'fraud-detector',
      events: ['MODEL_VERSION_CREATED', 'MODEL_VERSION_TAG_SET', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', 'MODEL_VERSION_TRANSITIONED_TO_STAGING'],
      http_url_spec: { url: receiver.url },
    });
    const deliveries = [
      mlflowDelivery(OLD_SECRET, 'registered_model', 'created', { name: 'fraud-detector', tags: {}, description: null }),
      mlflowDelivery(NEW_SECRET, 'model_version', 'created', { name: 'fraud-detector', version: '3', source: 'models:/m-1', run_id: null, tags: {}, description: null }),
      mlflowDelivery(OLD_SECRET, 'model_version_tag', 'set', { name: 'fraud-detector', version: '3', key: 'validated', value: 'yes' }),
      mlflowDelivery(NEW_SECRET, 'model_version_alias', 'created', { name: 'fraud-detector', alias: 'Champion', version: '3' }),
      mlflowDelivery(NEW_SECRET, 'model_version_alias', 'created', { name: 'fraud-detector', alias: 'challenger', version: '4' }, { workspace: 'default' }),
    ];
    for (const delivery of deliveries) {
      const response = await send(delivery);
      assert.equal(response.status, 200, response.text);
      const stage = delivery.body.includes('"model_version_alias"') ? [`mlflow:${delivery.deliveryId}:stage`] : [];
      assert.deepEqual(response.json, { event_ids: [`mlflow:${delivery.deliveryId}`, ...stage] });
    }
    const received = payloadsAt(await waitForRequests(receiver, 5));
    const byEvent = new Map(received.map((payload) => [payload.event, payload]));
    assert.equal(byEvent.get('REGISTERED_MODEL_CREATED')?.model_name, 'fraud-detector');
    assert.equal(byEvent.get('MODEL_VERSION_CREATED')?.version, '3');
    assert.deepEqual(byEvent.get('MODEL_VERSION_TAG_SET')?.tags, [{ key: 'validated', value: 'yes' }]);
    assert.deepEqual([byEvent.get('MODEL_VERSION_TRANSITIONED_TO_PRODUCTION')?.to_stage, byEvent.get('MODEL_VERSION_TRANSITIONED_TO_PRODUCTION')?.from_stage], ['Production', 'None']);
    assert.equal(byEvent.get('MODEL_VERSION_TRANSITIONED_TO_STAGING')?.version, '4');
    assert.match(String(byEvent.get('MODEL_VERSION_TRANSITIONED_TO_PRODUCTION')?.text), /fraud-detector/);
  });

  it('MLflow: a replayed delivery id is delivered once; ignored events and the test payloads answer 200 and publish nothing', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { model_name: 'replayed', events: ['MODEL_VERSION_CREATED', 'MODEL_VERSION_TAG_SET', 'MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: receiver.url } });
    const original = mlflowDelivery(OLD_SECRET, 'model_version', 'created', { name: 'replayed', version: '1', source: 's', run_id: null, tags: {}, description: null });
    assert.equal((await send(original)).status, 200);
    await waitForRequests(receiver, 1);
    // The first copy's fan-out has finished once its message is gone: later copies are dropped at once.
    await pipelineIdle(azurite.clients);
    const retry = mlflowDelivery(OLD_SECRET, 'model_version', 'created', { name: 'replayed', version: '1', source: 's', run_id: null, tags: {}, description: null }, { deliveryId: original.deliveryId });
    assert.deepEqual((await send(retry)).json, { event_ids: [`mlflow:${original.deliveryId}`] }, 'MLflow retries reuse the delivery id, with a fresh timestamp');
    assert.equal((await send(original)).status, 200, 'the very same request again');
    for (const [name, data] of Object.entries(MLFLOW_TEST_PAYLOADS)) {
      const [entity, action] = name.split('.');
      const response = await send(mlflowDelivery(NEW_SECRET, entity ?? '', action ?? '', data));
      assert.equal(response.status, 200, `${name}: ${response.text}`);
      assert.equal(typeof response.json.ignored, 'string', name);
    }
    const prompt = await send(mlflowDelivery(OLD_SECRET, 'prompt', 'created', { name: 'a-prompt', tags: {}, description: null }));
    assert.equal(prompt.status, 200);
    assert.match(String(prompt.json.ignored), /no registry-webhooks equivalent/);
    for (const [entity, action, data] of [
      ['model_version_alias', 'created', { name: 'replayed', alias: 'canary', version: '1' }],
      ['model_version_tag', 'deleted', { name: 'replayed', version: '1', key: 'k' }],
    ] as const) {
      const response = await send(mlflowDelivery(OLD_SECRET, entity, action, data));
      assert.equal(response.status, 200);
      assert.equal((response.json.event_ids as unknown[]).length, 1, 'published as alias-era events, to which this webhook does not subscribe');
    }
    const sentinel = mlflowDelivery(OLD_SECRET, 'model_version', 'created', { name: 'replayed', version: '2', source: 's', run_id: null, tags: {}, description: null });
    assert.equal((await send(sentinel)).status, 200);
    await waitForRequests(receiver, 2);
    await pipelineIdle(azurite.clients);
    assert.deepEqual(payloadsAt(receiver.requests).map((payload) => `${String(payload.event)} ${String(payload.version)}`).sort(), ['MODEL_VERSION_CREATED 1', 'MODEL_VERSION_CREATED 2']);
  });

  it('MLflow: a bad signature, a stale timestamp, missing headers and an unknown secret get 401 and nothing is delivered', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { model_name: 'refused', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const data = { name: 'refused', version: '1', source: 's', run_id: null, tags: {}, description: null };
    const good = mlflowDelivery(NEW_SECRET, 'model_version', 'created', data);
    const cases: [string, MlflowDelivery, Record<string, string>][] = [
      ['wrong secret', mlflowDelivery('not-a-configured-secret-000', 'model_version', 'created', data), {}],
      ['tampered body', { ...good, body: good.body.replace('"1"', '"2"') }, {}],
      ['stale timestamp', mlflowDelivery(NEW_SECRET, 'model_version', 'created', data, { timestamp: String(Math.floor(Date.now() / 1000) - 400) }), {}],
      ['future timestamp', mlflowDelivery(NEW_SECRET, 'model_version', 'created', data, { timestamp: String(Math.floor(Date.now() / 1000) + 400) }), {}],
      ['other delivery id', good, { 'x-mlflow-delivery-id': 'another-id' }],
      ['hex signature as old MLflow docs show', good, { 'x-mlflow-signature': 'sha256=00' }],
      ['a bearer token instead', good, { 'x-mlflow-signature': '', authorization: 'Bearer test-admin-token-0123456789abcdef' }],
    ];
    for (const header of ['x-mlflow-delivery-id', 'x-mlflow-timestamp', 'x-mlflow-signature']) {
      const { [header]: _dropped, ...rest } = good.headers;
      cases.push([`missing ${header}`, { ...good, headers: rest }, {}]);
    }
    for (const [name, delivery, override] of cases) {
      const headers = Object.fromEntries(Object.entries({ ...delivery.headers, ...override }).filter(([, value]) => value !== ''));
      const response = await send(delivery, headers);
      assert.equal(response.status, 401, `${name}: ${response.text}`);
      assert.equal(response.json.error_code, 'UNAUTHENTICATED', name);
    }
    // The sentinel: the good delivery, sent last, is the only one that arrives.
    assert.equal((await send(good)).status, 200);
    await waitForRequests(receiver, 1);
    await pipelineIdle(azurite.clients);
    assert.equal(receiver.requests.length, 1);
  });

  it('CloudEvents: one event and a batch are published like the JSON form; a bad type is refused', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { model_name: 'ce-model', events: ['MODEL_VERSION_CREATED', 'COMMENT_CREATED'], http_url_spec: { url: receiver.url } });
    const event = (id: string, type: string, data: Record<string, unknown>) => ({ specversion: '1.0', id, source: '/my-registry', type, time: '2025-11-29T10:00:00Z', datacontenttype: 'application/json', data });
    const single = await runtime.api('POST', `${API}/publish`, {
      rawBody: JSON.stringify(event('ce-1', 'MODEL_VERSION_CREATED', { model_name: 'ce-model', version: '7' })),
      headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
      token: PUBLISHER_TOKEN,
    });
    assert.equal(single.status, 202, single.text);
    assert.deepEqual(single.json, { event_ids: ['ce-1'] });
    const batch = await runtime.api('POST', `${API}/publish`, {
      rawBody: JSON.stringify([event('ce-2', 'COMMENT_CREATED', { model_name: 'ce-model', version: '7', comment: 'looks good' }), event('ce-3', 'MODEL_VERSION_CREATED', { model_name: 'ce-model', version: 8 })]),
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      token: PUBLISHER_TOKEN,
    });
    assert.equal(batch.status, 202, batch.text);
    assert.deepEqual(batch.json, { event_ids: ['ce-2', 'ce-3'] });
    const bad = await runtime.api('POST', `${API}/publish`, {
      rawBody: JSON.stringify(event('ce-4', 'model.registered', { model_name: 'ce-model', version: '9' })),
      headers: { 'content-type': 'application/cloudevents+json' },
      token: PUBLISHER_TOKEN,
    });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /'type'/);
    const received = payloadsAt(await waitForRequests(receiver, 3));
    assert.deepEqual(received.map((payload) => `${String(payload.event)} ${String(payload.version)}`).sort(), ['COMMENT_CREATED 7', 'MODEL_VERSION_CREATED 7', 'MODEL_VERSION_CREATED 8']);
    assert.ok(received.every((payload) => payload.event_timestamp === Date.parse('2025-11-29T10:00:00Z')));
    await pipelineIdle(azurite.clients);
    const replay = await runtime.api('POST', `${API}/publish`, {
      rawBody: JSON.stringify(event('ce-1', 'MODEL_VERSION_CREATED', { model_name: 'ce-model', version: '7' })),
      headers: { 'content-type': 'application/cloudevents+json' },
      token: PUBLISHER_TOKEN,
    });
    assert.equal(replay.status, 202);
    await pipelineIdle(azurite.clients);
    assert.equal(receiver.requests.length, 3, 'a CloudEvent id is the event_id, so a re-sent event is delivered once');
  });

  it('Azure ML: a message with a duplicate key or 60 levels of nesting is poisoned as the HTTP endpoints refuse such a body', async () => {
    const queue = azurite.clients.queue(QUEUES.azureMlEvents);
    const good = JSON.stringify(eventGridEvent('strict-azureml', '2'));
    const duplicate = good.replace('"data":{"modelName":"strict-azureml"', '"data":{"modelName":"strict-azureml","modelName":"other-azureml"');
    const deep = good.replace('"modelProperties":{}', `"modelProperties":${'['.repeat(60)}${']'.repeat(60)}`);
    for (const text of [duplicate, deep]) await queue.sendMessage(asQueueMessage(text));
    const poison = azurite.clients.queue(poisonQueueOf(QUEUES.azureMlEvents));
    const poisoned = await waitFor('two poisoned Azure ML messages', async () => {
      const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
      const texts = peekedMessageItems.map((item) => Buffer.from(item.messageText, 'base64').toString('utf8')).filter((text) => text.includes('strict-azureml'));
      return texts.length >= 2 ? texts : undefined;
    });
    assert.deepEqual([...poisoned].sort(), [duplicate, deep].sort());
    assert.match(runtime.output(), /azureml event moved to the poison queue: .*duplicate/i);
  });

  it('Azure ML: Event Grid and CloudEvents schemas, camelCase and PascalCase, string and number versions, arrive once; other types are ignored', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { events: ['REGISTERED_MODEL_CREATED', 'MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const queue = azurite.clients.queue(QUEUES.azureMlEvents);
    const real = eventGridEvent('sklearn_regression_model', '3', { id: '831e1650-001e-001b-66ab-eeb76e069631' });
    await queue.sendMessage(asQueueMessage(real));
    await queue.sendMessage(asQueueMessage([cloudEventsEvent('diabetes-model', 1, { id: 'ce-first' })]));
    await queue.sendMessage(asQueueMessage(eventGridEvent('ignored-model', '2', { eventType: 'Microsoft.MachineLearningServices.ModelDeployed' })));
    // The hook is registry-wide: count only this test's models.
    const mine = () => payloadsAt(receiver.requests).filter((payload) => ['sklearn_regression_model', 'diabetes-model', 'ignored-model'].includes(String(payload.model_name)));
    const received = await waitFor('three Azure ML deliveries', () => (mine().length >= 3 ? mine() : undefined));
    // Event Grid redelivers with the same id: once the first copy is fanned out, the copy is dropped.
    await pipelineIdle(azurite.clients, [QUEUES.azureMlEvents]);
    await queue.sendMessage(asQueueMessage(real));
    assert.deepEqual(received.map((payload) => `${String(payload.event)} ${String(payload.model_name)} ${String(payload.version)}`).sort(), [
      'MODEL_VERSION_CREATED diabetes-model 1',
      'MODEL_VERSION_CREATED sklearn_regression_model 3',
      'REGISTERED_MODEL_CREATED diabetes-model undefined',
    ]);
    assert.ok(received.every((payload) => payload.event_timestamp === Date.parse('2025-11-29T10:00:00.958Z')), 'eventTime becomes event_timestamp');
    await waitFor('the ignored type in the log', () => (/ignored an event of type Microsoft\.MachineLearningServices\.ModelDeployed/.test(runtime.output()) ? true : undefined));
    await pipelineIdle(azurite.clients, [QUEUES.azureMlEvents]);
    assert.equal(mine().length, 3, 'the repeated Event Grid id is delivered once; ModelDeployed is not delivered');
    const poison = await azurite.clients.queue(poisonQueueOf(QUEUES.azureMlEvents)).peekMessages({ numberOfMessages: 32 });
    assert.equal(poison.peekedMessageItems.filter((item) => !Buffer.from(item.messageText, 'base64').toString('utf8').includes('strict-azureml')).length, 0);
  });
});
