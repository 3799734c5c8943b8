import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizeRequest } from '../../src/auth/authorize-request.js';
import { ChainAuthenticator, StaticTokenAuthenticator } from '../../src/auth/static-tokens.js';
import { ApiError } from '../../src/shared/errors.js';

const tokens = new StaticTokenAuthenticator([
  { role: 'admin', token: 'admin-token-0123456789' },
  { role: 'publisher', token: 'publisher-token-012345' },
]);

describe('bearer tokens', () => {
  it('resolve to a principal whose id never contains the token', async () => {
    const principal = await authorizeRequest('Bearer admin-token-0123456789', tokens);
    assert.deepEqual(principal.roles, ['admin']);
    assert.match(principal.id, /^token:admin:[0-9a-f]{8}$/);
    assert.ok(!principal.id.includes('admin-token'));
    assert.deepEqual((await authorizeRequest('bearer   publisher-token-012345 ', tokens)).roles, ['publisher']);
  });

  it('answer 401 for missing, malformed or unknown credentials', async () => {
    for (const header of [null, '', 'Basic abc', 'Bearer', 'Bearer a b', 'Bearer admin-token-012345678', 'Bearer admin-token-0123456789x']) {
      await assert.rejects(authorizeRequest(header, tokens), (error: unknown) => error instanceof ApiError && error.code === 'UNAUTHENTICATED' && error.status === 401, String(header));
    }
  });

  it('chain authenticators, first that knows the token decides, no-role is 403', async () => {
    const noRole = { authenticate: () => Promise.resolve({ kind: 'no-role' as const, id: 'oidc:x' }) };
    await assert.rejects(authorizeRequest('Bearer whatever', new ChainAuthenticator([tokens, noRole])), (error: unknown) => error instanceof ApiError && error.code === 'PERMISSION_DENIED');
    assert.deepEqual((await authorizeRequest('Bearer admin-token-0123456789', new ChainAuthenticator([tokens, noRole]))).roles, ['admin']);
  });
});
