import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { functionTable, registeredRoute, type HttpFunction } from '../../src/functions/function-table.js';
import { parseRouteTemplate, samplePath } from '../../src/local/route-template.js';
import { poisonQueueOf, QUEUES } from '../../src/pipeline/queues.js';
import { testAzurite } from '../support/azurite.js';
import { request as httpRequest } from 'node:http';
import { ADMIN_TOKEN, API, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

const UNRESOLVED = '@Microsoft.KeyVault(SecretUri=https://example-vault.vault.azure.net/secrets/webhooks-secret-key/)';

describe('local runtime as the Functions host: a setting Azure could not resolve', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_SECRET_KEY: UNRESOLVED }));

  it('starts, registers every function, and /api/health answers 503 naming the setting', async () => {
    const health = await runtime.api('GET', '/api/health', { token: null });
    assert.equal(health.status, 503, health.text);
    assert.equal(health.json.error_code, 'TEMPORARILY_UNAVAILABLE');
    assert.match(String(health.json.message), /WEBHOOKS_SECRET_KEY/);
    assert.doesNotMatch(health.text, /example-vault/);
    assert.ok(health.headers.get('retry-after'));
    assert.match(runtime.output(), /CONFIGURATION ERROR in WEBHOOKS_SECRET_KEY/);
  });

  it('every HTTP function of the table answers 503 naming the setting', async () => {
    const table = functionTable(() => Promise.reject(new Error('not used'))).filter((fn): fn is HttpFunction => fn.kind === 'http');
    for (const fn of table) {
      const method = fn.methods[0] ?? 'GET';
      const response = await runtime.api(method, samplePath(parseRouteTemplate(registeredRoute(fn))), method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? {} : { body: {} });
      assert.equal(response.status, 503, `${fn.name}: ${response.text}`);
      if (method !== 'HEAD') assert.match(String(response.json.message), /WEBHOOKS_SECRET_KEY/, fn.name);
    }
  });

  it('a queue message is failed (retried later, never completed) and the setting is logged as an error', async () => {
    const queue = azurite.clients.queue(QUEUES.registryEvents);
    await queue.sendMessage(Buffer.from(JSON.stringify({ event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '1' })).toString('base64'));
    await waitFor('the failed invocation', () => (/registry-events: CONFIGURATION ERROR in WEBHOOKS_SECRET_KEY/.test(runtime.output()) ? true : undefined));
    await waitFor('the failure to be recorded', () => (/Executed 'registry-events' \(Failed/.test(runtime.output()) ? true : undefined));
    const properties = await queue.getProperties();
    assert.equal(properties.approximateMessagesCount, 1, 'the message is still on the queue, to be retried');
  });
});

