import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { QUEUES } from '../../src/pipeline/queues.js';
import { EVENT_NAMES } from '../../src/webhooks/events.js';
import { testAzurite } from '../support/azurite.js';
import { createHook, waitForRequests } from '../support/api-helpers.js';
import { asQueueMessage } from '../support/event-grid.js';
import { mlflowDelivery } from '../support/mlflow-sender.js';
import { startReceiver, type ReceivedRequest } from '../support/receiver.js';
import { API, PUBLISHER_TOKEN, startRuntime, testEnv } from '../support/runtime-process.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MLFLOW_SECRET = 'mlflow-alias-secret-0123456789';

/** `RegistryWebhookEvent` of databricks/sdk/service/ml.py: the names the official SDK knows, spelled as it spells them. */
const DATABRICKS_SDK_EVENTS = [
  'COMMENT_CREATED',
  'MODEL_VERSION_CREATED',
  'MODEL_VERSION_TAG_SET',
  'MODEL_VERSION_TRANSITIONED_STAGE',
  'MODEL_VERSION_TRANSITIONED_TO_ARCHIVED',
  'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION',
  'MODEL_VERSION_TRANSITIONED_TO_STAGING',
  'REGISTERED_MODEL_CREATED',
  'TRANSITION_REQUEST_CREATED',
  'TRANSITION_REQUEST_TO_ARCHIVED_CREATED',
  'TRANSITION_REQUEST_TO_PRODUCTION_CREATED',
  'TRANSITION_REQUEST_TO_STAGING_CREATED',
];

/** The payload, after checking both signatures a receiver may check. */
const verified = (request: ReceivedRequest): Record<string, unknown> => new StandardWebhook(SECRET).verify(request.body, request.headers) as Record<string, unknown>;

