import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { loadConfig } from '../../src/config/config.js';
import { EntraTokens, scopeOfAudience } from '../../src/outbound/entra-tokens.js';
import { TokenCache } from '../../src/outbound/token-cache.js';
import { ConfigError } from '../../src/shared/errors.js';
import { ManualClock } from '../support/memory.js';

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
    assert.deepEqual(await cache.get('k', fetch, true), { kind: 'token', token: 't3' }, 'fresh: fetched again');
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

  it('asks the delivery identity for <audience>/.default, only for allowed audiences', async () => {
    const asked: string[] = [];
    const made: string[] = [];
    const tokens = new EntraTokens({ clientId: 'delivery', audiences: ['api://orders'] }, () => Date.now(), (clientId) => {
      made.push(clientId);
      return credential(asked);
    });
    assert.deepEqual(await tokens.tokenFor('api://orders'), { kind: 'token', token: 'entra-token' });
    assert.equal((await tokens.tokenFor('https://storage.azure.com')).kind, 'error');
    assert.deepEqual(asked, ['api://orders/.default']);
    assert.deepEqual(made, ['delivery']);
    assert.equal(scopeOfAudience('https://x.example/'), 'https://x.example/.default');
    assert.equal(scopeOfAudience('api://y/.default'), 'api://y/.default');
  });
});

describe('entra settings', () => {
  const base = { AzureWebJobsStorage: 'UseDevelopmentStorage=true', WEBHOOKS_SECRET_KEY: randomBytes(32).toString('base64') };
  it('audiences need the delivery identity, which must not be the app identity', () => {
    assert.equal(loadConfig(base).entra, undefined);
    assert.deepEqual(loadConfig({ ...base, WEBHOOKS_ENTRA_AUDIENCES: 'api://a, api://b', WEBHOOKS_ENTRA_CLIENT_ID: 'd' }).entra, { clientId: 'd', audiences: ['api://a', 'api://b'] });
    const refused = (env: Record<string, string>, setting: string) =>
      assert.throws(() => loadConfig({ ...base, ...env }), (error: unknown) => error instanceof ConfigError && error.setting === setting);
    refused({ WEBHOOKS_ENTRA_AUDIENCES: 'api://a' }, 'WEBHOOKS_ENTRA_CLIENT_ID');
    refused({ WEBHOOKS_ENTRA_AUDIENCES: 'api://a', WEBHOOKS_ENTRA_CLIENT_ID: 'app', AZURE_CLIENT_ID: 'app' }, 'WEBHOOKS_ENTRA_CLIENT_ID');
    refused({ WEBHOOKS_ENTRA_AUDIENCES: 'api://a', WEBHOOKS_ENTRA_CLIENT_ID: 'app', AzureWebJobsStorage__clientId: 'app' }, 'WEBHOOKS_ENTRA_CLIENT_ID');
  });
});
