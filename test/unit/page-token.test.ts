import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/shared/errors.js';
import { cursorOf, decodePageToken, encodePageToken } from '../../src/storage/page-token.js';

describe('page tokens', () => {
  it('round-trip a keyset position', () => {
    const cursor = { partition: 'm_a%2Fb 😀', row: '0123456789abcdef0123456789abcdef' };
    const token = encodePageToken(cursor);
    assert.match(token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(decodePageToken(token), cursor);
  });

  it('refuse anything this API did not issue', () => {
    for (const bad of ['', 'not a token', 'e30', Buffer.from('{"p":1,"r":"x"}').toString('base64url'), Buffer.from('[]').toString('base64url'), '%%%']) {
      assert.throws(
        () => decodePageToken(bad),
        (error: unknown) => error instanceof ApiError && error.code === 'INVALID_PARAMETER_VALUE' && /page_token/.test(error.message),
        bad,
      );
    }
  });

  it("refuse a token from another partition's listing", () => {
    const token = encodePageToken({ partition: 'm_a', row: 'x' });
    assert.deepEqual(cursorOf(token, 'm_a', 'another model'), { partition: 'm_a', row: 'x' });
    assert.deepEqual(cursorOf(token, undefined, 'another model'), { partition: 'm_a', row: 'x' });
    assert.equal(cursorOf(undefined, 'm_a', 'another model'), undefined);
    assert.throws(() => cursorOf(token, 'm_b', 'another model'), /belongs to a listing of another model/);
  });
});
