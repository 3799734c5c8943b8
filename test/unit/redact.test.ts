import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactSecrets } from '../../src/delivery/redact.js';

describe('redacting a target answer', () => {
  it("cuts the webhook's own secret, authorization (with and without its scheme) and access token out", () => {
    const http = { kind: 'http' as const, url: 'https://x', enableSslVerification: true, secret: 'shh-secret-value', authorization: 'Bearer token-123456' };
    const echoed = 'headers: {"authorization":"Bearer token-123456"} token-123456 secret=shh-secret-value';
    assert.equal(redactSecrets(echoed, http), 'headers: {"authorization":"[REDACTED]"} [REDACTED] secret=[REDACTED]');
    assert.equal(redactSecrets('dapi-access-token-9 in body', { kind: 'job', jobId: '1', accessToken: 'dapi-access-token-9' }), '[REDACTED] in body');
    assert.equal(redactSecrets('nothing to hide', http), 'nothing to hide');
  });
});
