import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonSyntaxError, parseJson } from '../../src/http/parse-json.js';

describe('strict JSON parser', () => {
  it('parses what JSON.parse parses, to the same values', () => {
    for (const text of ['{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"],"b":{}}', '[]', '"s"', '0', ' {"k" : "v" } ', '{"emoji":"\\ud83d\\ude00 😀"}']) {
      assert.deepEqual(JSON.parse(JSON.stringify(parseJson(text))), JSON.parse(text));
    }
  });

  it('keeps integers past 2^53 exact, as bigint', () => {
    const parsed = parseJson('{"job_id": 1234567890123456789, "small": 9007199254740991}') as Record<string, unknown>;
    assert.equal(parsed.job_id, 1234567890123456789n);
    assert.equal(parsed.small, 9007199254740991);
  });

  it('refuses duplicate keys, lone surrogates, deep nesting and trailing data', () => {
    const cases: [string, RegExp][] = [
      ['{"a":1,"a":2}', /duplicate key 'a'/],
      ['{"a":"\\ud800"}', /unpaired surrogate/],
      ['{"a":"\\udc00x"}', /unpaired surrogate/],
      ['['.repeat(40) + ']'.repeat(40), /nesting deeper than 32/],
      ['{"a":1} x', /unexpected data/],
      ['{"a":1,}', /expected a key/],
      ["{'a':1}", /expected a key/],
      ['{"a":01}', /expected ',' or '}'/],
      ['{"a":"tab\there"}', /control character/],
      ['{"a":NaN}', /unexpected token/],
      ['{"a":1e999}', /out of range/],
      ['', /unexpected end/],
      ['{"a":"\\x"}', /bad escape/],
    ];
    for (const [text, message] of cases) {
      assert.throws(() => parseJson(text), (error: Error) => error instanceof JsonSyntaxError && message.test(error.message), text);
    }
  });

  it('gives objects no prototype, so __proto__ is only a key', () => {
    const parsed = parseJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(parsed), null);
    assert.deepEqual(Object.keys(parsed), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
