import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHook } from '../support/api-helpers.js';
import { testAzurite } from '../support/azurite.js';
import { startReceiver } from '../support/receiver.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';

/**
 * The fields databricks-sdk-py reads (databricks/sdk/service/ml.py: RegistryWebhook.from_dict,
 * HttpUrlSpecWithoutSecret, ListRegistryWebhooks, UpdateWebhookResponse, TestRegistryWebhookResponse) and the
 * request shapes it sends (CreateRegistryWebhook / UpdateRegistryWebhook bodies from HttpUrlSpec.as_dict, the list
 * query with `events` repeated, `Accept: application/json`).
 */
const SDK_WEBHOOK_FIELDS = ['creation_timestamp', 'description', 'events', 'http_url_spec', 'id', 'job_spec', 'last_updated_timestamp', 'model_name', 'status'];
const SDK_HTTP_URL_SPEC_FIELDS = ['enable_ssl_verification', 'url'];
const sdkHeaders = { accept: 'application/json', 'content-type': 'application/json' };

describe("the official Python SDK's wire format, with and without the routing fields", async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  it('a webhook with the Databricks fields alone creates, lists, updates and tests exactly as the SDK reads it', async () => {
    const receiver = await startReceiver();
    // w.model_registry.create_webhook(events=[...], model_name=..., description=..., status=..., http_url_spec=HttpUrlSpec(url, secret, authorization))
    const created = await runtime.api('POST', `${API}/create`, {
      headers: sdkHeaders,
      body: {
        description: 'sdk hook',
        events: ['MODEL_VERSION_CREATED', 'COMMENT_CREATED'],
        http_url_spec: { authorization: 'Bearer sdk-receiver-token', enable_ssl_verification: true, secret: 'sdk-signing-secret', url: receiver.url },
        model_name: 'sdk-model',
        status: 'ACTIVE',
      },
    });
    assert.equal(created.status, 200, created.text);
    const webhook = created.json.webhook as Record<string, unknown>;
    assert.deepEqual(Object.keys(created.json), ['webhook']);
    assert.deepEqual(Object.keys(webhook).sort(), SDK_WEBHOOK_FIELDS.filter((field) => field !== 'job_spec'));
    assert.deepEqual(Object.keys(webhook.http_url_spec as object).sort(), SDK_HTTP_URL_SPEC_FIELDS);

    // w.model_registry.list_webhooks(events=[...], model_name=..., max_results=...): events repeated in the query.
    const listed = await runtime.api('GET', `${API}/list?events=MODEL_VERSION_CREATED&events=COMMENT_CREATED&max_results=10&model_name=sdk-model`, { headers: { accept: 'application/json' } });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(Object.keys(listed.json), ['webhooks'], 'no next_page_token on the last page');
    assert.deepEqual((listed.json.webhooks as unknown[])[0], webhook);

    // w.model_registry.update_webhook(id=..., description=..., http_url_spec=HttpUrlSpec(url=..., authorization=...), status=...):
    // a new path is a new receiver as far as the stored authorization goes, so it is sent again (docs/security.md).
    const updated = await runtime.api('PATCH', `${API}/update`, {
      headers: sdkHeaders,
      body: {
        description: 'sdk hook, edited',
        http_url_spec: { authorization: 'Bearer sdk-receiver-token', enable_ssl_verification: true, url: `${receiver.url}/v2` },
        id: webhook.id,
        status: 'ACTIVE',
      },
    });
    assert.equal(updated.status, 200, updated.text);
    assert.deepEqual(Object.keys(updated.json), ['webhook']);
    const after = updated.json.webhook as Record<string, unknown>;
    assert.deepEqual(Object.keys(after).sort(), Object.keys(webhook).sort());
    assert.deepEqual(after.http_url_spec, { url: `${receiver.url}/v2`, enable_ssl_verification: true });

    // w.model_registry.test_registry_webhook(id=..., event=...): TestRegistryWebhookResponse(body, status_code).
    const tested = await runtime.api('POST', `${API}/test`, { headers: sdkHeaders, body: { event: 'COMMENT_CREATED', id: webhook.id } });
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.json.status_code, 200);
    assert.equal(tested.json.body, 'OK');
    const [request] = receiver.requests;
    assert.equal(request?.headers['content-type'], 'application/json', 'the Databricks payload, as before');
    assert.equal(request?.headers.authorization, 'Bearer sdk-receiver-token');
    assert.deepEqual(Object.keys(JSON.parse(request?.body ?? '{}') as object), ['event', 'webhook_id', 'event_timestamp', 'model_name', 'version', 'comment', 'text']);
  });

  it('the SDK keeps working on a webhook with routing fields: it reads the fields it knows, and its updates keep the others', async () => {
    const receiver = await startReceiver();
    const id = await createHook(runtime, {
      model_name: 'sdk-routed',
      events: ['MODEL_VERSION_TRANSITIONED_STAGE'],
      http_url_spec: { url: receiver.url, format: 'cloudevents', max_requests_per_second: 5, authorization: 'Bearer routed' },
      filter: [{ field: 'to_stage', op: 'in', values: ['Production'] }],
    });
    const listed = await runtime.api('GET', `${API}/list?model_name=sdk-routed`, { headers: { accept: 'application/json' } });
    const webhook = (listed.json.webhooks as Record<string, unknown>[])[0] ?? {};
    // RegistryWebhook.from_dict reads these and ignores the rest.
    const known = Object.fromEntries(SDK_WEBHOOK_FIELDS.filter((field) => field in webhook).map((field) => [field, webhook[field]]));
    assert.equal(known.id, id);
    assert.equal((known.http_url_spec as { url: string }).url, receiver.url);
    assert.equal((known.http_url_spec as { enable_ssl_verification: boolean }).enable_ssl_verification, true);

    const updated = await runtime.api('PATCH', `${API}/update`, { headers: sdkHeaders, body: { description: 'edited by the SDK', http_url_spec: { url: receiver.url }, id } });
    assert.equal(updated.status, 200, updated.text);
    const after = updated.json.webhook as Record<string, unknown>;
    assert.deepEqual(after.http_url_spec, { url: receiver.url, enable_ssl_verification: true, format: 'cloudevents', max_requests_per_second: 5 });
    assert.deepEqual(after.filter, [{ field: 'to_stage', op: 'in', values: ['Production'] }]);
    const tested = await runtime.api('POST', `${API}/test`, { headers: sdkHeaders, body: { id } });
    assert.equal(tested.json.status_code, 200);
    assert.equal(receiver.requests[0]?.headers.authorization, 'Bearer routed', 'the credential stayed');
  });
});
