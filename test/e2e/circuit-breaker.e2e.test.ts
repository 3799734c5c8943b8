import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, waitForDeliveries, type ApiDelivery } from '../support/api-helpers.js';
import { answer, resetConnection, startReceiver, type Behaviour } from '../support/receiver.js';
import { startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

describe('per-origin circuit breaker, end to end on Azurite', async () => {
  const azurite = await testAzurite();
  // Eight attempts a second apart: far more than the five failures that open the circuit.
  const runtime = await startRuntime(testEnv(azurite.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,1s,1s,1s,1s,1s', WEBHOOKS_CIRCUIT_COOLDOWN: '15s' }));

  it('stops connecting to an origin after 5 failures one at a time, holds what is due without using up attempts, and delivers everything once it answers', async () => {
    const delivered: string[] = [];
    const accepting: Behaviour = (request, n, response, socket) => {
      delivered.push(request.headers['webhook-id'] ?? '');
      return answer(200, 'OK')(request, n, response, socket);
    };
    // Every connection is counted, and while the receiver is "dead" each is closed before any answer.
    const receiver = await startReceiver({ behaviour: resetConnection });
    const webhook = await createHook(runtime, { model_name: 'circuit', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: `${receiver.url}?token=secret-in-query` } });
    const event = (version: number) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'circuit', version: String(version), event_id: `circuit-${version}` });

    // One delivery: each closed connection halves the origin's concurrency (8, 4, 2, 1) and is sent again
    // without using up the attempt; five more in a row at concurrency 1 open the circuit, the last one its outcome.
    await publish(runtime, [event(1)]);
    await waitFor('the circuit opening', () => (runtime.output().includes('circuit to ') ? true : undefined));
    const [first] = await waitForDeliveries(runtime, webhook, (list) => list[0]?.status === 'RETRYING');
    assert.equal(first?.attempts, 1);
    const warning = runtime.output().split('\n').find((line) => line.includes('circuit to ')) ?? '';
    assert.match(warning, new RegExp(`circuit to ${new URL(receiver.url).origin.replace(/[.]/g, '\\.')} opened`));
    assert.doesNotMatch(warning, /\/hook|token|secret/, 'the origin only: no path or query');

    // Three more events while the circuit is open: recorded, but not attempted.
    await publish(runtime, [event(2), event(3), event(4)]);
    const held = await waitForDeliveries(runtime, webhook, (list) => list.length === 4);
    const byEvent = (list: ApiDelivery[], id: string) => list.find((delivery) => delivery.event_id === id);
    for (const id of ['circuit-2', 'circuit-3', 'circuit-4']) {
      assert.deepEqual([byEvent(held, id)?.status, byEvent(held, id)?.attempts], ['PENDING', 0], id);
    }
    // The first delivery's second attempt was due a second after its first: it waits instead.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const waiting = await deliveriesOf(runtime, webhook);
    assert.deepEqual([byEvent(waiting, 'circuit-1')?.status, byEvent(waiting, 'circuit-1')?.attempts], ['RETRYING', 1], 'no attempt used up while the circuit is open');
    assert.equal(receiver.connections, 3 + 5, 'no connection opened after the fifth failure at concurrency 1');

    // The receiver comes back; after the cool-down one probe gets an answer, the circuit closes, all go.
    receiver.setBehaviour(accepting);
    const done = await waitForDeliveries(runtime, webhook, (list) => list.length === 4 && list.every((delivery) => delivery.status === 'SUCCEEDED'), 60_000);
    assert.deepEqual(
      ['circuit-1', 'circuit-2', 'circuit-3', 'circuit-4'].map((id) => byEvent(done, id)?.attempts),
      [2, 1, 1, 1],
      'each held delivery used exactly one attempt more',
    );
    assert.deepEqual([...delivered].sort(), done.map((delivery) => delivery.id).sort(), 'every event delivered once: none lost, none doubled');
  });
});
