import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { startIssuer, tamper, unsignedToken } from '../support/oidc-issuer.js';
import { startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, startRuntime, testEnv } from '../support/runtime-process.js';

const AUDIENCE = 'api://registry-webhooks-e2e';

describe('OIDC bearer tokens through the runtime, beside static tokens', async () => {
  const azurite = await testAzurite();
  const issuer = await startIssuer(AUDIENCE);
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_AUTH_OIDC_ISSUER: issuer.issuer, WEBHOOKS_AUTH_OIDC_AUDIENCE: AUDIENCE }));
  const receiver = await startReceiver();
  const create = { model_name: 'oidc-model', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } };

  it('lets app roles do what their service roles may, and audits the OIDC subject', async () => {
    const manager = await issuer.sign({ sub: 'team-sp', oid: 'oid-manager', roles: ['Webhooks.Manage'] });
    const created = await runtime.api('POST', `${API}/create`, { token: manager, body: create });
    assert.equal(created.status, 200, created.text);
    assert.equal((await runtime.api('POST', `${API}/create`, { token: manager, body: { ...create, model_name: undefined } })).status, 403);
    const publisher = await issuer.sign({ sub: 'registry-mi', roles: ['Events.Publish'] });
    assert.equal((await runtime.api('POST', `${API}/publish`, { token: publisher, body: { event: 'MODEL_VERSION_CREATED', model_name: 'oidc-model', version: '1' } })).status, 202);
    assert.equal((await runtime.api('GET', `${API}/list?model_name=oidc-model`, { token: publisher })).status, 403);
    const admin = await issuer.sign({ sub: 'admin-user', roles: ['Webhooks.Admin'] });
    assert.equal((await runtime.api('GET', `${API}/list`, { token: admin })).status, 200);
    assert.equal((await runtime.api('GET', `${API}/list`, { token: ADMIN_TOKEN })).status, 200, 'static tokens still work');
  });

  it('answers 401 for bad tokens and 403 for a token without roles', async () => {
    const claims = { sub: 'x', roles: ['Webhooks.Admin'] };
    const exp = Math.floor(Date.now() / 1000) + 600;
    const refused: [string, string, number][] = [
      ['expired', await issuer.sign(claims, { expiresIn: Math.floor(Date.now() / 1000) - 300 }), 401],
      ['wrong audience', await issuer.sign(claims, { audience: 'api://other' }), 401],
      ['wrong issuer', await issuer.sign(claims, { issuer: 'https://login.example/other' }), 401],
      ['unknown key', await issuer.sign(claims, { key: 'foreign' }), 401],
      ['alg none', unsignedToken({ ...claims, iss: issuer.issuer, aud: AUDIENCE, exp }), 401],
      ['tampered', tamper(await issuer.sign({ sub: 'x', roles: ['Events.Publish'] }), { ...claims, iss: issuer.issuer, aud: AUDIENCE, exp }), 401],
      ['garbage', 'not.a.jwt', 401],
      ['missing roles', await issuer.sign({ sub: 'no-roles' }), 403],
    ];
    for (const [name, token, status] of refused) {
      const response = await runtime.api('GET', `${API}/list`, { token });
      assert.equal(response.status, status, `${name}: ${response.text}`);
      assert.equal(response.json.error_code, status === 401 ? 'UNAUTHENTICATED' : 'PERMISSION_DENIED', name);
    }
  });
});
