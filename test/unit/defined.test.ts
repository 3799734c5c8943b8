import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { definedOnly } from '../../src/shared/defined.js';

describe('definedOnly', () => {
  it('keeps the fields that hold a value, falsy ones included, in their order, and drops the undefined ones', () => {
    const fields = definedOnly({ a: 0, b: undefined, c: '', d: null, e: false });
    assert.deepEqual(fields, { a: 0, c: '', d: null, e: false });
    assert.deepEqual(Object.keys(fields), ['a', 'c', 'd', 'e']);
    assert.equal('b' in fields, false);
  });
});
