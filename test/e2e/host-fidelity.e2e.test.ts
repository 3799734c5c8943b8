import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { functionTable, type HttpFunction } from '../../src/function-table.js';
import { parseRouteTemplate, samplePath } from '../../src/local/route-template.js';
import { poisonQueueOf, QUEUES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

const UNRESOLVED = '@Microsoft.KeyVault(SecretUri=https://example-vault.vault.azure.net/secrets/webhooks-secret-key/)';

describe('local runtime as the Functions host: a setting Azure could not resolve', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_SECRET_KEY: UNRESOLVED }));

  it('starts, registers every function, and /api/health answers 503 naming the setting', async () => {
    const health = await runtime.api('GET', '/api/health', { token: null });
    assert.equal(health.status, 503, health.text);
    assert.equal(health.json.error_code, 'TEMPORARILY_UNAVAILABLE');
    assert.match(String(health.json.message), /WEBHOOKS_SECRET_KEY/);
    assert.doesNotMatch(health.text, /example-vault/);
    assert.ok(health.headers.get('retry-after'));
    assert.match(runtime.output(), /CONFIGURATION ERROR in WEBHOOKS_SECRET_KEY/);
  });

  it('every HTTP function of the table answers 503 naming the setting', async () => {
    const table = functionTable(() => Promise.reject(new Error('not used'))).filter((fn): fn is HttpFunction => fn.kind === 'http');
    for (const fn of table) {
      const method = fn.methods[0] ?? 'GET';
      const response = await runtime.api(method, `/api${samplePath(parseRouteTemplate(fn.route))}`, method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? {} : { body: {} });
      assert.equal(response.status, 503, `${fn.name}: ${response.text}`);
      if (method !== 'HEAD') assert.match(String(response.json.message), /WEBHOOKS_SECRET_KEY/, fn.name);
    }
  });

  it('a queue message is failed (retried later, never completed) and the setting is logged as an error', async () => {
    const queue = azurite.clients.queue(QUEUES.registryEvents);
    await queue.sendMessage(Buffer.from(JSON.stringify({ event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '1' })).toString('base64'));
    await waitFor('the failed invocation', () => (/registry-events: CONFIGURATION ERROR in WEBHOOKS_SECRET_KEY/.test(runtime.output()) ? true : undefined));
    await waitFor('the failure to be recorded', () => (/Executed 'registry-events' \(Failed/.test(runtime.output()) ? true : undefined));
    const properties = await queue.getProperties();
    assert.equal(properties.approximateMessagesCount, 1, 'the message is still on the queue, to be retried');
  });
});

describe('local runtime as the Functions host: queue messages that could forge trigger metadata', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));
  const poisonTexts = async (queueName: string, count: number) =>
    waitFor(`${count} poison messages on ${queueName}`, async () => {
      const poison = azurite.clients.queue(poisonQueueOf(queueName));
      const { peekedMessageItems } = await poison.peekMessages({ numberOfMessages: 32 });
      return peekedMessageItems.length >= count ? peekedMessageItems.map((item) => Buffer.from(item.messageText, 'base64').toString('utf8')) : undefined;
    });

  it('refuses an event message whose top-level keys collide with metadata names to the poison queue, with the reason logged', async () => {
    const forged = [
      { id: 'forged-id', event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '1' },
      { events: [{ event: 'MODEL_VERSION_CREATED', model_name: 'm', version: '1' }], DequeueCount: 7 },
    ];
    const queue = azurite.clients.queue(QUEUES.registryEvents);
    for (const message of forged) await queue.sendMessage(Buffer.from(JSON.stringify(message)).toString('base64'));
    const poisoned = await poisonTexts(QUEUES.registryEvents, 2);
    assert.deepEqual(poisoned.map((text) => JSON.stringify(JSON.parse(text))).sort(), forged.map((message) => JSON.stringify(message)).sort());
    assert.match(runtime.output(), /poison queue: .*'id' collide with the queue trigger's metadata/);
    assert.match(runtime.output(), /poison queue: .*'DequeueCount' collide/);
  });

  it('refuses a delivery message that carries a metadata name to webhook-deliveries-poison', async () => {
    const forged = { delivery_id: 'x', attempt: 1, schedule_index: 0, popReceipt: 'p' };
    await azurite.clients.queue(QUEUES.deliveries).sendMessage(Buffer.from(JSON.stringify(forged)).toString('base64'));
    const [poisoned] = await poisonTexts(QUEUES.deliveries, 1);
    assert.deepEqual(JSON.parse(poisoned ?? '{}'), forged);
    assert.match(runtime.output(), /delivery message moved to the poison queue: .*'popReceipt'/);
  });
});
