import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { scopeKeyOf } from '../../src/storage/key-encoding.js';
import { TABLES } from '../../src/storage/names.js';
import { SecretBox } from '../../src/storage/secret-box.js';
import { TableWebhookStore } from '../../src/storage/table-webhook-store.js';
import { createHook } from '../support/api-helpers.js';
import { testAzurite } from '../support/azurite.js';
import { startFakeDatabricks } from '../support/fake-databricks.js';
import { startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, SECRET_KEY, startRuntime, testEnv } from '../support/runtime-process.js';
import { spawnRuntime } from '../support/spawn-runtime.js';
import { recordSecrets } from '../support/artifacts.js';

const ADMIN_AUTHORIZATION = 'Bearer admin-only-authorization-4711';
const TOKEN = 'dapi-admin-workspace-token-0815';
const OTHER_TOKEN = 'dapi-other-workspace-token-0816';
recordSecrets([ADMIN_AUTHORIZATION, TOKEN, OTHER_TOKEN]);

describe('stored credentials never follow a webhook to a new origin or path', async () => {
  const azurite = await testAzurite();
  const workspace = await startFakeDatabricks(TOKEN);
  const elsewhere = await startFakeDatabricks(OTHER_TOKEN);
  const runtime = await startRuntime(testEnv(azurite.connectionString, { DATABRICKS_WORKSPACE_URL: workspace.url }));
  workspace.defineJob('42', [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
  elsewhere.defineJob('42', [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
  const update = (body: Record<string, unknown>) => runtime.api('PATCH', `${API}/update`, { body });
  const test = (id: string) => runtime.api('POST', `${API}/test`, { body: { id } });

  it('an HTTP webhook moved to another origin or path needs its authorization sent again; a new query keeps it', async () => {
    const admins = await startReceiver();
    const attackers = await startReceiver();
    const id = await createHook(runtime, {
      model_name: 'creds-http',
      events: ['MODEL_VERSION_CREATED'],
      http_url_spec: { url: admins.url, secret: 'signing-secret-stays', authorization: ADMIN_AUTHORIZATION },
    });

    const moved = await update({ id, http_url_spec: { url: attackers.url } });
    assert.equal(moved.status, 400, moved.text);
    assert.equal(moved.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(String(moved.json.message), /http_url_spec\.authorization/);
    const sameHost = await update({ id, http_url_spec: { url: attackers.url.replace('127.0.0.1', 'localhost') } });
    assert.equal(sameHost.status, 400, 'another host name is another origin');
    assert.equal((await test(id)).status, 200);
    assert.equal(attackers.requests.length, 0, 'the refused update changed nothing');
    assert.equal(admins.requests.at(-1)?.headers.authorization, ADMIN_AUTHORIZATION);

    // One origin often serves many owners (a Logic Apps or Power Automate host serves every tenant's workflows, each at
    // its own path): the stored value must not follow a webhook to another path there either.
    const newPath = await update({ id, http_url_spec: { url: `${admins.url}/elsewhere` } });
    assert.equal(newPath.status, 400, newPath.text);
    assert.match(String(newPath.json.message), /http_url_spec\.authorization/);
    const newQuery = await update({ id, http_url_spec: { url: `${admins.url}?sig=rotated` } });
    assert.equal(newQuery.status, 200, newQuery.text);
    assert.equal((await test(id)).status, 200);
    assert.equal(admins.requests.at(-1)?.path, '/hook?sig=rotated');
    assert.equal(admins.requests.at(-1)?.headers.authorization, ADMIN_AUTHORIZATION, 'same origin and path: kept');
    const resent = await update({ id, http_url_spec: { url: `${admins.url}/elsewhere`, authorization: ADMIN_AUTHORIZATION } });
    assert.equal(resent.status, 200, resent.text);
    assert.equal((await test(id)).status, 200);
    assert.equal(admins.requests.at(-1)?.path, '/hook/elsewhere');

    const cleared = await update({ id, http_url_spec: { url: attackers.url, authorization: '' } });
    assert.equal(cleared.status, 200, cleared.text);
    assert.equal((await test(id)).status, 200);
    const received = attackers.requests.at(-1);
    assert.equal(received?.headers.authorization, undefined);
    assert.ok(received?.headers['x-databricks-signature'], 'the secret, which only signs, may stay');
    for (const request of attackers.requests) assert.ok(!JSON.stringify(request).includes(ADMIN_AUTHORIZATION));

    const fresh = await update({ id, http_url_spec: { url: admins.url, authorization: 'Bearer new-one-for-the-admin' } });
    assert.equal(fresh.status, 200);
    assert.equal((await test(id)).status, 200);
    assert.equal(admins.requests.at(-1)?.headers.authorization, 'Bearer new-one-for-the-admin');
  });

  it('a webhook without a stored authorization may change origin freely', async () => {
    const first = await startReceiver();
    const second = await startReceiver();
    const id = await createHook(runtime, { model_name: 'creds-none', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: first.url } });
    assert.equal((await update({ id, http_url_spec: { url: second.url } })).status, 200);
  });

  it('a job webhook moved to another workspace needs its access_token sent again', async () => {
    const id = await createHook(runtime, { model_name: 'creds-job', events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: '42', access_token: TOKEN, workspace_url: workspace.url } });
    const moved = await update({ id, job_spec: { workspace_url: elsewhere.url } });
    assert.equal(moved.status, 400, moved.text);
    assert.match(String(moved.json.message), /job_spec\.access_token/);
    assert.equal((await update({ id, job_spec: { workspace_url: `${workspace.url}/` } })).status, 200, 'the same workspace');
    assert.equal((await test(id)).status, 200);
    assert.ok(!elsewhere.authorizations.includes(`Bearer ${TOKEN}`));

    const withToken = await update({ id, job_spec: { workspace_url: elsewhere.url, access_token: OTHER_TOKEN } });
    assert.equal(withToken.status, 200, withToken.text);
    assert.equal((await test(id)).status, 200);
    assert.equal(elsewhere.runNow.at(-1)?.authorization, `Bearer ${OTHER_TOKEN}`);
    assert.ok(!elsewhere.authorizations.includes(`Bearer ${TOKEN}`));
  });

  it('a job webhook keeps the workspace it was created with when DATABRICKS_WORKSPACE_URL changes; old rows get it written once', async () => {
    const id = await createHook(runtime, { model_name: 'creds-default', events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: '42', access_token: TOKEN } });
    const listed = await runtime.api('GET', `${API}/list?model_name=creds-default`);
    assert.deepEqual((listed.json.webhooks as Record<string, unknown>[])[0]?.job_spec, { job_id: '42', workspace_url: workspace.url });

    // A job webhook stored before workspace URLs were kept: no WorkspaceUrl in its row.
    const store = new TableWebhookStore(azurite.clients.table(TABLES.webhooks), azurite.clients.table(TABLES.webhookIds), new SecretBox(Buffer.from(SECRET_KEY, 'base64')));
    const legacyId = randomBytes(16).toString('hex');
    await store.insert({ id: legacyId, modelName: 'creds-legacy', events: ['MODEL_VERSION_CREATED'], status: 'ACTIVE', target: { kind: 'job', jobId: '42', accessToken: TOKEN }, creationTimestamp: 1, lastUpdatedTimestamp: 1 });
    const legacyListed = await runtime.api('GET', `${API}/list?model_name=creds-legacy`);
    assert.deepEqual((legacyListed.json.webhooks as Record<string, unknown>[])[0]?.job_spec, { job_id: '42', workspace_url: workspace.url });
    const row = await azurite.clients.table(TABLES.webhooks).getEntity<{ WorkspaceUrl?: string }>(scopeKeyOf('creds-legacy'), legacyId);
    assert.equal(row.WorkspaceUrl, workspace.url, 'written into the row on first read');

    await runtime.stop();
    const moved = await spawnRuntime(testEnv(azurite.connectionString, { DATABRICKS_WORKSPACE_URL: elsewhere.url }), { defaultToken: ADMIN_TOKEN });
    try {
      for (const hook of [id, legacyId]) {
        const answer = await moved.api('POST', `${API}/test`, { body: { id: hook } });
        assert.equal(answer.status, 200, answer.text);
      }
      assert.ok(!elsewhere.authorizations.includes(`Bearer ${TOKEN}`), 'the token never went to the new default workspace');
      assert.equal(workspace.runNow.filter((call) => call.authorization === `Bearer ${TOKEN}`).length >= 2, true);
    } finally {
      await moved.stop();
    }
  });
});
