import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, versionCreated, waitForDeliveries, waitForRequests } from '../support/api-helpers.js';
import { startReceiver, type Behaviour } from '../support/receiver.js';
import { API, MANAGER_TOKEN, PUBLISHER_TOKEN, TEAM_MANAGER_TOKEN, startRuntime, testEnv } from '../support/runtime-process.js';

const SECRET = 'detail-secret-4f1c9a';
const AUTHORIZATION = 'Bearer detail-token-77e2';

/** Two 503s whose long bodies echo the secrets (and end in multi-byte characters past 1 KiB), then a 200. */
const echoingThenOk: Behaviour = (request, n, response) => {
  if (n > 2) {
    response.writeHead(200).end('accepted');
    return;
  }
  response.writeHead(503).end(`busy; you sent ${SECRET} and ${request.headers.authorization ?? ''} ${'é'.repeat(2000)}`);
};

describe('Delivery detail end to end', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  it('keeps each attempt with its time, duration, status, error and a redacted 1 KiB response snippet, and the payload', async () => {
    const receiver = await startReceiver({ behaviour: echoingThenOk });
    const id = await createHook(runtime, { model_name: 'detail-model', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, secret: SECRET, authorization: AUTHORIZATION } });
    const before = Date.now();
    await publish(runtime, [versionCreated('detail-model')], PUBLISHER_TOKEN);
    const requests = await waitForRequests(receiver, 3);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.ok(delivery);
    const detail = await runtime.api('GET', `${API}/deliveries/get?id=${delivery.id}`, { token: MANAGER_TOKEN });
    assert.equal(detail.status, 200);
    const body = detail.json as { id: string; status: string; attempt_count: number; payload: string; attempts: Record<string, unknown>[] };
    assert.equal(body.id, delivery.id);
    assert.equal(body.status, 'SUCCEEDED');
    assert.equal(body.attempt_count, 3);
    assert.equal(body.payload, requests[0]?.body);
    assert.deepEqual(body.attempts.map((attempt) => [attempt.attempt, attempt.status_code]), [[1, 503], [2, 503], [3, 200]]);
    for (const attempt of body.attempts) {
      assert.equal(typeof attempt.timestamp, 'number');
      assert.ok((attempt.timestamp as number) >= before - 1000);
      assert.equal(typeof attempt.duration_ms, 'number');
    }
    const [first, , last] = body.attempts;
    assert.match(String(first?.error), /503/);
    const snippet = String(first?.response_snippet);
    assert.ok(snippet.startsWith('busy; you sent [REDACTED] and [REDACTED]'), snippet.slice(0, 80));
    assert.ok(Buffer.byteLength(snippet, 'utf8') <= 1024 && Buffer.byteLength(snippet, 'utf8') > 1000);
    assert.ok(!snippet.includes('\ufffd'), 'cut on a character boundary');
    assert.equal(last?.error, undefined);
    assert.equal(last?.response_snippet, 'accepted');
    const text = JSON.stringify(detail.json);
    assert.ok(!text.includes(SECRET) && !text.includes('detail-token-77e2'));
  });

  it('lets an admin read the log of a deleted webhook, not a manager; refuses bad ids', async () => {
    const receiver = await startReceiver();
    const id = await createHook(runtime, { model_name: 'detail-deleted', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    await publish(runtime, [versionCreated('detail-deleted')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.ok(delivery);
    assert.equal((await runtime.api('GET', `${API}/deliveries/get?id=${delivery.id}`, { token: TEAM_MANAGER_TOKEN })).status, 403, "another model's");
    assert.equal((await runtime.api('GET', `${API}/deliveries/get?id=${delivery.id}`, { token: MANAGER_TOKEN })).status, 200);
    assert.equal((await runtime.api('DELETE', `${API}/delete`, { body: { id } })).status, 200);
    const detail = await runtime.api('GET', `${API}/deliveries/get?id=${delivery.id}`);
    assert.equal(detail.status, 200);
    assert.equal((detail.json as { attempts: unknown[] }).attempts.length, 1);
    const list = await runtime.api('GET', `${API}/deliveries?webhook_id=${id}`);
    assert.equal(list.status, 200);
    assert.equal((list.json as { deliveries: { id: string }[] }).deliveries[0]?.id, delivery.id);
    assert.equal((await runtime.api('GET', `${API}/deliveries/get?id=${delivery.id}`, { token: MANAGER_TOKEN })).status, 404);
    assert.equal((await runtime.api('GET', `${API}/deliveries?webhook_id=${id}`, { token: MANAGER_TOKEN })).status, 404);
    assert.equal((await runtime.api('GET', `${API}/deliveries/get?id=${delivery.id}`, { token: PUBLISHER_TOKEN })).status, 403);

    const missing = await runtime.api('GET', `${API}/deliveries/get`);
    assert.equal(missing.status, 400);
    assert.match(JSON.stringify(missing.json), /INVALID_PARAMETER_VALUE|MALFORMED_REQUEST/);
    assert.match(JSON.stringify(missing.json), /'id'|id/);
    const malformed = await runtime.api('GET', `${API}/deliveries/get?id=nope`);
    assert.equal(malformed.status, 400);
    assert.match(JSON.stringify(malformed.json), /Invalid parameter 'id'/);
    const unknown = await runtime.api('GET', `${API}/deliveries/get?id=${id}_9999999999999_0123456789abcdef`);
    assert.equal(unknown.status, 404);
    assert.equal((await runtime.api('GET', `${API}/deliveries/get?id=${delivery.id}&extra=1`)).status, 400);
  });
});
