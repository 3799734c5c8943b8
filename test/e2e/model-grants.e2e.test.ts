import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, versionCreated, waitForRequests } from '../support/api-helpers.js';
import { startIssuer } from '../support/oidc-issuer.js';
import { startReceiver } from '../support/receiver.js';
import {
  ADMIN_TOKEN,
  API,
  MANAGER_TOKEN,
  PUBLISHER_TOKEN,
  startRuntime,
  TEAM_MANAGER_TOKEN,
  TEAM_PUBLISHER_TOKEN,
  testEnv,
  waitFor,
} from '../support/runtime-process.js';
import { snapshotStorage } from '../support/storage-snapshot.js';
import { TABLES } from '../../src/storage/names.js';

const AUDIENCE = 'api://registry-webhooks-grants';
const TEAM_GRANT = 'manager[fraud-*|churn-model] (WEBHOOKS_AUTH_TOKENS)';

/**
 * Model-scoped grants through the runtime on Azurite: the fraud team's static tokens (manager of `fraud-*` and
 * `churn-model`, publisher of `fraud-*`), Entra-style group grants through a local OIDC issuer, and unscoped
 * tokens beside them.
 */
describe('model-scoped grants end to end', async () => {
  const azurite = await testAzurite();
  const issuer = await startIssuer(AUDIENCE);
  const runtime = await startRuntime(
    testEnv(azurite.connectionString, {
      WEBHOOKS_AUTH_OIDC_ISSUER: issuer.issuer,
      WEBHOOKS_AUTH_OIDC_AUDIENCE: AUDIENCE,
      WEBHOOKS_AUTH_OIDC_GRANTS: 'grp-fraud=manager[fraud-*];grp-fraud=publisher[fraud-*];grp-ops=manager',
    }),
  );
  const receiver = await startReceiver();
  const hook = (model: string | undefined, extra: Record<string, unknown> = {}) => ({
    ...(model !== undefined ? { model_name: model } : {}),
    events: ['MODEL_VERSION_CREATED'],
    http_url_spec: { url: receiver.url, secret: 'grants-e2e-secret' },
    ...extra,
  });
  const auditOf = async (webhookId: string) => {
    const entries: Record<string, string>[] = [];
    for await (const entry of azurite.clients.table(TABLES.audit).listEntities<Record<string, string>>()) if (entry.WebhookId === webhookId) entries.push(entry);
    return entries;
  };
  const ids = {
    fraud: await createHook(runtime, hook('fraud-seed')),
    ads: await createHook(runtime, hook('ads')),
    wide: await createHook(runtime, hook(undefined)),
  };

  it('create: in scope 200 audited with the grant, out of scope 403 naming the model and nothing stored, unscoped 200', async () => {
    const created = await runtime.api('POST', `${API}/create`, { token: TEAM_MANAGER_TOKEN, body: hook('fraud-create') });
    assert.equal(created.status, 200, created.text);
    const id = (created.json.webhook as { id: string }).id;
    const [entry] = await auditOf(id);
    assert.match(entry?.Principal ?? '', /^token:manager:[0-9a-f]{8}$/);
    assert.equal(entry?.Grant, TEAM_GRANT);
    assert.ok(!JSON.stringify(entry).includes(TEAM_MANAGER_TOKEN) && !JSON.stringify(entry).includes('grants-e2e-secret'));

    const before = await snapshotStorage(azurite.clients);
    for (const [body, message] of [
      [hook('ads'), /model_name 'ads'/],
      [hook('churn-model-v2'), /model_name 'churn-model-v2'/],
      [hook(undefined, { events: ['REGISTERED_MODEL_CREATED'] }), /Only an admin/],
    ] as const) {
      const refused = await runtime.api('POST', `${API}/create`, { token: TEAM_MANAGER_TOKEN, body });
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.json.error_code, 'PERMISSION_DENIED');
      assert.match(String(refused.json.message), message);
    }
    assert.equal(await snapshotStorage(azurite.clients), before, 'nothing changed');

    assert.equal((await runtime.api('POST', `${API}/create`, { token: MANAGER_TOKEN, body: hook('ads-2') })).status, 200);
  });

  it("update: in scope 200, another team's webhook 403 naming its model and unchanged, an unknown id 404, unscoped 200", async () => {
    const mine = await runtime.api('PATCH', `${API}/update`, { token: TEAM_MANAGER_TOKEN, body: { id: ids.fraud, description: 'fraud team' } });
    assert.equal(mine.status, 200, mine.text);
    assert.equal((mine.json.webhook as { model_name: string }).model_name, 'fraud-seed');
    const moved = await runtime.api('PATCH', `${API}/update`, { token: TEAM_MANAGER_TOKEN, body: { id: ids.fraud, model_name: 'ads' } });
    assert.equal(moved.status, 400, 'the model name is fixed after create');

    const before = await snapshotStorage(azurite.clients);
    const theirs = await runtime.api('PATCH', `${API}/update`, { token: TEAM_MANAGER_TOKEN, body: { id: ids.ads, status: 'DISABLED' } });
    const unknown = await runtime.api('PATCH', `${API}/update`, { token: TEAM_MANAGER_TOKEN, body: { id: 'f'.repeat(32), status: 'DISABLED' } });
    assert.equal(theirs.status, 403, theirs.text);
    assert.equal(theirs.json.error_code, 'PERMISSION_DENIED');
    assert.match(String(theirs.json.message), /may not update webhooks for model_name 'ads'/);
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
    const wide = await runtime.api('PATCH', `${API}/update`, { token: TEAM_MANAGER_TOKEN, body: { id: ids.wide, status: 'DISABLED' } });
    assert.equal(wide.status, 403, wide.text);
    assert.match(String(wide.json.message), /registry-wide.*only an admin/);
    assert.equal(await snapshotStorage(azurite.clients), before, 'nothing changed');

    assert.equal((await runtime.api('PATCH', `${API}/update`, { token: MANAGER_TOKEN, body: { id: ids.ads, description: 'ops' } })).status, 200);
    assert.equal((await runtime.api('PATCH', `${API}/update`, { token: MANAGER_TOKEN, body: { id: ids.wide, description: 'x' } })).status, 403);
  });

  it('publish: in scope 202 and delivered, one out-of-scope event refuses the whole batch with 403 naming it, unscoped 202', async () => {
    const id = await createHook(runtime, hook('fraud-publish'));
    const refused = await runtime.api('POST', `${API}/publish`, {
      token: TEAM_PUBLISHER_TOKEN,
      body: { events: [versionCreated('fraud-publish', { event_id: 'refused-1' }), versionCreated('ads', { event_id: 'refused-2' })] },
    });
    assert.equal(refused.status, 403, refused.text);
    assert.equal(refused.json.error_code, 'PERMISSION_DENIED');
    assert.match(String(refused.json.message), /events\[1\] for model_name 'ads'/);
    const accepted = await runtime.api('POST', `${API}/publish`, { token: TEAM_PUBLISHER_TOKEN, body: versionCreated('fraud-publish', { event_id: 'accepted-1' }) });
    assert.equal(accepted.status, 202, accepted.text);
    await waitForRequests(receiver, 1);
    const deliveries = await waitFor('the accepted event delivered', async () => {
      const list = await deliveriesOf(runtime, id);
      return list.some((delivery) => delivery.event_id === 'accepted-1' && delivery.status === 'SUCCEEDED') ? list : undefined;
    });
    assert.deepEqual(deliveries.map((delivery) => delivery.event_id), ['accepted-1'], 'nothing of the refused batch was enqueued');
    assert.equal((await runtime.api('POST', `${API}/publish`, { token: PUBLISHER_TOKEN, body: versionCreated('ads') })).status, 202);
    assert.equal((await runtime.api('POST', `${API}/publish`, { token: TEAM_MANAGER_TOKEN, body: versionCreated('fraud-publish') })).status, 403, 'a manager grant does not publish');
  });

  it('list: without model_name only the permitted models, paged with no empty page; a model outside 403; unscoped sees every model but not registry-wide', async () => {
    for (const model of ['aa', 'fraud-list-1', 'bb', 'fraud-list-2', 'churn-model', 'zz']) await createHook(runtime, hook(model));
    const models = async (token: string, pageSize: number) => {
      const seen: string[] = [];
      let pageToken: string | undefined;
      do {
        const page = await runtime.api('GET', `${API}/list?max_results=${pageSize}${pageToken ? `&page_token=${pageToken}` : ''}`, { token });
        assert.equal(page.status, 200, page.text);
        const webhooks = (page.json.webhooks as { model_name?: string }[] | undefined) ?? [];
        pageToken = page.json.next_page_token as string | undefined;
        if (pageToken) assert.equal(webhooks.length, pageSize, 'a page before another is full');
        seen.push(...webhooks.map((webhook) => webhook.model_name ?? '(registry-wide)'));
      } while (pageToken);
      return seen;
    };
    const team = await models(TEAM_MANAGER_TOKEN, 2);
    assert.ok(team.length >= 4);
    assert.ok(team.every((model) => model.startsWith('fraud-') || model === 'churn-model'), team.join());
    assert.ok(['fraud-list-1', 'fraud-list-2', 'churn-model', 'fraud-seed'].every((model) => team.includes(model)));
    assert.equal(new Set(team).size, team.length, 'no webhook twice across pages');
    assert.deepEqual(await models(TEAM_MANAGER_TOKEN, 1), team, 'the same listing at another page size');

    const outside = await runtime.api('GET', `${API}/list?model_name=zz`, { token: TEAM_MANAGER_TOKEN });
    assert.equal(outside.status, 403, outside.text);
    assert.match(String(outside.json.message), /model_name 'zz'/);
    const one = await runtime.api('POST', `${API}/list`, { token: TEAM_MANAGER_TOKEN, body: { model_name: 'churn-model' } });
    assert.deepEqual((one.json.webhooks as { model_name: string }[]).map((webhook) => webhook.model_name), ['churn-model']);

    const everyModel = await models(MANAGER_TOKEN, 3);
    assert.ok(['aa', 'bb', 'zz', 'ads', 'fraud-seed'].every((model) => everyModel.includes(model)));
    assert.ok(!everyModel.includes('(registry-wide)'));
    assert.ok((await models(ADMIN_TOKEN, 50)).includes('(registry-wide)'));
  });

  it('delete, test, deliveries and redeliver: in scope allowed, out of scope 403 naming the model, unscoped allowed', async () => {
    const mine = await createHook(runtime, hook('fraud-misc'));
    const tested = await runtime.api('POST', `${API}/test`, { token: TEAM_MANAGER_TOKEN, body: { id: mine } });
    assert.equal(tested.status, 200, tested.text);
    assert.equal((await runtime.api('GET', `${API}/deliveries?webhook_id=${mine}`, { token: TEAM_MANAGER_TOKEN })).status, 200);
    assert.equal((await runtime.api('POST', `${API}/deliveries/redeliver`, { token: TEAM_MANAGER_TOKEN, body: { webhook_id: mine, since_timestamp: 0 } })).status, 200);

    const before = await snapshotStorage(azurite.clients);
    const requests = receiver.requests.length;
    for (const [method, path, body] of [
      ['POST', `${API}/test`, { id: ids.ads }],
      ['GET', `${API}/deliveries?webhook_id=${ids.ads}`, undefined],
      ['POST', `${API}/deliveries/redeliver`, { webhook_id: ids.ads, since_timestamp: 0 }],
      ['DELETE', `${API}/delete`, { id: ids.ads }],
    ] as const) {
      const response = await runtime.api(method, path, { token: TEAM_MANAGER_TOKEN, ...(body ? { body } : {}) });
      assert.equal(response.status, 403, `${path}: ${response.text}`);
      assert.equal(response.json.error_code, 'PERMISSION_DENIED');
      assert.match(String(response.json.message), /model_name 'ads'/);
    }
    assert.equal(await snapshotStorage(azurite.clients), before, 'nothing changed');
    assert.equal(receiver.requests.length, requests, 'nothing was sent');

    assert.equal((await runtime.api('DELETE', `${API}/delete`, { token: TEAM_MANAGER_TOKEN, body: { id: mine } })).status, 200);
    const auditEntries = await auditOf(mine);
    assert.deepEqual(auditEntries.map((entry) => entry.Action).sort(), ['create', 'delete', 'redeliver', 'test']);
    assert.ok(auditEntries.filter((entry) => entry.Action !== 'create').every((entry) => entry.Grant === TEAM_GRANT));
    const other = await createHook(runtime, hook('ads-misc'));
    assert.equal((await runtime.api('POST', `${API}/test`, { token: MANAGER_TOKEN, body: { id: other } })).status, 200);
    assert.equal((await runtime.api('DELETE', `${API}/delete`, { token: MANAGER_TOKEN, body: { id: other } })).status, 200);
  });

  it('OIDC: group grants scope a token, app roles keep working unscoped, the audit names the subject and the group', async () => {
    const fraud = await issuer.sign({ sub: 'fraud-ci', oid: 'oid-fraud-ci', groups: ['grp-fraud', 'grp-unknown'] });
    const created = await runtime.api('POST', `${API}/create`, { token: fraud, body: hook('fraud-oidc') });
    assert.equal(created.status, 200, created.text);
    const [entry] = await auditOf((created.json.webhook as { id: string }).id);
    assert.equal(entry?.Principal, 'oidc:oid-fraud-ci');
    assert.equal(entry?.Grant, 'manager[fraud-*] (groups=grp-fraud)');
    const refused = await runtime.api('POST', `${API}/create`, { token: fraud, body: hook('churn-model') });
    assert.equal(refused.status, 403, refused.text);
    assert.match(String(refused.json.message), /model_name 'churn-model'/);
    assert.equal((await runtime.api('POST', `${API}/publish`, { token: fraud, body: versionCreated('fraud-oidc') })).status, 202);
    assert.equal((await runtime.api('POST', `${API}/publish`, { token: fraud, body: versionCreated('ads') })).status, 403);

    const ops = await issuer.sign({ sub: 'ops', groups: ['grp-ops'] });
    assert.equal((await runtime.api('PATCH', `${API}/update`, { token: ops, body: { id: ids.ads, description: 'ops group' } })).status, 200);
    assert.equal((await runtime.api('POST', `${API}/publish`, { token: ops, body: versionCreated('ads') })).status, 403, 'grp-ops grants no publishing');

    const appRole = await issuer.sign({ sub: 'registry-mi', roles: ['Events.Publish'] });
    assert.equal((await runtime.api('POST', `${API}/publish`, { token: appRole, body: versionCreated('ads') })).status, 202);
    const nothing = await issuer.sign({ sub: 'stranger', groups: ['grp-unknown'] });
    assert.equal((await runtime.api('GET', `${API}/list`, { token: nothing })).status, 403);
  });
});

