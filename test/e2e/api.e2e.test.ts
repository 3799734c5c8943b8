import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TABLES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { SPECIAL_MODEL_NAMES } from '../support/fixtures.js';
import { startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, MANAGER_TOKEN, PUBLISHER_TOKEN, startRuntime, testEnv, type ApiResponse } from '../support/runtime-process.js';
import { allStoredText, snapshotStorage } from '../support/storage-snapshot.js';

const SECRET = 'anyRandomString-e2e-secret';
const AUTHORIZATION = 'Bearer AbcdEfg1294-e2e-authorization';

const assertError = (response: ApiResponse, status: number, code: string, message?: RegExp) => {
  assert.equal(response.status, status, response.text);
  assert.equal(response.json.error_code, code, response.text);
  assert.equal(typeof response.json.message, 'string');
  if (message) assert.match(String(response.json.message), message);
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
};

describe('webhook API end to end (local runtime on Azurite)', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));
  const receiver = await startReceiver();

  it('answers health without credentials', async () => {
    const response = await runtime.api('GET', '/api/health', { token: null });
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, { status: 'ok', unreadable_webhooks: 0 });
  });

  it("runs the reference doc's create, list, test, update, delete cycle", async () => {
    const create = await runtime.api('POST', `${API}/create`, {
      rawBody: JSON.stringify({
        model_name: 'Airline_Delay_SparkML',
        events: ['MODEL_VERSION_CREATED'],
        description: 'Slack notifications',
        status: 'TEST_MODE',
        http_url_spec: { url: receiver.url, secret: SECRET, authorization: AUTHORIZATION },
      }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(create.status, 200, create.text);
    const webhook = create.json.webhook as Record<string, unknown>;
    assert.match(String(webhook.id), /^[0-9a-f]{32}$/);
    assert.equal(typeof webhook.creation_timestamp, 'number');
    assert.deepEqual(webhook.http_url_spec, { url: receiver.url, enable_ssl_verification: true });
    assert.ok(!create.text.includes(SECRET) && !create.text.includes(AUTHORIZATION));

    const list = await runtime.api('GET', `${API}/list?model_name=Airline_Delay_SparkML`);
    assert.deepEqual(list.json, { webhooks: [webhook] });

    const test = await runtime.api('POST', `${API}/test`, { body: { id: webhook.id } });
    assert.equal(test.status, 200, test.text);
    assert.deepEqual(test.json, { status_code: 200, status: 200, body: 'OK' });
    assert.equal(receiver.requests.length, 1);
    assert.equal(receiver.requests[0]?.headers.authorization, AUTHORIZATION);

    const update = await runtime.api('PATCH', `${API}/update`, { body: { id: webhook.id, status: 'ACTIVE' } });
    assert.equal(update.status, 200, update.text);
    assert.equal((update.json.webhook as Record<string, unknown>).status, 'ACTIVE');

    const deleted = await runtime.api('DELETE', `${API}/delete`, { body: { id: webhook.id } });
    assert.deepEqual([deleted.status, deleted.json], [200, {}]);
    assert.deepEqual((await runtime.api('GET', `${API}/list?model_name=Airline_Delay_SparkML`)).json, {});
  });

  it('takes list and delete parameters from the query string too, and events repeated or as a comma list', async () => {
    const made = await runtime.api('POST', `${API}/create`, { body: { model_name: 'q', events: ['COMMENT_CREATED'], http_url_spec: { url: receiver.url } } });
    const id = String((made.json.webhook as Record<string, unknown>).id);
    assert.equal(((await runtime.api('GET', `${API}/list?events=COMMENT_CREATED&events=MODEL_VERSION_TAG_SET`)).json.webhooks as unknown[]).length >= 1, true);
    assert.equal(((await runtime.api('GET', `${API}/list?events=MODEL_VERSION_TAG_SET,COMMENT_CREATED&model_name=q`)).json.webhooks as unknown[]).length, 1);
    assert.equal(((await runtime.api('POST', `${API}/list`, { body: { model_name: 'q' } })).json.webhooks as unknown[]).length, 1);
    assert.equal((await runtime.api('DELETE', `${API}/delete?id=${id}`)).status, 200);
  });

  it('refuses a GET list that carries a body, which the Functions host would drop, instead of ignoring it', async () => {
    const response = await runtime.api('GET', `${API}/list`, { rawBody: '{"model_name":"x"}' }).catch(async () =>
      // fetch refuses GET bodies; send it as curl does.
      rawRequest(runtime.baseUrl, 'GET', `${API}/list`, '{"model_name":"x"}'),
    );
    assertError(response, 400, 'MALFORMED_REQUEST', /query string/);
  });

  it('answers every error code in the Databricks format', async () => {
    assertError(await runtime.api('POST', `${API}/create`, { rawBody: '{"events": [' }), 400, 'MALFORMED_REQUEST', /not valid JSON/);
    assertError(await runtime.api('POST', `${API}/create`, { rawBody: Buffer.from([0x7b, 0xff, 0x7d]) }), 400, 'MALFORMED_REQUEST', /UTF-8/);
    assertError(await runtime.api('POST', `${API}/create`, { body: { events: ['NOPE'], http_url_spec: { url: receiver.url } } }), 400, 'INVALID_PARAMETER_VALUE', /'events\[0\]'/);
    assertError(await runtime.api('POST', `${API}/create`, { body: { events: ['COMMENT_CREATED'] } }), 400, 'INVALID_PARAMETER_VALUE', /Exactly one of/);
    assertError(await runtime.api('GET', `${API}/list?page_token=bogus`), 400, 'INVALID_PARAMETER_VALUE', /page_token/);
    assertError(await runtime.api('GET', `${API}/list`, { token: null }), 401, 'UNAUTHENTICATED', /Missing credentials/);
    assertError(await runtime.api('GET', `${API}/list`, { token: 'not-a-real-token-123456' }), 401, 'UNAUTHENTICATED', /not valid/);
    assertError(await runtime.api('POST', `${API}/create`, { token: PUBLISHER_TOKEN, body: {} }), 403, 'PERMISSION_DENIED');
    const registryWide = await runtime.api('POST', `${API}/create`, { body: { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: receiver.url } } });
    assert.equal(registryWide.status, 200, registryWide.text);
    const managerList = await runtime.api('GET', `${API}/list`, { token: MANAGER_TOKEN });
    assert.equal(managerList.status, 200, 'a manager lists model webhooks without model_name');
    const listed = (managerList.json.webhooks ?? []) as Record<string, unknown>[];
    assert.ok(listed.every((webhook) => typeof webhook.model_name === 'string'), 'never a registry-wide webhook');
    assert.ok(!listed.some((webhook) => webhook.id === (registryWide.json.webhook as Record<string, unknown>).id));
    await runtime.api('DELETE', `${API}/delete?id=${String((registryWide.json.webhook as Record<string, unknown>).id)}`);
    assertError(await runtime.api('POST', `${API}/create`, { token: MANAGER_TOKEN, body: { events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: receiver.url } } }), 403, 'PERMISSION_DENIED');
    assertError(await runtime.api('PATCH', `${API}/update`, { body: { id: 'a'.repeat(32), status: 'ACTIVE' } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    assertError(await runtime.api('DELETE', `${API}/delete?id=1234567890`), 404, 'RESOURCE_DOES_NOT_EXIST');
    assertError(await runtime.api('POST', `${API}/test`, { body: { id: 'b'.repeat(32) } }), 404, 'RESOURCE_DOES_NOT_EXIST');
    assertError(await runtime.api('GET', '/api/2.0/mlflow/registry-webhooks/nope'), 404, 'ENDPOINT_NOT_FOUND');
    assertError(await runtime.api('GET', '/api/2.1/jobs/list'), 404, 'ENDPOINT_NOT_FOUND');
    const wrongMethod = await runtime.api('GET', `${API}/create`);
    assertError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    assertError(await runtime.api('PUT', `${API}/update`, { body: {} }), 405, 'METHOD_NOT_ALLOWED');
    const huge = JSON.stringify({ events: ['COMMENT_CREATED'], description: 'x'.repeat(1024 * 1024) });
    assertError(await runtime.api('POST', `${API}/create`, { rawBody: huge }), 413, 'REQUEST_TOO_LARGE');
  });

  it('answers REQUEST_LIMIT_EXCEEDED with Retry-After past the rate limit', async () => {
    const limited = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_RATE_LIMIT: '3/1m' }));
    const statuses: number[] = [];
    let last: ApiResponse | undefined;
    for (let index = 0; index < 5; index += 1) {
      last = await limited.api('GET', `${API}/list?model_name=x`, { token: MANAGER_TOKEN });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assertError(last!, 429, 'REQUEST_LIMIT_EXCEEDED');
    assert.ok(Number(last!.headers.get('retry-after')) >= 1);
    assert.equal((await limited.api('GET', `${API}/list?model_name=x`, { token: ADMIN_TOKEN })).status, 200, 'the limit is per principal');
    await limited.stop();
  });

  it('works with every special model name: create, filter, update, delete', async () => {
    for (const name of SPECIAL_MODEL_NAMES) {
      const created = await runtime.api('POST', `${API}/create`, { body: { model_name: name, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } } });
      assert.equal(created.status, 200, `${name}: ${created.text}`);
      const id = String((created.json.webhook as Record<string, unknown>).id);
      const listed = await runtime.api('GET', `${API}/list?model_name=${encodeURIComponent(name)}`);
      assert.deepEqual((listed.json.webhooks as Record<string, unknown>[]).map((webhook) => [webhook.id, webhook.model_name]), [[id, name]], name);
      const updated = await runtime.api('PATCH', `${API}/update`, { body: { id, description: name } });
      assert.equal((updated.json.webhook as Record<string, unknown>).model_name, name);
      assert.equal((await runtime.api('DELETE', `${API}/delete`, { body: { id } })).status, 200);
    }
  });

  it('pages through more webhooks than a page', async () => {
    const ids = new Set<string>();
    for (let index = 0; index < 23; index += 1) {
      const created = await runtime.api('POST', `${API}/create`, { body: { model_name: 'paged', events: ['COMMENT_CREATED'], http_url_spec: { url: receiver.url } } });
      ids.add(String((created.json.webhook as Record<string, unknown>).id));
    }
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await runtime.api('GET', `${API}/list?model_name=paged&max_results=10${token ? `&page_token=${token}` : ''}`, { token: MANAGER_TOKEN });
      seen.push(...((page.json.webhooks as Record<string, unknown>[] | undefined) ?? []).map((webhook) => String(webhook.id)));
      token = page.json.next_page_token as string | undefined;
      pages += 1;
    } while (token);
    assert.equal(pages, 3);
    assert.equal(seen.length, 23);
    assert.deepEqual(new Set(seen), ids);
  });

  it('keeps no secret in plaintext in any stored entity or queue message', async () => {
    await runtime.api('POST', `${API}/create`, { body: { model_name: 'secrets', events: ['COMMENT_CREATED'], http_url_spec: { url: receiver.url, secret: SECRET, authorization: AUTHORIZATION } } });
    await runtime.api('POST', `${API}/create`, { body: { model_name: 'secrets', events: ['COMMENT_CREATED'], job_spec: { job_id: '1', access_token: 'dapi-e2e-access-token', workspace_url: receiver.url.replace('/hook', '') } } });
    const stored = await allStoredText(azurite.clients);
    assert.ok(stored.includes('secrets'), 'the webhooks are there');
    for (const secret of [SECRET, AUTHORIZATION, 'AbcdEfg1294', 'dapi-e2e-access-token']) assert.ok(!stored.includes(secret), secret);
    let audits = 0;
    for await (const entry of azurite.clients.table(TABLES.audit).listEntities()) {
      audits += 1;
      assert.ok(!JSON.stringify(entry).includes(SECRET) && !JSON.stringify(entry).includes('dapi-e2e'));
    }
    assert.ok(audits > 0);
  });

  it('changes nothing when it refuses a request', async () => {
    const before = await snapshotStorage(azurite.clients);
    const made = await runtime.api('GET', `${API}/list?model_name=secrets`);
    const id = String(((made.json.webhooks as Record<string, unknown>[])[0] ?? {}).id);
    const refused = [
      await runtime.api('POST', `${API}/create`, { body: { model_name: 'x', events: ['REGISTERED_MODEL_CREATED'], http_url_spec: { url: receiver.url } } }),
      await runtime.api('POST', `${API}/create`, { body: { model_name: 'x', events: ['COMMENT_CREATED'], http_url_spec: { url: 'ftp://x' } } }),
      await runtime.api('PATCH', `${API}/update`, { body: { id, events: [] } }),
      await runtime.api('PATCH', `${API}/update`, { body: { id, http_url_spec: { url: 'https://x.example' }, job_spec: { job_id: '1' } } }),
      await runtime.api('PATCH', `${API}/update`, { token: PUBLISHER_TOKEN, body: { id, status: 'DISABLED' } }),
      await runtime.api('DELETE', `${API}/delete`, { token: PUBLISHER_TOKEN, body: { id } }),
      await runtime.api('POST', `${API}/publish`, { body: { events: [{ event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '1' }, { event: 'NOPE', model_name: 'm' }] } }),
    ];
    for (const response of refused) assert.ok(response.status >= 400 && response.status < 500, response.text);
    assert.equal(await snapshotStorage(azurite.clients), before);
  });

  it('answers 404, never 500, to PATCHes and DELETEs racing a delete', async () => {
    const receiver = await startReceiver();
    const statuses: number[] = [];
    for (let round = 0; round < 8; round += 1) {
      const created = await runtime.api('POST', `${API}/create`, { body: { model_name: 'racing', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } } });
      const id = (created.json.webhook as { id: string }).id;
      const calls = await Promise.all([
        runtime.api('DELETE', `${API}/delete`, { body: { id } }),
        ...Array.from({ length: 3 }, (_, n) => runtime.api('PATCH', `${API}/update`, { body: { id, description: `race ${n}` } })),
        runtime.api('DELETE', `${API}/delete`, { body: { id } }),
      ]);
      statuses.push(...calls.map((call) => call.status));
      assert.ok(calls.every((call) => call.status === 200 || (call.status === 404 && call.json.error_code === 'RESOURCE_DOES_NOT_EXIST')), calls.map((call) => `${call.status} ${JSON.stringify(call.json)}`).join('; '));
      assert.equal((await runtime.api('GET', `${API}/list?model_name=racing`)).json.webhooks, undefined, 'gone in the end');
    }
    assert.ok(statuses.includes(404), 'some calls lost the race');
  });

  it('answers 503 from health when storage is down', async () => {
    const own = await testAzurite();
    const local = await startRuntime(testEnv(own.connectionString));
    assert.equal((await local.api('GET', '/api/health', { token: null })).status, 200);
    await own.stop();
    const down = await local.api('GET', '/api/health', { token: null });
    assertError(down, 503, 'TEMPORARILY_UNAVAILABLE');
    await local.stop();
  });
});

/** A request with a body on any method, as curl -X GET -d sends it (fetch refuses GET bodies). */
async function rawRequest(baseUrl: string, method: string, path: string, body: string): Promise<ApiResponse> {
  const { request } = await import('undici');
  const response = await request(`${baseUrl}${path}`, { method: method as 'GET', body, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' } });
  const text = await response.body.text();
  const headers = new Headers();
  for (const [name, value] of Object.entries(response.headers)) if (typeof value === 'string') headers.set(name, value);
  return { status: response.statusCode, headers, text, json: JSON.parse(text) as Record<string, unknown> };
}
