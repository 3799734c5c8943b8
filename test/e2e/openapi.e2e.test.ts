import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { eventJsonSchema, examplePublishBody } from '../../src/openapi/event-schemas.js';
import { EVENT_NAMES } from '../../src/webhooks/events.js';
import { waitForDeliveries, waitForRequests } from '../support/api-helpers.js';
import { testAzurite } from '../support/azurite.js';
import { answered, generatedDocument, payloadProblem } from '../support/openapi-check.js';
import { mlflowDelivery } from '../support/mlflow-sender.js';
import { startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, PUBLISHER_TOKEN, startRuntime, testEnv } from '../support/runtime-process.js';

const MLFLOW_SECRET = 'openapi-e2e-mlflow-secret';

type Paths = Record<string, Record<string, { responses: Record<string, unknown> }>>;

describe('the OpenAPI document and event schemas, served and kept true (local runtime on Azurite)', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { MLFLOW_WEBHOOK_SECRETS: MLFLOW_SECRET }));
  const receiver = await startReceiver();

  it('serves the generated document to anyone, valid, with the server it was asked from', async () => {
    const response = await runtime.api('GET', '/api/openapi.json', { token: null });
    assert.equal(response.status, 200, response.text);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(response.headers.get('cache-control') ?? '', /public/);
    assert.deepEqual(response.json, { ...generatedDocument(), servers: [{ url: runtime.baseUrl }] });
    const result = await new Validator().validate(response.json);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    // A token, even a wrong one, changes nothing: the document holds no data.
    const withToken = await runtime.api('GET', '/api/openapi.json', { token: 'not-a-token' });
    assert.equal(withToken.status, 200);
  });

  it("serves each event's payload and publish schema, and 404 for anything else", async () => {
    for (const kind of ['events', 'publish'] as const) {
      for (const event of EVENT_NAMES) {
        const response = await runtime.api('GET', `/api/schemas/${kind}/${event}.json`, { token: null });
        assert.equal(response.status, 200, response.text);
        assert.equal(response.headers.get('content-type'), 'application/schema+json');
        assert.deepEqual(response.json, eventJsonSchema(kind, event, (k, e) => `${runtime.baseUrl}/api/schemas/${k}/${e}.json`));
      }
    }
    for (const path of ['/api/schemas/events/NOT_AN_EVENT.json', '/api/schemas/events/model_version_created.json', '/api/schemas/publish/MODEL_VERSION_CREATED', '/api/schemas/other/MODEL_VERSION_CREATED.json']) {
      const response = await runtime.api('GET', path, { token: null });
      assert.equal(response.status, 404, path);
      assert.equal(response.json.error_code, 'ENDPOINT_NOT_FOUND');
    }
  });

  it('every route answers as the document states, and every payload of every event matches its schema', async () => {
    const created = await runtime.api('POST', `${API}/create`, { body: { events: [...EVENT_NAMES], http_url_spec: { url: receiver.url, secret: 'a-secret-for-openapi-e2e' } } });
    assert.equal(created.status, 200, created.text);
    const id = (created.json.webhook as { id: string }).id;
    for (const event of EVENT_NAMES) {
      const test = await runtime.api('POST', `${API}/test`, { body: { id, event } });
      assert.equal(test.status, 200, test.text);
    }
    const publish = await runtime.api('POST', `${API}/publish`, {
      token: PUBLISHER_TOKEN,
      body: { events: EVENT_NAMES.map((event, index) => ({ ...examplePublishBody(event), event_timestamp: undefined, model_name: `openapi-model-${index}`, user_id: 'someone@example.com' })) },
    });
    assert.equal(publish.status, 202, publish.text);
    const cloudEvent = await runtime.api('POST', `${API}/publish`, {
      token: PUBLISHER_TOKEN,
      rawBody: JSON.stringify({ specversion: '1.0', id: 'ce-openapi-1', source: '/tests', type: 'MODEL_VERSION_CREATED', data: { model_name: 'openapi-ce', version: '1' } }),
      headers: { 'content-type': 'application/cloudevents+json' },
    });
    assert.equal(cloudEvent.status, 202, cloudEvent.text);
    const deliveries = await waitForDeliveries(runtime, id, (list) => list.length >= EVENT_NAMES.length + 1 && list.every((delivery) => delivery.status === 'SUCCEEDED'), 60_000);
    const requests = await waitForRequests(receiver, EVENT_NAMES.length * 2 + 1);
    assert.deepEqual(requests.map((request) => payloadProblem(request.body)).filter(Boolean), []);
    assert.deepEqual(new Set(requests.map((request) => (JSON.parse(request.body) as { event: string }).event)), new Set(EVENT_NAMES));

    const detail = await runtime.api('GET', `${API}/deliveries/get?id=${deliveries[0]!.id}`);
    assert.equal(detail.status, 200, detail.text);
    assert.equal(payloadProblem(String(detail.json.payload)), undefined);
    assert.equal((await runtime.api('POST', `${API}/deliveries/redeliver`, { body: { delivery_id: deliveries[0]!.id } })).status, 200);
    assert.equal((await runtime.api('GET', `${API}/deliveries?status=SUCCEEDED&max_results=2`)).status, 200);
    assert.equal((await runtime.api('GET', `${API}/webhooks/health?id=${id}`)).status, 200);
    assert.equal((await runtime.api('GET', `${API}/deliveries/summary?hours=2&webhook_id=${id}`)).status, 200);
    assert.equal((await runtime.api('GET', `${API}/service/status`)).status, 200);
    assert.equal((await runtime.api('GET', `${API}/list?events=MODEL_VERSION_CREATED&events=COMMENT_CREATED&max_results=5`)).status, 200);
    assert.equal((await runtime.api('POST', `${API}/list`, { body: { events: ['MODEL_VERSION_CREATED'] } })).status, 200);
    assert.equal((await runtime.api('PATCH', `${API}/update`, { body: { id, description: 'every event', filter: [] } })).status, 200);
    assert.equal((await runtime.api('GET', '/api/health', { token: ADMIN_TOKEN })).status, 200);
    assert.equal((await runtime.api('GET', '/api/console/config.json', { token: null })).status, 200);
    assert.equal((await runtime.api('GET', '/.well-known/databricks-config', { token: null })).status, 200);
    const mlflow = mlflowDelivery(MLFLOW_SECRET, 'model_version', 'created', { name: 'openapi-mlflow', version: '1', source: 'runs:/r/model', run_id: 'r', tags: {} });
    assert.equal((await runtime.api('POST', '/api/ingest/mlflow', { token: null, rawBody: mlflow.body, headers: mlflow.headers })).status, 200);
    assert.equal((await runtime.api('POST', '/api/ingest/mlflow', { token: null, rawBody: mlflow.body, headers: { ...mlflow.headers, 'x-mlflow-signature': 'v1,AAAA' } })).status, 401);
    assert.equal((await runtime.api('DELETE', `${API}/delete?id=${id}`)).status, 200);
    // Errors of every kind, each checked against its status's error schema by the client's hook.
    assert.equal((await runtime.api('POST', `${API}/create`, { body: { events: [] } })).status, 400);
    assert.equal((await runtime.api('GET', `${API}/list`, { token: 'wrong-token' })).status, 401);
    assert.equal((await runtime.api('POST', `${API}/create`, { token: PUBLISHER_TOKEN, body: { events: ['MODEL_VERSION_CREATED'] } })).status, 403);
    assert.equal((await runtime.api('GET', `${API}/webhooks/health?id=${id}`)).status, 404);

    // Every documented operation answered its success status somewhere in this file.
    const unanswered = Object.entries(generatedDocument().paths as Paths).flatMap(([path, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) => {
        const success = Object.keys(operation.responses).find((status) => status.startsWith('2'));
        return answered.has(`${method.toUpperCase()} ${path} ${success}`) ? [] : [`${method.toUpperCase()} ${path} ${success}`];
      }),
    );
    assert.deepEqual(unanswered, []);
  });
});
