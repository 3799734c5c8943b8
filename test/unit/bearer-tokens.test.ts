import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { loadConfig } from '../../src/config/config.js';
import { scopeOfAudience } from '../../src/shared/entra-audiences.js';
import { EntraTokens } from '../../src/outbound/entra-tokens.js';
import type { OutboundClient } from '../../src/outbound/http-client.js';
import { HttpTargetSender, TargetSenders } from '../../src/outbound/target-sender.js';
import { processEventMessage } from '../../src/pipeline/fan-out.js';
import { TokenCache } from '../../src/outbound/token-cache.js';
import { ConfigError } from '../../src/shared/errors.js';
import { ManualClock } from '../support/memory.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

describe('token cache', () => {
  it('keeps a token until shortly before it expires, then fetches again; one fetch serves concurrent callers', async () => {
    const clock = new ManualClock();
    const cache = new TokenCache(clock.read);
    let fetches = 0;
    const fetch = () => Promise.resolve({ kind: 'token' as const, token: `t${++fetches}`, expiresAt: clock.now + 3_600_000 });
    const [a, b] = await Promise.all([cache.get('k', fetch), cache.get('k', fetch)]);
    assert.deepEqual([a, b, fetches], [{ kind: 'token', token: 't1' }, { kind: 'token', token: 't1' }, 1]);
    clock.advance(3_600_000 - 60_001);
    assert.deepEqual(await cache.get('k', fetch), { kind: 'token', token: 't1' });
    clock.advance(2);
    assert.deepEqual(await cache.get('k', fetch), { kind: 'token', token: 't2' }, 'within the last minute: fetched again');
    assert.deepEqual(await cache.get('k', fetch, 't2'), { kind: 'token', token: 't3' }, 'the cached token refused: fetched again');
  });

  it('fetches once however many attempts the receiver refused with the same old token (no herd, no churn)', async () => {
    const clock = new ManualClock();
    const cache = new TokenCache(clock.read);
    let fetches = 0;
    const fetch = () => Promise.resolve({ kind: 'token' as const, token: `t${++fetches}`, expiresAt: clock.now + 3_600_000 });
    assert.deepEqual(await cache.get('k', fetch), { kind: 'token', token: 't1' });
    // Three attempts were on the wire with t1; their 401s come one after another.
    assert.deepEqual(await cache.get('k', fetch, 't1'), { kind: 'token', token: 't2' });
    assert.deepEqual(await cache.get('k', fetch, 't1'), { kind: 'token', token: 't2' }, 'the new token is not thrown away for a refusal of the old one');
    assert.deepEqual(await Promise.all([cache.get('k', fetch, 't2'), cache.get('k', fetch, 't2')]), [{ kind: 'token', token: 't3' }, { kind: 'token', token: 't3' }]);
    assert.equal(fetches, 3);
  });

  it('keeps no error and no token without a lifetime', async () => {
    const cache = new TokenCache(new ManualClock().read);
    let calls = 0;
    await cache.get('k', () => Promise.resolve({ kind: 'error', error: `e${++calls}`, retryable: true }));
    assert.deepEqual(await cache.get('k', () => Promise.resolve({ kind: 'error', error: `e${++calls}`, retryable: true })), { kind: 'error', error: 'e2', retryable: true });
  });
});

describe('entra tokens', () => {
  const credential = (asked: string[]): TokenCredential => ({
    getToken: (scopes) => {
      asked.push(String(scopes));
      return Promise.resolve<AccessToken>({ token: 'entra-token', expiresOnTimestamp: Date.now() + 3_600_000 });
    },
  });

  it('asks the delivery identity for <audience>/.default, only for allowed audiences and the origins listed for them', async () => {
    const asked: string[] = [];
    const made: string[] = [];
    const tokens = new EntraTokens({ clientId: 'delivery', audiences: [{ audience: 'api://orders', origins: ['https://orders.example'] }] }, () => Date.now(), (clientId) => {
      made.push(clientId);
      return credential(asked);
    });
    assert.deepEqual(await tokens.tokenFor('api://orders', 'https://orders.example'), { kind: 'token', token: 'entra-token' });
    assert.equal((await tokens.tokenFor('https://storage.azure.com', 'https://orders.example')).kind, 'error');
    const elsewhere = await tokens.tokenFor('api://orders', 'https://evil.example');
    assert.deepEqual(elsewhere.kind === 'error' ? elsewhere.retryable : undefined, false);
    assert.deepEqual(asked, ['api://orders/.default']);
    assert.deepEqual(made, ['delivery']);
    assert.equal(scopeOfAudience('https://x.example/'), 'https://x.example/.default');
    assert.equal(scopeOfAudience('api://y/.default'), 'api://y/.default');
  });

  it('a webhook whose origin the setting no longer lists for its audience gets no token and fails at once, saying why', async () => {
    const asked: string[] = [];
    const { deps, webhooks, deliveries } = pipelineDeps();
    const sent: string[] = [];
    const client: OutboundClient = { send: (request) => (sent.push(request.url), Promise.resolve({ kind: 'response', status: 200, body: 'OK' })) };
    // The admin narrowed the audience to another origin after the webhook was made.
    const entra = new EntraTokens({ clientId: 'delivery', audiences: [{ audience: 'api://orders', origins: ['https://orders.example'] }] }, () => 0, () => credential(asked));
    const http = new HttpTargetSender(client, () => 0, { oauth2: { tokenFor: () => Promise.reject(new Error('unused')) }, entra });
    const withTokens = { ...deps, senders: new TargetSenders({ http, job: http }) };
    const webhook = makeWebhook({ target: { kind: 'http', url: 'https://collector.example/hook', enableSslVerification: true, azureAdAudience: 'api://orders' } });
    await webhooks.insert(webhook);
    await processEventMessage(withTokens, { event: 'MODEL_VERSION_CREATED', model_name: 'M', version: '1', event_id: 'evt-narrowed' }, { id: 'msg-1', dequeueCount: 1, insertedAt: 0, text: '{}' });
    const [record] = [...deliveries.rows.values()];
    assert.equal(record?.status, 'FAILED');
    assert.equal(record?.attempts, 1, 'not retried');
    assert.match(record?.lastError ?? '', /api:\/\/orders.*https:\/\/collector\.example.*WEBHOOKS_ENTRA_AUDIENCES/);
    assert.deepEqual(asked, [], 'the delivery identity is never asked');
    assert.deepEqual(sent, [], 'nothing is sent');
  });
});

