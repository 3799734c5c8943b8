import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, type ErrorCode } from '../../src/shared/errors.js';
import { createWebhook, deleteWebhook, listWebhooks, updateWebhook } from '../../src/webhooks/webhook-service.js';
import { admin, fakeResolver, manager, publisher, webhookDeps } from '../support/deps.js';
import { SPECIAL_MODEL_NAMES } from '../support/fixtures.js';

const http = { url: 'https://hooks.example.com/services/x', secret: 'anyRandomString', authorization: 'Bearer AbcdEfg1294' };
const slack = { model_name: 'someModel', events: ['MODEL_VERSION_CREATED'], description: 'Slack notifications', status: 'TEST_MODE', http_url_spec: http };

async function rejects(promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe('create', () => {
  it('creates the reference doc webhook and returns it without write-only fields', async () => {
    const { deps, store, audit } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    assert.match(webhook.id, /^[0-9a-f]{32}$/);
    assert.deepEqual(webhook.http_url_spec, { url: http.url, enable_ssl_verification: true });
    assert.equal(webhook.status, 'TEST_MODE');
    assert.equal(webhook.creation_timestamp, webhook.last_updated_timestamp);
    assert.ok(!JSON.stringify(webhook).includes('anyRandomString') && !JSON.stringify(webhook).includes('AbcdEfg1294'));
    const stored = (await store.get(webhook.id))?.value;
    assert.equal(stored?.target.kind === 'http' && stored.target.secret, 'anyRandomString');
    assert.equal(audit.entries.length, 1);
    assert.deepEqual(audit.entries[0]?.target, { url: http.url, enable_ssl_verification: true });
    assert.equal(audit.entries[0]?.action, 'create');
    assert.equal(audit.entries[0]?.principal, admin.id);
  });

  it('defaults status to ACTIVE and enable_ssl_verification to true', async () => {
    const { deps } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, { model_name: 'm', events: ['COMMENT_CREATED'], http_url_spec: { url: http.url } });
    assert.equal(webhook.status, 'ACTIVE');
    assert.equal(webhook.http_url_spec?.enable_ssl_verification, true);
  });

  it('refuses every invalid field with INVALID_PARAMETER_VALUE naming it, and stores nothing', async () => {
    const { deps, store, audit } = webhookDeps();
    const cases: [unknown, RegExp][] = [
      [{ ...slack, events: [] }, /'events'/],
      [{ ...slack, events: ['MODEL_VERSION_CREATED', 'MODEL_VERSION_CREATED'] }, /'events'.*twice/],
      [{ ...slack, events: ['NOT_AN_EVENT'] }, /'events\[0\]'.*unknown event/],
      [{ ...slack, events: undefined }, /Missing required parameter 'events'/],
      [{ ...slack, model_name: '' }, /'model_name'.*empty/],
      [{ ...slack, model_name: 'x'.repeat(257) }, /'model_name'.*256/],
      [{ ...slack, model_name: null }, /'model_name'.*null/],
      [{ ...slack, description: 'd'.repeat(1001) }, /'description'.*1000/],
      [{ ...slack, status: 'ON' }, /'status'/],
      [{ ...slack, http_url_spec: { ...http, url: `https://hooks.example.com/${'a'.repeat(2048)}` } }, /'http_url_spec.url'.*2048/],
      [{ ...slack, http_url_spec: { ...http, url: 'http://hooks.example.com/x' } }, /'http_url_spec.url'.*https/],
      [{ ...slack, http_url_spec: { ...http, url: 'not-a-url' } }, /'http_url_spec.url'.*absolute URL/],
      [{ ...slack, http_url_spec: { ...http, url: 'https://user:pw@hooks.example.com/' } }, /'http_url_spec.url'.*credentials/],
      [{ ...slack, http_url_spec: { ...http, authorization: 'Bearer x\r\nInjected: 1' } }, /'http_url_spec.authorization'/],
      [{ ...slack, http_url_spec: { ...http, secret: 'whsec_not base64!' } }, /'http_url_spec.secret'/],
      [{ ...slack, http_url_spec: { ...http, enable_ssl_verification: 'yes' } }, /'http_url_spec.enable_ssl_verification'/],
      [{ ...slack, http_url_spec: { ...http, extra: 1 } }, /Unknown parameter 'http_url_spec.extra'/],
      [{ ...slack, unexpected: true }, /Unknown parameter 'unexpected'/],
      [{ ...slack, http_url_spec: undefined }, /Exactly one of 'http_url_spec' or 'job_spec'/],
      [{ ...slack, job_spec: { job_id: '1', access_token: 'dapi', workspace_url: 'https://adb-1.azuredatabricks.net' } }, /Exactly one of/],
      [{ ...slack, events: ['REGISTERED_MODEL_CREATED'] }, /REGISTERED_MODEL_CREATED is allowed only on registry-wide/],
      [{ ...slack, http_url_spec: undefined, job_spec: { job_id: '12a', access_token: 'dapi', workspace_url: 'https://adb-1.azuredatabricks.net' } }, /'job_spec.job_id'/],
      [{ ...slack, http_url_spec: undefined, job_spec: { job_id: '1', workspace_url: 'https://adb-1.azuredatabricks.net' } }, /'job_spec.access_token'/],
      [{ ...slack, http_url_spec: undefined, job_spec: { job_id: '1', access_token: 'dapi' } }, /'job_spec.workspace_url'.*DATABRICKS_WORKSPACE_URL/],
      [{ ...slack, http_url_spec: undefined, job_spec: { job_id: '1', access_token: 'dapi', workspace_url: 'https://adb-1.azuredatabricks.net/some/path' } }, /workspace origin/],
      ['a string', /'body'/],
    ];
    for (const [body, message] of cases) await rejects(createWebhook(deps, admin, body), 'INVALID_PARAMETER_VALUE', message);
    assert.equal(store.rows.size, 0);
    assert.equal(audit.entries.length, 0);
  });

  it('accepts job_id as a JSON integer and keeps it as a string, 16 digits intact', async () => {
    const { deps } = webhookDeps();
    const job = (job_id: unknown) => ({ events: ['TRANSITION_REQUEST_CREATED'], model_name: 'm', job_spec: { job_id, access_token: 'dapi123', workspace_url: 'https://adb-1.azuredatabricks.net' } });
    assert.equal((await createWebhook(deps, admin, job(1))).webhook.job_spec?.job_id, '1');
    assert.equal((await createWebhook(deps, admin, job(1234567890123456789n))).webhook.job_spec?.job_id, '1234567890123456789');
    assert.equal((await createWebhook(deps, admin, job('9007199254740993'))).webhook.job_spec?.job_id, '9007199254740993');
    await rejects(createWebhook(deps, admin, job(1.5)), 'INVALID_PARAMETER_VALUE', /job_id/);
    await rejects(createWebhook(deps, admin, job(-3)), 'INVALID_PARAMETER_VALUE', /job_id/);
  });

  it('uses DATABRICKS_WORKSPACE_URL for job webhooks without workspace_url', async () => {
    const { deps } = webhookDeps({ defaultWorkspaceUrl: 'https://adb-1.azuredatabricks.net' });
    const { webhook } = await createWebhook(deps, admin, { events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: '7', access_token: 'dapi' } });
    assert.deepEqual(webhook.job_spec, { job_id: '7', workspace_url: 'https://adb-1.azuredatabricks.net' }, 'kept with the webhook');
  });

  it('refuses targets that resolve to private addresses, and accepts names that do not resolve', async () => {
    const { deps } = webhookDeps({ resolve: fakeResolver({ 'internal.example': ['10.0.0.5'], 'mixed.example': ['93.184.216.34', '127.0.0.1'] }) });
    const body = (url: string) => ({ ...slack, http_url_spec: { url } });
    // A name's DNS answers are never told (a manager could map internal DNS with them); a literal is named.
    await rejects(createWebhook(deps, admin, body('https://internal.example/x')), 'INVALID_PARAMETER_VALUE', /^(?!.*(10\.0\.0\.5|private)).*http_url_spec\.url.*internal\.example resolves to an address that is not public/);
    await rejects(createWebhook(deps, admin, body('https://mixed.example/x')), 'INVALID_PARAMETER_VALUE', /^(?!.*(127\.0\.0\.1|93\.184|loopback)).*mixed\.example resolves to an address that is not public/);
    await rejects(createWebhook(deps, admin, body('https://169.254.169.254/latest')), 'INVALID_PARAMETER_VALUE', /link-local/);
    await rejects(createWebhook(deps, admin, body('https://0x7f.1/')), 'INVALID_PARAMETER_VALUE', /loopback/);
    await rejects(createWebhook(deps, admin, body('https://[::1]/')), 'INVALID_PARAMETER_VALUE', /not global unicast/);
    assert.ok((await createWebhook(deps, admin, body('https://not-yet-registered.example/x'))).webhook.id);
  });

  it('refuses URLs with raw whitespace or control characters, which would be stored as given but called normalised', async () => {
    const { deps, store } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    const before = JSON.stringify(await store.get(webhook.id));
    for (const url of ['https://hooks.example.com/a\r\nb', 'https://hooks.example.com/a\tb', 'https://hooks.example.com/a b', ' https://hooks.example.com/a', 'https://hooks.example.com/a\n', 'https://hooks.exa\u0000mple.com/', 'https://hooks.example.com/\u007f']) {
      await rejects(createWebhook(deps, admin, { ...slack, http_url_spec: { url } }), 'INVALID_PARAMETER_VALUE', /'http_url_spec\.url'.*(spaces|control)/);
      await rejects(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url } }), 'INVALID_PARAMETER_VALUE', /'http_url_spec\.url'/);
      await rejects(
        createWebhook(deps, admin, { ...slack, http_url_spec: undefined, job_spec: { job_id: '1', access_token: 'dapi', workspace_url: url.replace('/a', '') } }),
        'INVALID_PARAMETER_VALUE',
        /'job_spec\.workspace_url'/,
      );
    }
    assert.equal(JSON.stringify(await store.get(webhook.id)), before);
    assert.equal(store.rows.size, 1);
  });

  it('lets the allow settings relax the target rules for local development', async () => {
    const { deps } = webhookDeps({ policy: { allowHttp: true, allowPrivate: true }, resolve: fakeResolver({ localhost: ['127.0.0.1'] }) });
    const { webhook } = await createWebhook(deps, admin, { ...slack, http_url_spec: { url: 'http://localhost:8080/hook' } });
    assert.equal(webhook.http_url_spec?.url, 'http://localhost:8080/hook');
  });

  it('stores every special model name', async () => {
    const { deps } = webhookDeps();
    for (const name of SPECIAL_MODEL_NAMES) {
      const { webhook } = await createWebhook(deps, admin, { ...slack, model_name: name });
      assert.equal(webhook.model_name, name);
    }
  });

  it('caps webhooks per model and registry-wide', async () => {
    const { deps } = webhookDeps({ limits: { perModel: 2, registryWide: 1 } });
    await createWebhook(deps, admin, slack);
    await createWebhook(deps, admin, slack);
    await rejects(createWebhook(deps, admin, slack), 'INVALID_PARAMETER_VALUE', /at most 2 webhooks for model_name 'someModel'/);
    await createWebhook(deps, admin, { ...slack, model_name: undefined });
    await rejects(createWebhook(deps, admin, { ...slack, model_name: undefined }), 'INVALID_PARAMETER_VALUE', /at most 1 registry-wide/);
  });

  it('enforces roles: registry-wide needs an admin, publishers cannot manage', async () => {
    const { deps } = webhookDeps();
    await rejects(createWebhook(deps, manager, { ...slack, model_name: undefined }), 'PERMISSION_DENIED', /admin/);
    await rejects(createWebhook(deps, publisher, slack), 'PERMISSION_DENIED', /publisher/);
    assert.ok((await createWebhook(deps, manager, slack)).webhook.id);
  });
});

