import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactSecrets } from '../../src/outbound/redact.js';

describe('redacting a target answer', () => {
  it("cuts the webhook's own secret, authorization (with and without its scheme) and access token out", () => {
    const http = { kind: 'http' as const, url: 'https://x', enableSslVerification: true, secret: 'shh-secret-value', authorization: 'Bearer token-123456' };
    const echoed = 'headers: {"authorization":"Bearer token-123456"} token-123456 secret=shh-secret-value';
    assert.equal(redactSecrets(echoed, http), 'headers: {"authorization":"[REDACTED]"} [REDACTED] secret=[REDACTED]');
    assert.equal(redactSecrets('dapi-access-token-9 in body', { kind: 'job', jobId: '1', accessToken: 'dapi-access-token-9' }), '[REDACTED] in body');
    assert.equal(redactSecrets('nothing to hide', http), 'nothing to hide');
  });
});

describe('redacting every encoding a target could echo', () => {
  const http = (authorization: string, secret?: string) => ({ kind: 'http' as const, url: 'https://x', enableSslVerification: true, authorization, ...(secret ? { secret } : {}) });

  it('cuts JSON-escaped echoes, once and twice escaped, with \\u and \\/ escapes', () => {
    const target = http('tok"en\\x/é-long-enough');
    const once = JSON.stringify({ authorization: 'tok"en\\x/é-long-enough' });
    assert.equal(redactSecrets(once, target), '{"authorization":"[REDACTED]"}');
    assert.equal(redactSecrets(JSON.stringify({ data: once }), target), JSON.stringify({ data: '{"authorization":"[REDACTED]"}' }));
    assert.equal(redactSecrets('"tok\\"en\\\\x\\/\\u00e9-long-enough"', target), '"[REDACTED]"');
    assert.equal(redactSecrets('"tok\\"en\\\\x/\\u00E9-long-enough"', target), '"[REDACTED]"');
  });

  it('cuts URL-encoded, form-encoded and HTML-escaped echoes', () => {
    const target = http('Bearer a b&c<d>"e\'f/g+h');
    for (const echoed of [encodeURIComponent('Bearer a b&c<d>"e\'f/g+h'), 'Bearer+a+b%26c%3Cd%3E%22e%27f%2Fg%2Bh', 'Bearer a b&amp;c&lt;d&gt;&quot;e&#39;f/g+h', 'Bearer%20a%20b%26c%3cd%3e%22e%27f%2fg%2bh']) {
      assert.equal(redactSecrets(`x=${echoed};`, target), 'x=[REDACTED];', echoed);
    }
  });

  it('cuts the secret out of base64, at any alignment inside a longer base64 text, and the user:pass of Basic authorization', () => {
    const token = 'opaque-token-value-123';
    const target = http(`Bearer ${token}`);
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      const encoded = Buffer.from(`${prefix}Authorization: Bearer ${token}\r\nMore: headers`).toString('base64');
      const redacted = redactSecrets(encoded, target);
      assert.ok(redacted.includes('[REDACTED]'), `prefix ${prefix.length}`);
      const left = redacted.split('[REDACTED]').join('');
      assert.ok(!Buffer.from(left, 'base64').toString('latin1').includes(token.slice(1, -1)), `prefix ${prefix.length}: nothing of the token decodes`);
    }
    assert.equal(redactSecrets(Buffer.from(token).toString('base64url'), target), '[REDACTED]');
    const basic = http(`Basic ${Buffer.from('deploy-bot:pa55word-xyz').toString('base64')}`);
    assert.equal(redactSecrets('{"user":"deploy-bot","password":"pa55word-xyz","both":"deploy-bot:pa55word-xyz"}', basic), '{"user":"deploy-bot","password":"[REDACTED]","both":"[REDACTED]"}');
  });

  it('cuts secrets shorter than 6 characters wherever they stand alone, and leaves them inside longer words', () => {
    const target = http('ab1', 'k9');
    assert.equal(redactSecrets('{"authorization":"ab1","x-sig":"k9"}', target), '{"authorization":"[REDACTED]","x-sig":"[REDACTED]"}');
    assert.equal(redactSecrets('Authorization: ab1\r\n', target), 'Authorization: [REDACTED]\r\n');
    assert.equal(redactSecrets('cab12 k99 ok9', target), 'cab12 k99 ok9', 'a short secret inside a longer word is not cut, so bodies stay readable');
    assert.equal(redactSecrets(`auth=${encodeURIComponent('a"b')}&x=${JSON.stringify('a"b')}`, http('a"b')), 'auth=[REDACTED]&x="[REDACTED]"');
  });
});
