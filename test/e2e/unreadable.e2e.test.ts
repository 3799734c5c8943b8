import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { scopeKeyOf } from '../../src/storage/key-encoding.js';
import { TABLES } from '../../src/storage/names.js';
import { SecretBox } from '../../src/storage/secret-box.js';
import { createHook, publish, versionCreated, waitForRequests } from '../support/api-helpers.js';
import { pipelineIdle, testAzurite } from '../support/azurite.js';
import { startReceiver } from '../support/receiver.js';
import { API, MANAGER_TOKEN, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

describe('a stored webhook that cannot be read is skipped and reported; every other one is served and delivered', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));
  const table = azurite.clients.table(TABLES.webhooks);
  const receiver = await startReceiver();
  const hook = (modelName?: string) =>
    createHook(runtime, { ...(modelName ? { model_name: modelName } : {}), events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, secret: 'unreadable-test-secret' } });

  it('skips a row sealed with an unknown key and a row that does not parse, in the event lookup, list and test, and reports them in health', async () => {
    const [healthyModel, healthyWide, wrongKey, broken, wrongKeyWide] = [await hook('m'), await hook(), await hook('m'), await hook('m'), await hook()];
    const foreign = new SecretBox(randomBytes(32));
    await table.updateEntity({ partitionKey: scopeKeyOf('m'), rowKey: wrongKey, Secret: foreign.seal('x', `webhook/${wrongKey}/Secret`) }, 'Merge');
    await table.updateEntity({ partitionKey: scopeKeyOf('m'), rowKey: broken, Events: 'not json' }, 'Merge');
    await table.updateEntity({ partitionKey: scopeKeyOf(undefined), rowKey: wrongKeyWide, Secret: foreign.seal('x', `webhook/${wrongKeyWide}/Secret`) }, 'Merge');

    await publish(runtime, [versionCreated('m')]);
    await waitForRequests(receiver, 2);
    await pipelineIdle(azurite.clients);
    const reached = receiver.requests.map((request) => (JSON.parse(request.body) as { webhook_id: string }).webhook_id).sort();
    assert.deepEqual(reached, [healthyModel, healthyWide].sort(), 'every readable webhook got the event, the unreadable ones nothing');

    const listed = await runtime.api('GET', `${API}/list?model_name=m`);
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual((listed.json.webhooks as { id: string }[]).map((each) => each.id), [healthyModel]);
    const all = await runtime.api('GET', `${API}/list`);
    assert.equal(all.status, 200, all.text);
    assert.deepEqual((all.json.webhooks as { id: string }[]).map((each) => each.id).sort(), [healthyModel, healthyWide].sort());
    const tested = await runtime.api('POST', `${API}/test`, { body: { id: wrongKey } });
    assert.equal(tested.status, 404, tested.text);

    const anonymous = await runtime.api('GET', '/api/health', { token: null });
    assert.equal(anonymous.status, 200, anonymous.text);
    assert.deepEqual(anonymous.json, { status: 'ok', unreadable_webhooks: 3 });
    const manager = await runtime.api('GET', '/api/health', { token: MANAGER_TOKEN });
    assert.deepEqual(manager.json, { status: 'ok', unreadable_webhooks: 3 }, 'only an admin sees the ids');
    const admin = await runtime.api('GET', '/api/health');
    assert.deepEqual(admin.json, { status: 'ok', unreadable_webhooks: 3, unreadable_webhook_ids: [broken, wrongKey, wrongKeyWide].sort() });

    const output = await waitFor('the error log', () => (runtime.output().includes(wrongKey) && runtime.output().includes(broken) ? runtime.output() : undefined));
    assert.match(output, new RegExp(`webhook ${wrongKey} cannot be read`));
  });
});
