import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TABLES } from '../../src/storage/names.js';
import { scopeKeyOf } from '../../src/storage/key-encoding.js';
import { createHook, publish, versionCreated, waitForDeliveries } from '../support/api-helpers.js';
import { recordSecrets } from '../support/artifacts.js';
import { testAzurite } from '../support/azurite.js';
import { startFakeManagedIdentityEndpoint, startFakeOAuth2Server, startProtectedApi } from '../support/fake-token-servers.js';
import { startReceiver } from '../support/receiver.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';

const CLIENT = { id: 'registry-webhooks-client', secret: 'oauth2-client-secret-0123456789' };
const DELIVERY_IDENTITY = '6f1c2a4e-0000-4000-8000-00000000d311';
const APP_IDENTITY = '6f1c2a4e-0000-4000-8000-0000000000a9';
recordSecrets([CLIENT.secret]);

describe('tokens instead of static secrets', async () => {
  const azurite = await testAzurite();
  const identity = await startFakeManagedIdentityEndpoint([DELIVERY_IDENTITY, APP_IDENTITY]);
  recordSecrets([identity.env.IDENTITY_HEADER]);
  // The one origin tokens for api://orders-receiver may go to; every other receiver here is another origin.
  const ordersApi = await startReceiver();
  const runtime = await startRuntime(
    testEnv(azurite.connectionString, {
      ...identity.env,
      AZURE_CLIENT_ID: APP_IDENTITY,
      WEBHOOKS_ENTRA_CLIENT_ID: DELIVERY_IDENTITY,
      WEBHOOKS_ENTRA_AUDIENCES: `api://orders-receiver ${new URL(ordersApi.url).origin}, 499b84ac-1321-427f-aa17-267ca6975798 https://dev.azure.com`,
    }),
  );
  const oauth2Of = (server: { tokenUrl: string }, secret = CLIENT.secret) => ({ token_url: server.tokenUrl, client_id: CLIENT.id, client_secret: secret, scope: 'api://receiver/.default' });

  it('oauth2: a client-credentials token, cached, fetched again once on a 401; the secret is sealed and never returned', async () => {
    const tokens = await startFakeOAuth2Server(CLIENT);
    const api = await startProtectedApi();
    const issuedBefore = () => tokens.issued.length;
    const id = await createHook(runtime, { model_name: 'tok-oauth2', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: api.url, oauth2: oauth2Of(tokens) } });
    const listed = await runtime.api('GET', `${API}/list?model_name=tok-oauth2`);
    assert.deepEqual((listed.json.webhooks as { http_url_spec: unknown }[])[0]?.http_url_spec, {
      url: api.url,
      enable_ssl_verification: true,
      oauth2: { token_url: tokens.tokenUrl, client_id: CLIENT.id, scope: 'api://receiver/.default' },
    });
    const row = await azurite.clients.table(TABLES.webhooks).getEntity(scopeKeyOf('tok-oauth2'), id);
    assert.match(String(row.OAuth2ClientSecret), /^v1\./, 'sealed like every secret');
    assert.ok(!JSON.stringify(row).includes(CLIENT.secret));

    // The receiver accepts whatever the token server issues first.
    api.setBehaviour((request, _n, response) => {
      const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (token && tokens.issued.includes(token) && api.accepted.size === 0) api.accepted.add(token);
      response.writeHead(token && api.accepted.has(token) ? 200 : 401).end();
    });
    await publish(runtime, [versionCreated('tok-oauth2', { version: '1' }), versionCreated('tok-oauth2', { version: '2' })]);
    await waitForDeliveries(runtime, id, (list) => list.length === 2 && list.every((delivery) => delivery.status === 'SUCCEEDED'));
    assert.equal(issuedBefore(), 1, 'one token serves both deliveries');
    assert.equal(tokens.scopes[0], 'api://receiver/.default');
    const form = new URLSearchParams(tokens.requests[0]?.body);
    assert.equal(form.get('client_secret'), CLIENT.secret, 'the secret goes in the form body');
    assert.equal(form.get('grant_type'), 'client_credentials');

    // The receiver stops accepting the cached token: the next attempt fetches a new one and succeeds, using one attempt.
    api.accepted.clear();
    api.accepted.add('nothing-yet');
    api.setBehaviour((request, _n, response) => {
      const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      response.writeHead(token === tokens.issued[1] ? 200 : 401).end();
    });
    await publish(runtime, [versionCreated('tok-oauth2', { version: '3' })]);
    const done = await waitForDeliveries(runtime, id, (list) => list.length === 3 && list.every((delivery) => delivery.status === 'SUCCEEDED'));
    assert.equal(tokens.issued.length, 2);
    assert.ok(done.every((delivery) => delivery.attempts === 1));
    const requestsOfThird = api.requests.filter((request) => (JSON.parse(request.body) as { version?: string }).version === '3');
    assert.deepEqual(requestsOfThird.map((request) => request.headers.authorization), [`Bearer ${tokens.issued[0]}`, `Bearer ${tokens.issued[1]}`]);
  });

  it('oauth2: refused client credentials fail the delivery without retrying, and the answer shows no secret', async () => {
    const tokens = await startFakeOAuth2Server({ id: CLIENT.id, secret: 'the-right-one-0123456789' });
    const receiver = await startReceiver();
    const id = await createHook(runtime, { model_name: 'tok-refused', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, oauth2: oauth2Of(tokens) } });
    await publish(runtime, [versionCreated('tok-refused')]);
    const [failed] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'FAILED');
    assert.equal(failed?.attempts, 1);
    assert.match(failed?.last_error ?? '', /invalid_client/);
    assert.equal(receiver.requests.length, 0, 'nothing is sent without a token');
  });

  it('credentials never follow a webhook to a new origin; bad values are 400s naming the field and change nothing', async () => {
    const tokens = await startFakeOAuth2Server(CLIENT);
    const first = await startReceiver();
    const elsewhere = await startReceiver();
    const id = await createHook(runtime, { model_name: 'tok-rules', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: first.url, oauth2: oauth2Of(tokens) } });
    const before = (await runtime.api('GET', `${API}/list?model_name=tok-rules`)).json;
    const update = (spec: Record<string, unknown>) => runtime.api('PATCH', `${API}/update`, { body: { id, http_url_spec: spec } });
    const cases: [Record<string, unknown>, string][] = [
      [{ url: elsewhere.url }, 'http_url_spec.oauth2'],
      [{ oauth2: { token_url: tokens.tokenUrl, client_id: CLIENT.id } }, 'http_url_spec.oauth2.client_secret'],
      [{ oauth2: { ...oauth2Of(tokens), token_url: 'not a url' } }, 'http_url_spec.oauth2.token_url'],
      [{ oauth2: { ...oauth2Of(tokens), token_url: 'ftp://tokens.example/x' } }, 'http_url_spec.oauth2.token_url'],
      [{ oauth2: oauth2Of(tokens), authorization: 'Bearer x' }, 'http_url_spec.oauth2'],
      [{ azure_ad_audience: 'https://storage.azure.com' }, 'http_url_spec.azure_ad_audience'],
      [{ azure_ad_audience: 'api://orders-receiver' }, 'http_url_spec.azure_ad_audience'],
      [{ url: elsewhere.url, azure_ad_audience: 'api://orders-receiver' }, 'http_url_spec.azure_ad_audience'],
      [{ max_requests_per_second: 0.5 }, 'http_url_spec.max_requests_per_second'],
      [{ max_requests_per_second: 1001 }, 'http_url_spec.max_requests_per_second'],
    ];
    for (const [spec, field] of cases) {
      const answer = await update(spec);
      assert.equal(answer.status, 400, `${JSON.stringify(spec)}: ${answer.text}`);
      assert.equal(answer.json.error_code, 'INVALID_PARAMETER_VALUE');
      assert.ok(String(answer.json.message).includes(`'${field}'`), `${field}: ${answer.text}`);
    }
    assert.deepEqual((await runtime.api('GET', `${API}/list?model_name=tok-rules`)).json, before);
    const moved = await update({ url: elsewhere.url, oauth2: oauth2Of(tokens) });
    assert.equal(moved.status, 200, 'sent again with the move: allowed');
    const cleared = await update({ url: first.url, authorization: '' });
    assert.equal(cleared.status, 200, '"" for authorization clears every credential');
    assert.deepEqual((cleared.json.webhook as { http_url_spec: unknown }).http_url_spec, { url: first.url, enable_ssl_verification: true });
  });

  it('entra: a token for an allowed audience from the dedicated delivery identity, never the app identity', async () => {
    const receiver = ordersApi;
    const id = await createHook(runtime, { model_name: 'tok-entra', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, azure_ad_audience: 'api://orders-receiver' } });
    await publish(runtime, [versionCreated('tok-entra', { version: '1' }), versionCreated('tok-entra', { version: '2' })]);
    await waitForDeliveries(runtime, id, (list) => list.length === 2 && list.every((delivery) => delivery.status === 'SUCCEEDED'));
    const issued = identity.tokens.get('api://orders-receiver') ?? [];
    assert.equal(issued.length, 1, 'cached until shortly before expiry');
    assert.ok(receiver.requests.every((request) => request.headers.authorization === `Bearer ${issued[0]}`));
    assert.ok(identity.calls.length > 0 && identity.calls.every((call) => call.clientId === DELIVERY_IDENTITY), 'always the delivery identity');

    const storage = await runtime.api('POST', `${API}/create`, {
      body: { model_name: 'tok-entra', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, azure_ad_audience: 'https://storage.azure.com' } },
    });
    assert.equal(storage.status, 400);
    assert.match(String(storage.json.message), /'http_url_spec\.azure_ad_audience'.*api:\/\/orders-receiver/);
    assert.ok(!identity.calls.some((call) => call.resource.includes('storage')));
  });

  it("entra: a manager's own receiver cannot collect another team's tokens: an allowed audience to an unlisted origin is a 400 that stores nothing", async () => {
    const collector = await startReceiver();
    const listBefore = (await runtime.api('GET', `${API}/list?model_name=tok-harvest`)).json;
    const harvest = await runtime.api('POST', `${API}/create`, {
      body: { model_name: 'tok-harvest', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: collector.url, azure_ad_audience: 'api://orders-receiver' } },
    });
    assert.equal(harvest.status, 400, harvest.text);
    assert.equal(harvest.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.ok(String(harvest.json.message).includes("'http_url_spec.azure_ad_audience'"), harvest.text);
    assert.ok(String(harvest.json.message).includes(new URL(ordersApi.url).origin), 'says where the tokens may go');
    assert.deepEqual((await runtime.api('GET', `${API}/list?model_name=tok-harvest`)).json, listBefore);
    assert.equal(collector.requests.length, 0);
  });
});