describe('update', () => {
  it('keeps fields that are not sent, replaces events, updates the timestamp', async () => {
    const { deps, clock } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    clock.advance(5000);
    const { webhook: updated } = await updateWebhook(deps, admin, { id: webhook.id, status: 'ACTIVE', events: ['COMMENT_CREATED', 'MODEL_VERSION_TAG_SET'] });
    assert.equal(updated.status, 'ACTIVE');
    assert.deepEqual(updated.events, ['COMMENT_CREATED', 'MODEL_VERSION_TAG_SET']);
    assert.equal(updated.description, 'Slack notifications');
    assert.equal(updated.model_name, 'someModel');
    assert.equal(updated.creation_timestamp, webhook.creation_timestamp);
    assert.equal(updated.last_updated_timestamp, webhook.creation_timestamp + 5000);
  });

  it('keeps or clears secret and authorization inside a sent http_url_spec', async () => {
    const { deps, store } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    const target = async () => (await store.get(webhook.id))?.value.target;
    const renewed = 'https://hooks.example.com/services/x?sig=new';
    await updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: renewed } });
    assert.deepEqual(await target(), { kind: 'http', url: renewed, enableSslVerification: true, secret: http.secret, authorization: http.authorization });
    await rejects(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: 'https://hooks.example.com/services/y' } }), 'INVALID_PARAMETER_VALUE', /http_url_spec\.authorization.*another path/);
    await updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { secret: '', enable_ssl_verification: false } });
    assert.deepEqual(await target(), { kind: 'http', url: renewed, enableSslVerification: false, authorization: http.authorization });
    await updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { authorization: '' } });
    assert.deepEqual(await target(), { kind: 'http', url: renewed, enableSslVerification: false });
  });

  it('switches the target kind when the other spec is sent', async () => {
    const { deps } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    await rejects(updateWebhook(deps, admin, { id: webhook.id, job_spec: { job_id: '5' } }), 'INVALID_PARAMETER_VALUE', /job_spec.access_token/);
    const { webhook: job } = await updateWebhook(deps, admin, { id: webhook.id, job_spec: { job_id: 5, access_token: 'dapi', workspace_url: 'https://adb-1.azuredatabricks.net' } });
    assert.deepEqual(job.job_spec, { job_id: '5', workspace_url: 'https://adb-1.azuredatabricks.net' });
    assert.equal(job.http_url_spec, undefined);
    await rejects(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { secret: 's' } }), 'INVALID_PARAMETER_VALUE', /http_url_spec.url/);
  });

  it('refuses bad updates and changes nothing', async () => {
    const { deps, store } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    const before = JSON.stringify(await store.get(webhook.id));
    await rejects(updateWebhook(deps, admin, { id: webhook.id, events: ['REGISTERED_MODEL_CREATED'] }), 'INVALID_PARAMETER_VALUE', /registry-wide/);
    await rejects(updateWebhook(deps, admin, { id: webhook.id, model_name: 'other' }), 'INVALID_PARAMETER_VALUE', /Unknown parameter 'model_name'/);
    await rejects(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: 'https://a.example' }, job_spec: { job_id: '1' } }), 'INVALID_PARAMETER_VALUE', /Only one/);
    await rejects(updateWebhook(deps, admin, { id: webhook.id, status: 'PAUSED' }), 'INVALID_PARAMETER_VALUE', /status/);
    await rejects(updateWebhook(deps, admin, { status: 'ACTIVE' }), 'INVALID_PARAMETER_VALUE', /Missing required parameter 'id'/);
    assert.equal(JSON.stringify(await store.get(webhook.id)), before);
  });

  it('answers RESOURCE_DOES_NOT_EXIST for unknown and impossible ids', async () => {
    const { deps } = webhookDeps();
    await rejects(updateWebhook(deps, admin, { id: 'f'.repeat(32), status: 'ACTIVE' }), 'RESOURCE_DOES_NOT_EXIST', /ffff/);
    await rejects(updateWebhook(deps, admin, { id: '1234567890', status: 'ACTIVE' }), 'RESOURCE_DOES_NOT_EXIST');
    await rejects(deleteWebhook(deps, admin, { id: '../../etc' }), 'RESOURCE_DOES_NOT_EXIST');
  });

  it('lets managers touch model webhooks only', async () => {
    const { deps } = webhookDeps();
    const { webhook: wide } = await createWebhook(deps, admin, { ...slack, model_name: undefined });
    const { webhook: model } = await createWebhook(deps, admin, slack);
    await rejects(updateWebhook(deps, manager, { id: wide.id, status: 'ACTIVE' }), 'PERMISSION_DENIED');
    await rejects(deleteWebhook(deps, manager, { id: wide.id }), 'PERMISSION_DENIED');
    assert.equal((await updateWebhook(deps, manager, { id: model.id, status: 'ACTIVE' })).webhook.status, 'ACTIVE');
  });

  it('retries on a concurrent write instead of losing it', async () => {
    const { deps, store } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    const realGet = store.get.bind(store);
    let first = true;
    store.get = async (id) => {
      const found = await realGet(id);
      if (first && found) {
        first = false;
        await store.setStatus(found.value, 'DISABLED', 1);
      }
      return found;
    };
    const { webhook: updated } = await updateWebhook(deps, admin, { id: webhook.id, description: 'new' });
    assert.equal(updated.description, 'new');
    assert.equal(updated.status, 'DISABLED', 'the concurrent status change survived');
  });
});

