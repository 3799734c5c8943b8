import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/shared/errors.js';
import { createWebhook, updateWebhook } from '../../src/webhooks/webhook-service.js';
import { admin, fakeResolver, webhookDeps } from '../support/deps.js';

const resolve = fakeResolver({ 'hooks.example.com': ['93.184.216.34'], 'other.example.com': ['93.184.216.35'], 'tokens.example.com': ['93.184.216.36'], 'internal.example.com': ['10.0.0.5'] });
const oauth2 = { token_url: 'https://tokens.example.com/token', client_id: 'c', client_secret: 'oauth-secret-value-123' };
const base = { model_name: 'm', events: ['MODEL_VERSION_CREATED'] };

async function refused(call: Promise<unknown>, field: string): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof ApiError, String(error));
    assert.equal(error.code, 'INVALID_PARAMETER_VALUE');
    assert.ok(error.message.includes(`'${field}'`), error.message);
    return true;
  });
}

describe('routing fields of an HTTP target', () => {
  it('refuses a token URL that reaches a private address, as target URLs are', async () => {
    const { deps } = webhookDeps({ resolve });
    await refused(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/x', oauth2: { ...oauth2, token_url: 'https://internal.example.com/token' } } }), 'http_url_spec.oauth2.token_url');
    await refused(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/x', oauth2: { ...oauth2, token_url: 'https://169.254.169.254/metadata/identity/oauth2/token' } } }), 'http_url_spec.oauth2.token_url');
  });

  it('holds one credential kind; an audience must be allowed; none follows a move to another origin or path', async () => {
    const { deps, store } = webhookDeps({ resolve });
    await refused(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/x', oauth2, azure_ad_audience: 'api://orders-receiver' } }), 'http_url_spec.azure_ad_audience');
    await refused(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/x', azure_ad_audience: 'https://management.azure.com' } }), 'http_url_spec.azure_ad_audience');
    const { webhook } = await createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/x', azure_ad_audience: 'api://orders-receiver' } });
    await refused(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: 'https://other.example.com/x' } }), 'http_url_spec.azure_ad_audience');
    await refused(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: 'https://hooks.example.com/y' } }), 'http_url_spec.azure_ad_audience');
    const samePlace = await updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: 'https://hooks.example.com/x?v=2' } });
    assert.equal(samePlace.webhook.http_url_spec?.azure_ad_audience, 'api://orders-receiver');
    const switched = await updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { oauth2 } });
    assert.deepEqual(switched.webhook.http_url_spec?.oauth2, { token_url: oauth2.token_url, client_id: 'c' });
    assert.equal(switched.webhook.http_url_spec?.azure_ad_audience, undefined, 'a new credential replaces the old');
    assert.ok(!JSON.stringify(switched).includes(oauth2.client_secret));
    const stored = (await store.get(webhook.id))?.value.target;
    assert.equal(stored?.kind === 'http' ? stored.oauth2?.clientSecret : undefined, oauth2.client_secret);
  });

  it("an audience's tokens go only to the origins the setting lists for it: a harvest attempt is refused and stores nothing", async () => {
    const { deps, store } = webhookDeps({ resolve });
    const harvest = createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://other.example.com/collect', azure_ad_audience: 'api://orders-receiver' } });
    await refused(harvest, 'http_url_spec.azure_ad_audience');
    await assert.rejects(harvest, (error: unknown) => error instanceof ApiError && error.message.includes('https://hooks.example.com'));
    assert.equal(store.rows.size, 0, 'nothing stored');
    // The same audience spelled as its scope, with a trailing slash or in capitals asks for the same token.
    for (const audience of ['api://orders-receiver/.default', 'api://orders-receiver/', 'API://Orders-Receiver']) {
      await refused(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://other.example.com/collect', azure_ad_audience: audience } }), 'http_url_spec.azure_ad_audience');
    }
    assert.equal(store.rows.size, 0);
    const listed = await createWebhook(deps, admin, { ...base, http_url_spec: { url: 'HTTPS://Hooks.Example.COM:443/in', azure_ad_audience: 'api://orders-receiver' } });
    assert.equal(listed.webhook.http_url_spec?.azure_ad_audience, 'api://orders-receiver', 'the listed origin in another spelling');
    // The listed host as user info is no way in: the URL is refused, and its origin is the other host anyway.
    await assert.rejects(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com@other.example.com/x', azure_ad_audience: 'api://orders-receiver' } }), ApiError);
    await refused(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com:8443/x', azure_ad_audience: 'api://orders-receiver' } }), 'http_url_spec.azure_ad_audience');
  });

  it('an update moving an Entra webhook to an unlisted origin is refused even with the audience sent again, and changes nothing', async () => {
    const { deps, store } = webhookDeps({ resolve });
    const { webhook } = await createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/x', azure_ad_audience: 'api://orders-receiver' } });
    const before = JSON.stringify(await store.get(webhook.id));
    await refused(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: 'https://other.example.com/x', azure_ad_audience: 'api://orders-receiver' } }), 'http_url_spec.azure_ad_audience');
    assert.equal(JSON.stringify(await store.get(webhook.id)), before);
    const samePlace = await updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { url: 'https://hooks.example.com/y', azure_ad_audience: 'api://orders-receiver' } });
    assert.equal(samePlace.webhook.http_url_spec?.url, 'https://hooks.example.com/y');
  });

  it('a format whose service has a fixed URL shape refuses another URL', async () => {
    const { deps } = webhookDeps({ resolve });
    await refused(createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/x', format: 'github_dispatch' } }), 'http_url_spec.url');
    const { webhook } = await createWebhook(deps, admin, { ...base, http_url_spec: { url: 'https://hooks.example.com/repos/o/r/dispatches', format: 'github_dispatch' } });
    await refused(updateWebhook(deps, admin, { id: webhook.id, http_url_spec: { format: 'azure_devops_pipeline' } }), 'http_url_spec.url');
  });
});