describe('alias-era events end to end on Azurite', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { MLFLOW_WEBHOOK_SECRETS: MLFLOW_SECRET }));

  it('a webhook on both kinds creates, lists, updates and tests cleanly, and the Databricks names are unchanged', async () => {
    assert.deepEqual([...EVENT_NAMES.slice(0, 12)].sort(), DATABRICKS_SDK_EVENTS, 'the twelve Databricks names, spelled as the SDK enum does');
    const receiver = await startReceiver();
    const events = ['MODEL_VERSION_CREATED', 'MODEL_VERSION_ALIAS_CREATED', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', 'MODEL_VERSION_TAG_DELETED'];
    const create = await runtime.api('POST', `${API}/create`, { body: { model_name: 'wire', events, status: 'TEST_MODE', http_url_spec: { url: receiver.url, secret: SECRET } } });
    assert.equal(create.status, 200, create.text);
    const webhook = create.json.webhook as Record<string, unknown>;
    assert.deepEqual(webhook.events, events);
    const list = await runtime.api('GET', `${API}/list?model_name=wire`);
    assert.deepEqual(list.json, { webhooks: [webhook] }, 'listed as created: a client that knows only the twelve sees its own names untouched');
    assert.match(list.text, /"events":\["MODEL_VERSION_CREATED","MODEL_VERSION_ALIAS_CREATED","MODEL_VERSION_TRANSITIONED_TO_PRODUCTION","MODEL_VERSION_TAG_DELETED"\]/);
    assert.equal(((await runtime.api('GET', `${API}/list?events=MODEL_VERSION_ALIAS_CREATED&model_name=wire`)).json.webhooks as unknown[]).length, 1);

    const status = await runtime.api('PATCH', `${API}/update`, { body: { id: webhook.id, status: 'ACTIVE' } });
    assert.equal(status.status, 200, status.text);
    assert.deepEqual((status.json.webhook as Record<string, unknown>).events, events, 'an update without events keeps all of them');
    const narrowed = await runtime.api('PATCH', `${API}/update`, { body: { id: webhook.id, events: ['MODEL_VERSION_ALIAS_DELETED', 'MODEL_VERSION_TRANSITIONED_STAGE'] } });
    assert.deepEqual((narrowed.json.webhook as Record<string, unknown>).events, ['MODEL_VERSION_ALIAS_DELETED', 'MODEL_VERSION_TRANSITIONED_STAGE']);
    const restored = await runtime.api('PATCH', `${API}/update`, { body: { id: webhook.id, events } });
    assert.deepEqual((restored.json.webhook as Record<string, unknown>).events, events);

    for (const event of ['MODEL_VERSION_ALIAS_CREATED', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION']) {
      const test = await runtime.api('POST', `${API}/test`, { body: { id: webhook.id, event } });
      assert.deepEqual([test.status, test.json.status_code], [200, 200], test.text);
    }
    const [aliasTest, stageTest] = (await waitForRequests(receiver, 2)).map(verified);
    assert.deepEqual([aliasTest?.event, aliasTest?.alias, aliasTest?.version, aliasTest?.previous_version], ['MODEL_VERSION_ALIAS_CREATED', 'champion', '2', '1']);
    assert.deepEqual([stageTest?.event, stageTest?.to_stage], ['MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', 'Production']);
  });

  it('publish (JSON and CloudEvents), the registry-events queue and MLflow ingest each reach a signed delivery', async () => {
    const receiver = await startReceiver();
    const id = await createHook(runtime, {
      model_name: 'fraud',
      events: ['MODEL_VERSION_ALIAS_CREATED', 'MODEL_VERSION_ALIAS_DELETED', 'MODEL_VERSION_TAG_DELETED', 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION'],
      http_url_spec: { url: receiver.url, secret: SECRET },
    });
    const published = await runtime.api('POST', `${API}/publish`, {
      body: { event: 'MODEL_VERSION_ALIAS_CREATED', model_name: 'fraud', version: '4', alias: 'champion', previous_version: '3', event_id: 'json-alias', event_timestamp: 1_700_000_000_000 },
      token: PUBLISHER_TOKEN,
    });
    assert.equal(published.status, 202, published.text);
    const cloudEvent = { specversion: '1.0', id: 'ce-untag', source: '/registry', type: 'MODEL_VERSION_TAG_DELETED', data: { model_name: 'fraud', version: '4', tags: [{ key: 'approved' }] } };
    const ce = await runtime.api('POST', `${API}/publish`, { rawBody: JSON.stringify(cloudEvent), headers: { 'content-type': 'application/cloudevents+json' }, token: PUBLISHER_TOKEN });
    assert.equal(ce.status, 202, ce.text);
    await azurite.clients.queue(QUEUES.registryEvents).sendMessage(asQueueMessage({ event: 'MODEL_VERSION_ALIAS_DELETED', model_name: 'fraud', alias: 'challenger', version: '2', event_id: 'queued-unalias' }));
    const mlflow = mlflowDelivery(MLFLOW_SECRET, 'model_version_alias', 'created', { name: 'fraud', alias: 'Champion', version: '5' });
    const ingested = await runtime.api('POST', '/api/ingest/mlflow', { rawBody: mlflow.body, headers: mlflow.headers, token: null });
    assert.deepEqual(ingested.json, { event_ids: [`mlflow:${mlflow.deliveryId}`, `mlflow:${mlflow.deliveryId}:stage`] });

    const payloads = (await waitForRequests(receiver, 5)).map(verified);
    const key = (payload: Record<string, unknown>) => `${String(payload.event)} ${String(payload.version)}`;
    const byKey = new Map(payloads.map((payload) => [key(payload), payload]));
    assert.deepEqual([...byKey.keys()].sort(), [
      'MODEL_VERSION_ALIAS_CREATED 4',
      'MODEL_VERSION_ALIAS_CREATED 5',
      'MODEL_VERSION_ALIAS_DELETED 2',
      'MODEL_VERSION_TAG_DELETED 4',
      'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION 5',
    ]);
    assert.deepEqual(byKey.get('MODEL_VERSION_ALIAS_CREATED 4'), {
      event: 'MODEL_VERSION_ALIAS_CREATED',
      webhook_id: id,
      event_timestamp: 1_700_000_000_000,
      model_name: 'fraud',
      version: '4',
      alias: 'champion',
      previous_version: '3',
      text: "Alias 'champion' of registered model 'fraud' moved from version 3 to version 4.",
    });
    assert.deepEqual(byKey.get('MODEL_VERSION_TAG_DELETED 4')?.tags, [{ key: 'approved' }]);
    assert.equal(byKey.get('MODEL_VERSION_ALIAS_DELETED 2')?.text, "Alias 'challenger' was removed from version 2 of registered model 'fraud'.");
    assert.equal(byKey.get('MODEL_VERSION_ALIAS_CREATED 5')?.alias, 'Champion');
    assert.deepEqual([byKey.get('MODEL_VERSION_TRANSITIONED_TO_PRODUCTION 5')?.to_stage, byKey.get('MODEL_VERSION_TRANSITIONED_TO_PRODUCTION 5')?.from_stage], ['Production', 'None']);

    const deleted = mlflowDelivery(MLFLOW_SECRET, 'model_version_alias', 'deleted', { name: 'fraud', alias: 'Champion' });
    assert.equal((await runtime.api('POST', '/api/ingest/mlflow', { rawBody: deleted.body, headers: deleted.headers, token: null })).status, 200);
    const [removed] = (await waitForRequests(receiver, 6)).slice(5).map(verified);
    assert.deepEqual(removed && Object.keys(removed), ['event', 'webhook_id', 'event_timestamp', 'model_name', 'alias', 'text'], 'MLflow does not say which version the alias left');
    assert.equal(removed?.text, "Alias 'Champion' was removed from registered model 'fraud'.");
  });

  it('refuses a bad alias event naming the field, and enqueues nothing', async () => {
    const bad = await runtime.api('POST', `${API}/publish`, {
      body: { events: [{ event: 'MODEL_VERSION_ALIAS_DELETED', model_name: 'fraud', alias: 'ok' }, { event: 'MODEL_VERSION_ALIAS_CREATED', model_name: 'fraud', version: '1', alias: 'not ok' }] },
      token: PUBLISHER_TOKEN,
    });
    assert.equal(bad.status, 400, bad.text);
    assert.deepEqual([bad.json.error_code, bad.json.message], ['INVALID_PARAMETER_VALUE', "Invalid parameter 'events[1].alias': must be 1 to 255 letters, digits, _ or -"]);
  });
});
