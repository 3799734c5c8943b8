import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, waitForDeliveries, type ApiDelivery } from '../support/api-helpers.js';
import { startReceiver, type Behaviour } from '../support/receiver.js';
import { API, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

/** The runtime's log lines that mention `text`. */
const linesWith = (output: string, text: string): string[] => output.split('\n').filter((line) => line.includes(text));

describe('attempts sharing one origin, end to end on Azurite', async () => {
  const azurite = await testAzurite();
  // A circuit that opens stays open for the whole file: what it holds cannot slip through on a cool-down.
  const runtime = await startRuntime(testEnv(azurite.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,1s,1s,1s,1s,1s', WEBHOOKS_CIRCUIT_COOLDOWN: '10m' }));

  it('keeps delivering to a fast path while another path of the same origin hangs: the hanging one holds half the slots, then is held alone', async () => {
    let openSlow = 0;
    let peakOpenSlow = 0;
    const behaviour: Behaviour = (request, _n, response, socket) => {
      if (!request.path.startsWith('/slow')) {
        response.writeHead(200).end('OK');
        return;
      }
      openSlow += 1;
      peakOpenSlow = Math.max(peakOpenSlow, openSlow);
      // Given back when the service's side lets go (its FIN, read before 'close', which comes a loop phase later
      // and after a replacement's request): counted on 'close' alone, one slot freed and taken again counts twice.
      let open = true;
      const letGo = () => {
        if (open) openSlow -= 1;
        open = false;
      };
      socket.once('end', letGo).once('close', letGo);
    };
    const receiver = await startReceiver({ behaviour });
    const { origin } = new URL(receiver.url);
    const slow = await createHook(runtime, { model_name: 'shared-slow', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: `${origin}/slow/Tq9/Bz7/secret-path?token=slow-secret` } });
    const fast = await createHook(runtime, { model_name: 'shared-fast', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: `${origin}/fast?token=fast-secret` } });
    const event = (model: string, n: number) => ({ event: 'MODEL_VERSION_CREATED', model_name: model, version: String(n + 1), event_id: `${model}-${n}` });
    const fastDone = (count: number) => waitForDeliveries(runtime, fast, (list) => list.length === count && list.every((delivery) => delivery.status === 'SUCCEEDED'));

    // Twelve events to the hanging path at once; the fast path's events follow once the first is on the wire.
    await publish(runtime, Array.from({ length: 12 }, (_, n) => event('shared-slow', n)));
    await waitFor('the hanging path to hold a request', () => (openSlow > 0 ? true : undefined));
    await publish(runtime, [1, 2, 3].map((n) => event('shared-fast', n)));
    const first = await fastDone(3);
    assert.deepEqual(first.map((delivery) => delivery.attempts), [1, 1, 1], 'delivered at the first attempt, never put off');

    // The hanging path's own timeouts pile up (five in a row): they hold it alone, and the origin stays open.
    await waitForDeliveries(runtime, slow, (list) => list.reduce((sum, delivery) => sum + delivery.attempts, 0) >= 5);
    await publish(runtime, [4, 5, 6].map((n) => event('shared-fast', n)));
    const second = await fastDone(6);
    assert.deepEqual(second.map((delivery) => delivery.attempts), [1, 1, 1, 1, 1, 1]);
    const held = await waitFor('the hanging path to be held', () => linesWith(runtime.output(), 'held after').at(0));

    assert.match(held, new RegExp(`endpoint on ${origin.replace(/[.]/g, '\\.')} held after 5 timeouts in a row`));
    assert.doesNotMatch(held, /slow|secret|Tq9|Bz7|token/, 'the origin only: a path can be a secret (a Slack URL is one)');
    assert.deepEqual(linesWith(runtime.output(), 'circuit to '), [], 'timeouts never open the origin\'s circuit');
    // The origin starts with 8 slots and each fast delivery before the hold adds one: at most half of 11.
    assert.ok(peakOpenSlow <= 5, `the hanging path held ${peakOpenSlow} slots at once`);
    console.log(`| a path hanging beside a fast path of the same origin (hanging path held at most ${peakOpenSlow} slots; fast path, each at its first attempt) | 6 | 6 | 6 | 0 | 0 |`);
    const slowDeliveries = await deliveriesOf(runtime, slow);
    assert.equal(slowDeliveries.filter((delivery) => delivery.status === 'SUCCEEDED').length, 0);
    assert.ok(slowDeliveries.every((delivery) => (delivery.last_error ?? 'timed out').includes('timed out')), 'every attempt of the hanging path timed out');
  });

  it('delivers a burst to a receiver that resets connections past five open: every event once, no attempt used up, no circuit', async () => {
    const receiver = await startReceiver({ acceptAtMost: 5, behaviour: (_request, _n, response) => void setTimeout(() => response.writeHead(200).end('OK'), 20) });
    const webhook = await createHook(runtime, { model_name: 'burst', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const batches = 4;
    const perBatch = 50;
    for (let batch = 0; batch < batches; batch += 1) {
      await publish(runtime, Array.from({ length: perBatch }, (_, n) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'burst', version: String(n + 1), event_id: `burst-${batch}-${n}` })));
    }
    const done = await waitFor('every delivery to succeed', async () => {
      const response = await runtime.api('GET', `${API}/deliveries?webhook_id=${webhook}&max_results=1000`);
      const list = (response.json.deliveries as ApiDelivery[] | undefined) ?? [];
      return list.length === batches * perBatch && list.every((delivery) => delivery.status === 'SUCCEEDED') ? list : undefined;
    }, 120_000);
    assert.ok(receiver.resets > 0, 'the receiver did reset connections (the fault happened)');
    assert.deepEqual(done.filter((delivery) => delivery.attempts !== 1).map((delivery) => [delivery.event_id, delivery.attempts]), [], 'no attempt used up by a reset');
    const ids = receiver.requests.map((request) => request.headers['webhook-id']);
    assert.equal(new Set(ids).size, batches * perBatch, 'every event arrived');
    assert.equal(ids.length, batches * perBatch, 'once each: a reset connection carried no request');
    assert.deepEqual(linesWith(runtime.output(), `circuit to ${new URL(receiver.url).origin}`), [], 'overload is not death: the circuit never opened');
    console.log(`| a burst of ${batches * perBatch} events to a receiver resetting connections past 5 open (${receiver.resets} resets, attempts used by them: 0) | ${batches * perBatch} | ${batches * perBatch} | ${new Set(ids).size} | ${ids.length - new Set(ids).size} | 0 |`);
  });

  it('still opens the circuit of an origin where nothing listens, and holds what comes next without using attempts', async () => {
    const receiver = await startReceiver();
    await receiver.down();
    const webhook = await createHook(runtime, { model_name: 'dead', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    await publish(runtime, [{ event: 'MODEL_VERSION_CREATED', model_name: 'dead', version: '1', event_id: 'dead-1' }]);
    const { origin } = new URL(receiver.url);
    await waitFor('the circuit opening', () => linesWith(runtime.output(), `circuit to ${origin} opened`).at(0));
    const [first] = await waitForDeliveries(runtime, webhook, (list) => list[0]?.status === 'RETRYING');
    assert.equal(first?.attempts, 1, 'the refusal that opened the circuit is the one attempt used');
    await publish(runtime, [{ event: 'MODEL_VERSION_CREATED', model_name: 'dead', version: '2', event_id: 'dead-2' }]);
    const held = await waitForDeliveries(runtime, webhook, (list) => list.length === 2);
    assert.deepEqual(held.map((delivery) => [delivery.event_id, delivery.status, delivery.attempts]).sort(), [['dead-1', 'RETRYING', 1], ['dead-2', 'PENDING', 0]]);
  });
});
