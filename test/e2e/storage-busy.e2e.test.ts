import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startCountingProxy } from '../../bench/storage-proxy.js';
import { azuriteConnectionString } from '../../src/storage/azure-clients.js';
import { testAzurite } from '../support/azurite.js';
import { createHook } from '../support/api-helpers.js';
import { startReceiver } from '../support/receiver.js';
import { API, startRuntime, testEnv, type ApiResponse } from '../support/runtime-process.js';

/** Storage throttling (503 ServerBusy from a proxy in front of Azurite) through the runtime. */
describe('storage answering 503 ServerBusy', async () => {
  const azurite = await testAzurite();
  const proxy = await startCountingProxy(azurite.endpoints);
  after(() => proxy.close());
  const runtime = await startRuntime(testEnv(azuriteConnectionString(proxy.endpoints)));
  const receiver = await startReceiver();

  const assertBusy = (response: ApiResponse, what: string) => {
    assert.equal(response.status, 503, `${what}: ${response.text}`);
    assert.equal(response.json.error_code, 'TEMPORARILY_UNAVAILABLE', what);
    assert.match(response.headers.get('retry-after') ?? '', /^\d+$/, `${what} says when to retry`);
  };

  it('answers 503 TEMPORARILY_UNAVAILABLE with Retry-After, changes nothing, and logs no stack', async () => {
    const kept = await createHook(runtime, { model_name: 'busy-model', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const logStart = runtime.output().length;
    proxy.busy = true;
    try {
      assertBusy(await runtime.api('GET', `${API}/list?model_name=busy-model`), 'list');
      assertBusy(
        await runtime.api('POST', `${API}/create`, { body: { model_name: 'busy-model', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } } }),
        'create',
      );
      assertBusy(await runtime.api('DELETE', `${API}/delete`, { body: { id: kept } }), 'delete');
      assertBusy(await runtime.api('POST', `${API}/publish`, { body: { event: 'MODEL_VERSION_CREATED', model_name: 'busy-model', version: '1' } }), 'publish');
    } finally {
      proxy.busy = false;
    }
    const listed = await runtime.api('GET', `${API}/list?model_name=busy-model`);
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual((listed.json.webhooks as { id: string }[]).map((hook) => hook.id), [kept], 'nothing created or deleted while storage was busy');
    const log = runtime.output().slice(logStart);
    assert.match(log, /storage unavailable/, 'the trouble is logged as a warning');
    assert.doesNotMatch(log, /unexpected error|INTERNAL_ERROR/, 'not as a defect');
    assert.doesNotMatch(log, /\n\s+at .+:\d+:\d+\)?/, 'no stack');
  });
});