describe('local runtime as the Functions host: queue messages that could forge trigger metadata; request bodies', async () => {
  const azurite = await testAzurite();
  // A request budget of 50 a minute gives a failed-authentication budget of 5 per client.
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_RATE_LIMIT: '50/1m' }));
  const poisonTexts = async (queueName: string, count: number) =>
    waitFor(`${count} poison messages on ${queueName}`, async () => {
      const poison = azurite.clients.queue(poisonQueueOf(queueName));
      const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
      return peekedMessageItems.length >= count ? peekedMessageItems.map((item) => Buffer.from(item.messageText, 'base64').toString('utf8')) : undefined;
    });

  it('refuses an event message whose top-level keys collide with metadata names to the poison queue, with the reason logged', async () => {
    const forged = [
      { id: 'forged-id', event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '1' },
      { events: [{ event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '1' }], DequeueCount: 7 },
    ];
    const queue = azurite.clients.queue(QUEUES.registryEvents);
    for (const message of forged) await queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
    const poisoned = await poisonTexts(QUEUES.registryEvents, 2);
    assert.deepEqual(poisoned.map((text) => JSON.stringify(JSON.parse(text))).sort(), forged.map((message) => JSON.stringify(message)).sort());
    assert.match(runtime.output(), /poison queue: .*'id' collide with the queue trigger's metadata/);
    assert.match(runtime.output(), /poison queue: .*'DequeueCount' collide/);
  });

  it('refuses a delivery message that carries a metadata name to webhook-deliveries-poison', async () => {
    const forged = { delivery_id: 'x', attempt: 1, schedule_index: 0, popReceipt: 'p' };
    await azurite.clients.queue(QUEUES.deliveries).sendMessage(Buffer.from(JSON.stringify(forged)).toString('base64'));
    const [poisoned] = await poisonTexts(QUEUES.deliveries, 1);
    assert.deepEqual(JSON.parse(poisoned ?? '{}'), forged);
    assert.match(runtime.output(), /delivery message moved to the poison queue: .*'popReceipt'/);
  });

  it('refuses a chunked body with 411: the host forwards bodies only with a Content-Length', async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: 'https://example.com' } })));
        controller.close();
      },
    });
    const response = await fetch(`${runtime.baseUrl}${API}/create`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body, duplex: 'half' });
    const json = (await response.json()) as Record<string, string>;
    assert.equal(response.status, 411, JSON.stringify(json));
    assert.equal(json.error_code, 'LENGTH_REQUIRED');
    assert.match(json.message ?? '', /Content-Length/);
  });

  it('answers 413 to a declared 60 MiB body before authentication and without reading it', async () => {
    const { status, json } = await new Promise<{ status: number; json: Record<string, string> }>((resolve, reject) => {
      const url = new URL(`${runtime.baseUrl}${API}/create`);
      const outgoing = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-length': String(60 * 1024 * 1024) } }, (incoming) => {
        let text = '';
        incoming.on('data', (chunk: Buffer) => (text += chunk.toString()));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, json: JSON.parse(text) as Record<string, string> }));
      });
      outgoing.on('error', reject);
      // Only the headers and one small chunk are sent: the answer must not wait for the other 60 MiB.
      outgoing.write('{"events":');
    });
    assert.equal(status, 413);
    assert.equal(json.error_code, 'REQUEST_TOO_LARGE');
  });

  it('answers 429 instead of 401 to a client that keeps failing authentication; a valid token is unaffected', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) statuses.push((await runtime.api('GET', `${API}/list`, { token: 'guessed-token-0123456789abcdef' })).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.deepEqual(statuses.slice(5), [429, 429, 429]);
    const limited = await runtime.api('GET', `${API}/list`, { token: 'guessed-token-0123456789abcdef' });
    assert.equal(limited.json.error_code, 'REQUEST_LIMIT_EXCEEDED');
    assert.ok(limited.headers.get('retry-after'));
    assert.equal((await runtime.api('GET', `${API}/list`)).status, 200, 'the admin token is counted apart');
  });

  it('answers 429 to a client that guesses a different token each time: the budget is per client, not per guess', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 8; attempt += 1) statuses.push((await runtime.api('GET', `${API}/list`, { token: `guess-${attempt}-0123456789abcdef` })).status);
    assert.ok(statuses.includes(429), `fresh tokens evade the failure budget: ${statuses.join(',')}`);
    assert.equal((await runtime.api('GET', `${API}/list`)).status, 200, 'a valid token from the same client still passes');
  });

  it('answers an empty body where an object is needed with 400 MALFORMED_REQUEST naming the fields (the JS SDK update)', async () => {
    const update = await runtime.api('PATCH', `${API}/update`, { rawBody: '' });
    assert.equal(update.status, 400, update.text);
    assert.equal(update.json.error_code, 'MALFORMED_REQUEST');
    assert.match(String(update.json.message), /body is empty.*'id'/);
    const create = await runtime.api('POST', `${API}/create`);
    assert.equal(create.status, 400, create.text);
    assert.match(String(create.json.message), /body is empty.*'events'.*'http_url_spec'.*'job_spec'/);
  });

  it("answers databricks-sdk-py's host-metadata request at the root, outside /api, with a document the SDK reads as 'nothing to add'", async () => {
    // As databricks/sdk/oauth.py get_host_metadata does: GET {host}/.well-known/databricks-config, with no
    // credentials (its own bare client), JSON expected; HostMetadata.from_dict reads oidc_endpoint,
    // account_id, workspace_id, cloud and token_federation_default_oidc_audiences, all optional.
    const response = await runtime.api('GET', '/.well-known/databricks-config', { token: null, headers: { accept: 'application/json' } });
    assert.equal(response.status, 200, response.text);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(typeof response.json, 'object');
    const known = ['oidc_endpoint', 'account_id', 'workspace_id', 'cloud', 'token_federation_default_oidc_audiences'];
    assert.deepEqual(Object.keys(response.json).filter((key) => known.includes(key) && response.json[key]), [], 'no metadata the service does not have');
    assert.equal((await runtime.api('GET', '/api/.well-known/databricks-config', { token: null })).status, 404, 'only at the root');
    assert.equal((await runtime.api('GET', '/other', { token: null })).status, 404, 'nothing else at the root');
  });
});

describe('local runtime as the Functions host: a bad token on /api/health', async () => {
  const azurite = await testAzurite();
  // A request budget of 50 a minute gives a failed-authentication budget of 5 per client.
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_RATE_LIMIT: '50/1m' }));

  it('GET /api/health counts a bad token against the same failure budget: 401, then 429; no token is never counted', async () => {
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 7; attempt += 1) {
      statuses.push((await runtime.api('GET', '/api/health', { token: `health-guess-${attempt}-0123456789abcdef` })).status);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429, 429]);
    const limited = await runtime.api('GET', '/api/health', { token: 'health-guess-x-0123456789abcdef' });
    assert.equal(limited.json.error_code, 'REQUEST_LIMIT_EXCEEDED');
    assert.ok(limited.headers.get('retry-after'));
    // The budget is shared with the other endpoints, and an anonymous probe or the admin from that client still passes.
    assert.equal((await runtime.api('GET', `${API}/list`, { token: 'health-guess-y-0123456789abcdef' })).status, 429);
    const anonymous = await runtime.api('GET', '/api/health', { token: null });
    assert.equal(anonymous.status, 200, anonymous.text);
    assert.equal(anonymous.json.unreadable_webhook_ids, undefined);
    const admin = await runtime.api('GET', '/api/health');
    assert.equal(admin.status, 200, admin.text);
    assert.ok(Array.isArray(admin.json.unreadable_webhook_ids));
  });
});