describe('a malformed grant in WEBHOOKS_AUTH_TOKENS', async () => {
  const azurite = await testAzurite();
  const malformed = `admin:${ADMIN_TOKEN},manager[*fraud]:${TEAM_MANAGER_TOKEN}`;
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_AUTH_TOKENS: malformed }));

  it('makes every function answer 503 naming the setting and the entry, never a token, and logs it', async () => {
    for (const [method, path] of [
      ['POST', `${API}/create`],
      ['GET', `${API}/list`],
      ['POST', `${API}/publish`],
      ['GET', `${API}/deliveries?webhook_id=${'a'.repeat(32)}`],
    ] as const) {
      const response = await runtime.api(method, path, { token: ADMIN_TOKEN, ...(method === 'POST' ? { body: {} } : {}) });
      assert.equal(response.status, 503, `${path}: ${response.text}`);
      assert.equal(response.json.error_code, 'TEMPORARILY_UNAVAILABLE');
      assert.match(String(response.json.message), /WEBHOOKS_AUTH_TOKENS/);
      assert.ok(!response.text.includes(TEAM_MANAGER_TOKEN) && !response.text.includes(ADMIN_TOKEN), response.text);
    }
    assert.match(runtime.output(), /WEBHOOKS_AUTH_TOKENS: entry 2: model pattern 1 may hold '\*' only at its end/);
    assert.ok(!runtime.output().includes(TEAM_MANAGER_TOKEN));
  });
});
