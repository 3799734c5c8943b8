import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TABLES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { createHook } from '../support/api-helpers.js';
import { answer, startReceiver } from '../support/receiver.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const rotate = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'scripts/rotate-secrets.ts'], { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });

describe('secret key rotation', async () => {
  const azurite = await testAzurite();
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');

  it('keeps every webhook working through a key rotation, and the command is safe to re-run', async () => {
    const receiver = await startReceiver({ behaviour: answer(200, 'ok') });
    const before = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_SECRET_KEY: oldKey }));
    const id = await createHook(before, { model_name: 'rotated', events: ['COMMENT_CREATED'], http_url_spec: { url: receiver.url, secret: 'rotation-secret', authorization: 'Bearer rotation-auth' } });
    await before.stop();
    const sealedWith = async () => {
      const keys = new Set<string>();
      for await (const entity of azurite.clients.table(TABLES.webhooks).listEntities<{ Secret?: string }>()) if (entity.Secret) keys.add(entity.Secret.split('.')[1] ?? '');
      return keys;
    };
    const original = await sealedWith();

    const during = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_SECRET_KEY: newKey, WEBHOOKS_SECRET_KEY_PREVIOUS: oldKey }));
    assert.equal((await during.api('POST', `${API}/test`, { body: { id } })).status, 200, 'the previous key still opens old secrets');
    assert.equal(receiver.requests.at(-1)?.headers.authorization, 'Bearer rotation-auth');
    await during.stop();

    const env = { ...testEnv(azurite.connectionString, { WEBHOOKS_SECRET_KEY: newKey, WEBHOOKS_SECRET_KEY_PREVIOUS: oldKey }) };
    const first = rotate(env);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /1 webhooks scanned, 1 re-sealed with the current key, 0 unreadable/);
    const second = rotate(env);
    assert.match(second.stdout, /1 webhooks scanned, 0 re-sealed/);
    const rotated = await sealedWith();
    assert.equal(rotated.size, 1);
    assert.notDeepEqual(rotated, original);

    const after = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_SECRET_KEY: newKey }));
    const tested = await after.api('POST', `${API}/test`, { body: { id } });
    assert.equal(tested.status, 200, 'only the new key is needed now');
    assert.equal(receiver.requests.at(-1)?.headers.authorization, 'Bearer rotation-auth');
    await after.stop();
    const lost = rotate(testEnv(azurite.connectionString, { WEBHOOKS_SECRET_KEY: randomBytes(32).toString('base64') }));
    assert.equal(lost.status, 2, 'a key that opens nothing is reported, not silently skipped');
    assert.match(lost.stderr, new RegExp(id));
  });
});
