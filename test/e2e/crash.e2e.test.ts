import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, versionCreated, waitForDeliveries } from '../support/api-helpers.js';
import { answer, hang, startReceiver } from '../support/receiver.js';
import { startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

describe('a runtime killed mid-delivery', async () => {
  const azurite = await testAzurite();

  it('still delivers every event after a restart, duplicates carrying the same webhook-id', async () => {
    const env = testEnv(azurite.connectionString, { DELIVERY_TIMEOUT: '10s' });
    const first = await startRuntime(env, { queueLease: '3s' });
    const receiver = await startReceiver({ behaviour: hang });
    const steady = await startReceiver();
    const stuck = await createHook(first, { model_name: 'crash', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    await createHook(first, { model_name: 'crash', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: steady.url } });
    await publish(first, [versionCreated('crash', { event_id: 'c1' }), versionCreated('crash', { event_id: 'c2' })]);
    await waitFor('both events in flight', () => (receiver.requests.length >= 2 ? true : undefined));
    first.kill();
    await new Promise((resolve) => first.process.once('exit', resolve));
    receiver.setBehaviour(answer(200, 'OK'));

    const second = await startRuntime(env, { queueLease: '3s' });
    const done = await waitForDeliveries(second, stuck, (list) => list.length === 2 && list.every((delivery) => delivery.status === 'SUCCEEDED'), 45_000);
    const byEvent = new Map(done.map((delivery) => [delivery.event_id, delivery.id]));
    for (const eventId of ['c1', 'c2']) {
      const attempts = receiver.requests.filter((request) => request.headers['webhook-id'] === byEvent.get(eventId));
      assert.ok(attempts.length >= 2, `${eventId} was attempted before the kill and again after it, under one webhook-id`);
    }
    assert.equal(new Set(receiver.requests.map((request) => request.headers['webhook-id'])).size, 2, 'two deliveries, whatever the duplicates');
    assert.equal(new Set(steady.requests.map((request) => request.headers['webhook-id'])).size, 2, 'the other webhook got both events too');
    await second.stop();
  });
});
