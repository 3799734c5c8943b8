import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SPECIAL_MODEL_NAMES } from '../support/fixtures.js';
import { invertedTimestamp, REGISTRY_WIDE_SCOPE, scopeKeyOf, timestampFromInverted } from '../../src/storage/key-encoding.js';

/** Table keys may not hold these, and may not exceed 1 KiB (512 UTF-16 units). */
// eslint-disable-next-line no-control-regex -- control characters are what Table keys forbid
const validTableKey = (key: string): boolean => !/[/\\#?\u0000-\u001f\u007f-\u009f]/.test(key) && key.length <= 512;


describe('partition keys for model names', () => {
  it('gives every special name a valid, distinct Table key', () => {
    const keys = SPECIAL_MODEL_NAMES.map(scopeKeyOf);
    for (const [index, key] of keys.entries()) assert.ok(validTableKey(key), `${SPECIAL_MODEL_NAMES[index]} -> ${key}`);
    assert.equal(new Set(keys).size, keys.length);
    assert.ok(!keys.includes(REGISTRY_WIDE_SCOPE));
  });

  it('is one-to-one where escaping could collide', () => {
    assert.notEqual(scopeKeyOf('a/b'), scopeKeyOf('a%2Fb'));
    assert.notEqual(scopeKeyOf('%'), scopeKeyOf('%25'));
    assert.equal(scopeKeyOf('plain'), 'm_plain');
    assert.equal(scopeKeyOf(undefined), REGISTRY_WIDE_SCOPE);
  });

  it('hashes names whose escaped form would be long', () => {
    assert.match(scopeKeyOf('/'.repeat(256)), /^h_[0-9a-f]{64}$/);
  });

  it('orders inverted timestamps newest first and reverses exactly', () => {
    assert.ok(invertedTimestamp(2000) < invertedTimestamp(1000));
    assert.equal(invertedTimestamp(1_795_000_000_123).length, 13);
    assert.equal(timestampFromInverted(invertedTimestamp(1_795_000_000_123)), 1_795_000_000_123);
  });
});
