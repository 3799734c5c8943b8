import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const scan = (files: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'scan-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/scan-test-artifacts.ts', dir], { encoding: 'utf8' });
};

describe('the secret leak scan', () => {
  it('passes clean artifacts and fails on a secret, its bare bearer token, or a JWT', () => {
    const secrets = `${JSON.stringify('Bearer the-authorization-value')}\n${JSON.stringify('webhook-secret-value')}\n`;
    assert.equal(scan({ 's.list': secrets, 'log.txt': 'all fine here' }).status, 0);
    for (const leaked of ['… webhook-secret-value …', 'token the-authorization-value', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4eHh4eHgifQ.c2lnbmF0dXJlLXZhbHVl']) {
      const result = scan({ 's.list': secrets, 'log.txt': leaked });
      assert.equal(result.status, 1, leaked);
      assert.match(result.stderr, /LEAK/);
    }
  });
});