describe('entra settings', () => {
  const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', WEBHOOKS_SECRET_KEY: randomBytes(32).toString('base64') };
  it('audiences need the delivery identity, which must not be the app identity', () => {
    assert.equal(loadConfig(base).entra, undefined);
    const refused = (env: Record<string, string>, setting: string) =>
      assert.throws(() => loadConfig({ ...base, ...env }), (error: unknown) => error instanceof ConfigError && error.setting === setting);
    refused({ WEBHOOKS_ENTRA_AUDIENCES: 'api://a https://a.example' }, 'WEBHOOKS_ENTRA_CLIENT_ID');
    refused({ WEBHOOKS_ENTRA_AUDIENCES: 'api://a https://a.example', WEBHOOKS_ENTRA_CLIENT_ID: 'app', AZURE_CLIENT_ID: 'app' }, 'WEBHOOKS_ENTRA_CLIENT_ID');
    refused({ WEBHOOKS_ENTRA_AUDIENCES: 'api://a https://a.example', WEBHOOKS_ENTRA_CLIENT_ID: 'app', AzureWebJobsStorage__clientId: 'app' }, 'WEBHOOKS_ENTRA_CLIENT_ID');
  });

  it('each audience names the origins its tokens may go to: several, merged across entries, normalised', () => {
    const entra = (audiences: string) => loadConfig({ ...base, WEBHOOKS_ENTRA_AUDIENCES: audiences, WEBHOOKS_ENTRA_CLIENT_ID: 'd' }).entra;
    assert.deepEqual(entra('api://a https://a.example https://a2.example:8443, api://b\thttp://127.0.0.1:7071/ ,'), {
      clientId: 'd',
      audiences: [
        { audience: 'api://a', origins: ['https://a.example', 'https://a2.example:8443'] },
        { audience: 'api://b', origins: ['http://127.0.0.1:7071'] },
      ],
    });
    assert.deepEqual(entra('api://a https://a.example, api://a HTTPS://A2.Example:443 https://a.example')?.audiences, [{ audience: 'api://a', origins: ['https://a.example', 'https://a2.example'] }]);
    assert.deepEqual(entra('api://a https://bücher.example')?.audiences, [{ audience: 'api://a', origins: ['https://xn--bcher-kva.example'] }]);
  });

  it('refuses an entry without an origin, or with anything but an origin, showing the expected form', () => {
    for (const audiences of [
      'api://a',
      'api://a https://a.example, api://b',
      'api://a https://a.example/path',
      'api://a https://a.example?x=1',
      'api://a https://a.example/#top',
      'api://a https://user@a.example',
      'api://a ftp://a.example',
      'api://a a.example',
      'api://a https://*.a.example',
    ]) {
      assert.throws(
        () => loadConfig({ ...base, WEBHOOKS_ENTRA_AUDIENCES: audiences, WEBHOOKS_ENTRA_CLIENT_ID: 'd' }),
        (error: unknown) => error instanceof ConfigError && error.setting === 'WEBHOOKS_ENTRA_AUDIENCES' && error.message.includes('api://orders https://orders.contoso.com'),
        audiences,
      );
    }
  });

  it('knows the app identity in any letter case: a client id is a GUID, and Entra reads it without regard to case', () => {
    const refused = (env: Record<string, string>) =>
      assert.throws(() => loadConfig({ ...base, WEBHOOKS_ENTRA_AUDIENCES: 'api://a https://a.example', ...env }), (error: unknown) => error instanceof ConfigError && error.setting === 'WEBHOOKS_ENTRA_CLIENT_ID');
    const app = '6F1C2B3A-0D4E-4F5A-9B8C-7D6E5F4A3B2C';
    refused({ WEBHOOKS_ENTRA_CLIENT_ID: app.toLowerCase(), AZURE_CLIENT_ID: app });
    refused({ WEBHOOKS_ENTRA_CLIENT_ID: app, AzureWebJobsStorage__clientId: app.toLowerCase() });
  });
});
