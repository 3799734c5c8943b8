import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SecretBox } from '../../src/storage/secret-box.js';

describe('SecretBox', () => {
  const key = randomBytes(32);

  it('round-trips and never leaves the plaintext in the sealed value', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('anyRandomString', 'webhook/1/Secret');
    assert.match(sealed, /^v1\.[0-9a-f]{8}\./);
    assert.ok(!sealed.includes('anyRandomString'));
    assert.equal(box.open(sealed, 'webhook/1/Secret'), 'anyRandomString');
    assert.notEqual(box.seal('same', 'c'), box.seal('same', 'c'), 'a fresh IV each time');
  });

  it('binds the value to its row and field', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('token', 'webhook/1/Secret');
    assert.throws(() => box.open(sealed, 'webhook/2/Secret'));
    assert.throws(() => box.open(sealed, 'webhook/1/Authorization'));
  });

  it('detects tampering', () => {
    const box = new SecretBox(key);
    const sealed = box.seal('token', 'c');
    const [version, keyId, payload = ''] = sealed.split('.');
    const bytes = Buffer.from(payload, 'base64url');
    bytes[14] = (bytes[14] ?? 0) ^ 1;
    assert.throws(() => box.open(`${version}.${keyId}.${bytes.toString('base64url')}`, 'c'));
  });

  it('opens values sealed with the previous key, and marks them stale', () => {
    const oldKey = randomBytes(32);
    const sealedWithOld = new SecretBox(oldKey).seal('old secret', 'c');
    const rotated = new SecretBox(key, oldKey);
    assert.equal(rotated.open(sealedWithOld, 'c'), 'old secret');
    assert.equal(rotated.isStale(sealedWithOld), true);
    assert.equal(rotated.isStale(rotated.seal('new', 'c')), false);
    assert.throws(() => new SecretBox(key).open(sealedWithOld, 'c'), /neither the current nor the previous key/);
  });
});