describe('delete', () => {
  it('removes the webhook and audits it', async () => {
    const { deps, store, audit } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, slack);
    assert.deepEqual(await deleteWebhook(deps, admin, { id: webhook.id }), {});
    assert.equal(store.rows.size, 0);
    assert.deepEqual(audit.entries.map((entry) => entry.action), ['create', 'delete']);
    await rejects(deleteWebhook(deps, admin, { id: webhook.id }), 'RESOURCE_DOES_NOT_EXIST');
  });
});

describe('list', () => {
  it('pages through more webhooks than a page, every one exactly once', async () => {
    const { deps } = webhookDeps();
    const created = new Set<string>();
    for (let index = 0; index < 25; index += 1) created.add((await createWebhook(deps, admin, { ...slack, model_name: `m${index % 3}` })).webhook.id);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await listWebhooks(deps, admin, { max_results: 10, ...(token ? { page_token: token } : {}) });
      seen.push(...(page.webhooks ?? []).map((webhook) => webhook.id));
      token = page.next_page_token;
      pages += 1;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(new Set(seen), created);
    assert.equal(seen.length, 25);
  });

  it('filters by model and by any of several events, and omits empty lists', async () => {
    const { deps } = webhookDeps();
    await createWebhook(deps, admin, { ...slack, events: ['COMMENT_CREATED'] });
    await createWebhook(deps, admin, { ...slack, model_name: 'other', events: ['MODEL_VERSION_TAG_SET'] });
    await createWebhook(deps, admin, { ...slack, model_name: undefined, events: ['REGISTERED_MODEL_CREATED'] });
    assert.equal((await listWebhooks(deps, admin, { model_name: 'someModel' })).webhooks?.length, 1);
    assert.equal((await listWebhooks(deps, admin, { events: ['COMMENT_CREATED', 'REGISTERED_MODEL_CREATED'] })).webhooks?.length, 2);
    assert.equal((await listWebhooks(deps, admin, { events: 'COMMENT_CREATED,MODEL_VERSION_TAG_SET' })).webhooks?.length, 2);
    assert.deepEqual(await listWebhooks(deps, admin, { model_name: 'nobody' }), {});
  });

  it('validates max_results and page_token', async () => {
    const { deps } = webhookDeps();
    await rejects(listWebhooks(deps, admin, { max_results: 0 }), 'INVALID_PARAMETER_VALUE', /max_results/);
    await rejects(listWebhooks(deps, admin, { max_results: '1001' }), 'INVALID_PARAMETER_VALUE', /1000/);
    await rejects(listWebhooks(deps, admin, { page_token: 'garbage' }), 'INVALID_PARAMETER_VALUE', /page_token/);
    await rejects(listWebhooks(deps, admin, { events: ['NOPE'] }), 'INVALID_PARAMETER_VALUE', /events/);
  });

  it('lists, for a manager without model_name, the webhooks of every model but never registry-wide ones', async () => {
    const { deps } = webhookDeps();
    await createWebhook(deps, admin, slack);
    await createWebhook(deps, admin, { ...slack, model_name: undefined });
    assert.deepEqual((await listWebhooks(deps, manager, {})).webhooks?.map((webhook) => webhook.model_name), ['someModel']);
    assert.equal((await listWebhooks(deps, admin, {})).webhooks?.length, 2);
    assert.deepEqual(await listWebhooks(deps, manager, { model_name: 'nobody' }), {});
    await rejects(listWebhooks(deps, publisher, { model_name: 'someModel' }), 'PERMISSION_DENIED');
  });
});
