import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OidcAuthenticator } from '../../src/auth/oidc.js';
import { startIssuer, tamper, unsignedToken } from '../support/oidc-issuer.js';

const AUDIENCE = 'api://registry-webhooks-test';
const now = () => Math.floor(Date.now() / 1000);

describe('OIDC bearer tokens against a local issuer', async () => {
  const issuer = await startIssuer(AUDIENCE);
  const oidc = new OidcAuthenticator({ issuer: issuer.issuer, audience: AUDIENCE, refetchCooldownMs: 0 });

  it('maps the roles claim to the service roles, and names the principal by oid', async () => {
    const token = await issuer.sign({ sub: 's-1', oid: 'o-1', roles: ['Webhooks.Manage', 'Events.Publish', 'Something.Else'] });
    assert.deepEqual(await oidc.authenticate(token), {
      kind: 'principal',
      principal: {
        id: 'oidc:o-1',
        roles: ['manager', 'publisher'],
        grants: [
          { role: 'manager', via: 'roles=Webhooks.Manage' },
          { role: 'publisher', via: 'roles=Events.Publish' },
        ],
      },
    });
    assert.deepEqual(await oidc.authenticate(await issuer.sign({ sub: 's-2', roles: ['Webhooks.Admin'] })), {
      kind: 'principal',
      principal: { id: 'oidc:s-2', roles: ['admin'], grants: [{ role: 'admin', via: 'roles=Webhooks.Admin' }] },
    });
  });

  it('refuses expired, wrong-audience, wrong-issuer, foreign-key, unsigned, HMAC and tampered tokens', async () => {
    const claims = { sub: 'x', roles: ['Webhooks.Admin'] };
    const cases: [string, string, RegExp][] = [
      ['expired', await issuer.sign(claims, { expiresIn: now() - 120 }), /ERR_JWT_EXPIRED/],
      ['wrong audience', await issuer.sign(claims, { audience: 'api://someone-else' }), /ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/],
      ['wrong issuer', await issuer.sign(claims, { issuer: 'https://evil.example' }), /ERR_JWT_CLAIM_VALIDATION_FAILED.*iss/],
      ['unknown key', await issuer.sign(claims, { key: 'foreign' }), /ERR_JWKS_NO_MATCHING_KEY/],
      ['alg none', unsignedToken({ ...claims, iss: issuer.issuer, aud: AUDIENCE, exp: now() + 600 }), /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWS_INVALID/],
      ['tampered payload', tamper(await issuer.sign({ sub: 'x', roles: ['Events.Publish'] }), { ...claims, iss: issuer.issuer, aud: AUDIENCE, exp: now() + 600 }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
    ];
    for (const [name, token, code] of cases) {
      const result = await oidc.authenticate(token);
      assert.equal(result.kind, 'invalid', name);
      assert.match(result.kind === 'invalid' ? result.reason : '', code, name);
    }
  });

  it('accepts a token expired within the allowed clock skew', async () => {
    const result = await oidc.authenticate(await issuer.sign({ sub: 'x', roles: ['Events.Publish'] }, { expiresIn: now() - 30 }));
    assert.equal(result.kind, 'principal');
  });

  it('answers no-role for a valid token without a role of this service', async () => {
    assert.deepEqual(await oidc.authenticate(await issuer.sign({ sub: 'nobody' })), { kind: 'no-role', id: 'oidc:nobody' });
    assert.deepEqual(await oidc.authenticate(await issuer.sign({ sub: 'other', roles: ['Reader'] })), { kind: 'no-role', id: 'oidc:other' });
  });

  it('discovers once, and refetches the keys when a token names a key it does not hold', async () => {
    const discoveries = issuer.hits.discovery;
    await issuer.rotate();
    const result = await oidc.authenticate(await issuer.sign({ sub: 'after-rotation', roles: ['Webhooks.Admin'] }));
    assert.equal(result.kind, 'principal');
    assert.equal(issuer.hits.discovery, discoveries, 'the discovery document is cached');
    assert.equal(issuer.hits.discovery, 1);
    assert.ok(issuer.hits.jwks >= 2, 'the JWKS was fetched again for the new kid');
  });

  it('leaves tokens that are not JWTs to the next authenticator, and says when the issuer is unreachable', async () => {
    assert.deepEqual(await oidc.authenticate('a-static-token-0123456789'), { kind: 'unknown' });
    const down = new OidcAuthenticator({ issuer: 'http://127.0.0.1:9', audience: AUDIENCE });
    const result = await down.authenticate(await issuer.sign({ sub: 'x' }));
    assert.equal(result.kind, 'unavailable');
  });
});
