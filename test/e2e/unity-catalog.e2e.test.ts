import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { recordSecrets } from '../support/artifacts.js';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, versionCreated } from '../support/api-helpers.js';
import { startFakeUnityCatalog } from '../support/fake-unity-catalog.js';
import { startReceiver, type ReceivedRequest } from '../support/receiver.js';
import { MANAGER_TOKEN, PUBLISHER_TOKEN, startRuntime, testEnv, waitFor, type TestRuntime } from '../support/runtime-process.js';

const PAT = 'dapi-e2e-unity-catalog-token-0001';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
recordSecrets([PAT]);

/** The payload, after checking the Databricks and the Standard Webhooks signatures. */
function verified(request: ReceivedRequest): Record<string, unknown> {
  const expected = createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(Buffer.from(request.body, 'utf8')).digest('hex');
  assert.equal(request.headers['x-databricks-signature'], expected);
  return new StandardWebhook(SECRET).verify(request.body, request.headers) as Record<string, unknown>;
}

const stateOf = async (runtime: TestRuntime) => {
  const response = await runtime.api('GET', '/api/sources/unity-catalog');
  assert.equal(response.status, 200, response.text);
  return response.json.unity_catalog as { status: string; problems: number; detail: { passes: number; problems: { kind: string; scope: string }[] } };
};

/** Waits until `count` more polls have completed a pass than `since`. */
const passesAfter = (runtime: TestRuntime, since: number, count: number) =>
  waitFor(`${count} completed polls after ${since}`, async () => {
    const state = await stateOf(runtime);
    return state.detail.passes >= since + count ? state.detail.passes : undefined;
  }, 30_000);

describe('Unity Catalog models get signed webhooks, end to end on Azurite', async () => {
  const azurite = await testAzurite();
  const fake = await startFakeUnityCatalog();
  fake.personalTokens.add(PAT);
  fake.createSchema('main', 'ml');
  fake.createModel('main.ml.fraud');
  fake.setStatus('main.ml.fraud', fake.createVersion('main.ml.fraud'), 'READY');
  fake.setAlias('main.ml.fraud', 'champion', 1);
  fake.setAlias('main.ml.fraud', 'legacy', 1);
  const runtime = await startRuntime(
    testEnv(azurite.connectionString, {
      UNITY_CATALOG_WORKSPACE_URL: fake.url,
      UNITY_CATALOG_MODELS: 'main.ml.*',
      UNITY_CATALOG_TOKEN: PAT,
      UNITY_CATALOG_POLL_SCHEDULE: '* * * * * *',
    }),
  );

  it('a version created and an alias set, moved and deleted make exactly their deliveries, and later polls nothing more', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, {
      model_name: 'main.ml.fraud',
      events: ['MODEL_VERSION_CREATED', 'MODEL_VERSION_ALIAS_CREATED', 'MODEL_VERSION_ALIAS_DELETED'],
      http_url_spec: { url: receiver.url, secret: SECRET },
    });
    const baseline = await passesAfter(runtime, 0, 1);
    fake.setStatus('main.ml.fraud', fake.createVersion('main.ml.fraud'), 'READY');
    fake.setAlias('main.ml.fraud', 'challenger', 2);
    fake.setAlias('main.ml.fraud', 'champion', 2);
    fake.deleteAlias('main.ml.fraud', 'legacy');
    const seen = await passesAfter(runtime, baseline, 2);
    const payloads = (await waitFor('4 deliveries', () => (receiver.requests.length >= 4 ? receiver.requests : undefined))).map(verified);
    const summary = (payload: Record<string, unknown>) => [payload.event, payload.model_name, payload.version, payload.alias, payload.previous_version].filter((part) => part !== undefined).map(String).join(' ');
    assert.deepEqual(payloads.map(summary).sort(), [
      'MODEL_VERSION_ALIAS_CREATED main.ml.fraud 2 challenger',
      'MODEL_VERSION_ALIAS_CREATED main.ml.fraud 2 champion 1',
      'MODEL_VERSION_ALIAS_DELETED main.ml.fraud 1 legacy',
      'MODEL_VERSION_CREATED main.ml.fraud 2',
    ]);
    assert.equal(payloads.find((payload) => payload.alias === 'champion')?.text, "Alias 'champion' of registered model 'main.ml.fraud' moved from version 1 to version 2.");
    await passesAfter(runtime, seen, 3);
    // A sentinel event published after those polls arrives last: anything the polls had sent would be here before it.
    await createHook(runtime, { model_name: 'main.ml.sentinel', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, secret: SECRET } });
    await publish(runtime, [versionCreated('main.ml.sentinel')], PUBLISHER_TOKEN);
    await waitFor('the sentinel', () => receiver.requests.some((request) => request.body.includes('main.ml.sentinel')) || undefined);
    assert.equal(receiver.requests.length, 5, 'nothing more after further polls');
    assert.ok(fake.apiRequests().every((request) => request.authorization === `Bearer ${PAT}`));
  });

  it('health counts the problems for anyone and details them for admins; the state route is for admins', async () => {
    // The listing leaves out models the caller may not see; a schema without USE SCHEMA is refused outright.
    fake.denied.add('main.ml');
    const before = (await stateOf(runtime)).detail.passes;
    await passesAfter(runtime, before, 2);
    const anonymous = await runtime.api('GET', '/api/health', { token: null });
    assert.equal(anonymous.status, 200);
    assert.deepEqual(anonymous.json.unity_catalog, { status: 'degraded', problems: 1 });
    const admin = await runtime.api('GET', '/api/health');
    const detail = (admin.json.unity_catalog as { detail: { problems: { kind: string; scope: string; message: string }[]; workspace_url: string } }).detail;
    assert.deepEqual(detail.problems.map((problem) => [problem.kind, problem.scope]), [['denied', 'main.ml.*']]);
    assert.match(detail.problems[0]?.message ?? '', /PERMISSION_DENIED/);
    assert.equal(detail.workspace_url, fake.url);
    assert.equal((await runtime.api('GET', '/api/sources/unity-catalog', { token: MANAGER_TOKEN })).status, 403);
    fake.denied.delete('main.ml');
  });

  it('a bad setting turns off only this source: named in health, the API never called, the rest working', async () => {
    const untouched = await startFakeUnityCatalog();
    const broken = await startRuntime(
      testEnv(azurite.connectionString, { UNITY_CATALOG_WORKSPACE_URL: untouched.url, UNITY_CATALOG_MODELS: 'main.ml', UNITY_CATALOG_POLL_SCHEDULE: '* * * * * *' }),
    );
    const health = await broken.api('GET', '/api/health', { token: null });
    assert.equal(health.status, 200);
    assert.deepEqual(health.json.unity_catalog, { status: 'misconfigured', problems: 1 });
    const detail = (await broken.api('GET', '/api/sources/unity-catalog')).json.unity_catalog as { detail: { setting: string } };
    assert.equal(detail.detail.setting, 'UNITY_CATALOG_MODELS');
    assert.equal((await broken.api('POST', '/api/2.0/mlflow/registry-webhooks/publish', { body: versionCreated('still-works'), token: PUBLISHER_TOKEN })).status, 202);
    await waitFor('a poll to have run', () => (/UNITY_CATALOG_MODELS/.test(broken.output()) ? true : undefined));
    assert.equal(untouched.requests.length, 0);
  });
});
