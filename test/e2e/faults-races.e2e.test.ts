import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUEUES, poisonQueueOf } from '../../src/pipeline/queues.js';
import { queuesDrained, testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, waitForDeliveries } from '../support/api-helpers.js';
import { accepting, Ledger, ledgerTable } from '../support/ledger.js';
import { startReceiver, type Behaviour } from '../support/receiver.js';
import { API, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

const FAN_OUT = 3;

/**
 * Races end to end on Azurite, each accounted in the fault ledger: messages for one attempt, a 410 racing a
 * delete, a message moved back from poison. A re-run after a SIGKILL: faults-infra.e2e.test.ts; after a job timeout: faults-job-retry.e2e.test.ts.
 */
describe('races and re-runs: every delivery once, duplicates under one webhook-id', async () => {
  const azurite = await testAzurite();
  // A first attempt that fails is retried only after a minute: whatever is sent sooner was asked for.
  const runtime = await startRuntime(testEnv(azurite.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,60s,60s', DELIVERY_TIMEOUT: '2s' }));
  const settleRow = ledgerTable();

  const hooksFor = async (model: string, behaviours: Behaviour[]) => {
    const receivers = await Promise.all(behaviours.map((behaviour) => startReceiver({ behaviour })));
    const ids = await Promise.all(receivers.map((receiver) => createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } })));
    return { receivers, ids };
  };

  /** Moves every message from `<queue>-poison` back to the queue, as an operator does once the cause is fixed. */
  const moveBackFromPoison = async (queue: string) => {
    const poison = azurite.clients.queue(poisonQueueOf(queue));
    const target = azurite.clients.queue(queue);
    const { receivedMessageItems } = await poison.receiveMessages({ numberOfMessages: 32 });
    for (const message of receivedMessageItems) {
      await target.sendMessage(message.messageText);
      await poison.deleteMessage(message.messageId, message.popReceipt);
    }
    return receivedMessageItems.length;
  };

  it('sends an attempt once when several messages are due for it (concurrent redelivers of a RETRYING delivery)', async () => {
    const ledger = new Ledger();
    // Each receiver fails its first request, so every delivery waits a minute as RETRYING, then accepts; but not
    // before every redeliver call has been answered. Otherwise a call arriving after the second attempt succeeded
    // would redeliver a SUCCEEDED delivery, which sends it again by design (a new chain, a new run token).
    let allAnswered: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (allAnswered = resolve));
    const failFirst: Behaviour = async (request, n, response, socket) => {
      if (n === 1) return void response.writeHead(500).end('not yet');
      await answered;
      return accepting(ledger, () => undefined)(request, n, response, socket);
    };
    const { receivers, ids } = await hooksFor('race-one-attempt', Array.from({ length: FAN_OUT }, () => failFirst));
    ledger.expect('1', ids);
    await publish(runtime, [{ event: 'MODEL_VERSION_CREATED', model_name: 'race-one-attempt', version: '1' }]);
    const retrying = await Promise.all(ids.map((id) => waitForDeliveries(runtime, id, (list) => list[0]?.status === 'RETRYING')));
    // Three messages for the second attempt of each delivery, at once.
    const calls = retrying.flatMap(([delivery]) => Array.from({ length: 3 }, () => runtime.api('POST', `${API}/deliveries/redeliver`, { body: { delivery_id: delivery?.id } })));
    const responses = await Promise.all(calls);
    allAnswered();
    for (const response of responses) assert.equal(response.status, 200, response.text);
    for (const id of ids) await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    const row = settleRow(ledger, 'messages for one attempt (3 at once)');
    assert.equal(row.duplicates, 0, 'the attempt was sent once');
    for (const receiver of receivers) assert.equal(receiver.requests.length, 2, 'the failed first attempt and one second attempt');
    for (const id of ids) assert.equal((await deliveriesOf(runtime, id))[0]?.attempts, 2);
  });

  it('fails nothing else when a 410 races the delete of its webhook', async () => {
    const ledger = new Ledger();
    let goneId = '';
    // The receiver deletes its own webhook, then answers 410: the service finds no row to disable.
    const deleteThenGone: Behaviour = async (_request, _n, response) => {
      await runtime.api('DELETE', `${API}/delete`, { body: { id: goneId } });
      response.writeHead(410).end('gone');
    };
    const accept = accepting(ledger, () => undefined);
    const { receivers, ids } = await hooksFor('race-gone-delete', [deleteThenGone, accept, accept]);
    goneId = ids[0] ?? '';
    const others = ids.slice(1);
    const versions = ['1', '2', '3', '4'];
    for (const v of versions) ledger.expect(v, others);
    await publish(runtime, versions.map((v) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'race-gone-delete', version: v })));
    await waitFor('every delivery to the other webhooks', () => (ledger.complete ? true : undefined));
    await waitFor('the gone webhook deleted', async () => ((await runtime.api('GET', `${API}/list?model_name=race-gone-delete`)).json.webhooks as unknown[] | undefined)?.length === 2 || undefined);
    await queuesDrained(azurite.clients, [QUEUES.registryEvents]);
    for (const id of others) {
      const list = await deliveriesOf(runtime, id);
      assert.deepEqual(list.map((delivery) => [delivery.status, delivery.attempts]), versions.map(() => ['SUCCEEDED', 1]));
    }
    const row = settleRow(ledger, 'delete racing a 410');
    assert.equal(row.duplicates, 0, 'no other delivery sent again');
    assert.ok((receivers[0]?.requests.length ?? 0) >= 1, 'the 410 was answered');
    assert.doesNotMatch(runtime.output(), /unexpected error/);
  });

  it('delivers a message moved back from poison once, and a second move-back of it sends nothing', async () => {
    const ledger = new Ledger();
    const { ids } = await hooksFor('race-poison', Array.from({ length: FAN_OUT }, () => accepting(ledger, () => undefined)));
    ledger.expect('1', ids);
    const text = JSON.stringify({ events: [{ event: 'MODEL_VERSION_CREATED', model_name: 'race-poison', version: '1', event_id: 'poisoned-1', event_timestamp: Date.now() }] });
    const poison = azurite.clients.queue(poisonQueueOf(QUEUES.registryEvents));
    await poison.sendMessage(Buffer.from(text, 'utf8').toString('base64'));
    assert.equal(await moveBackFromPoison(QUEUES.registryEvents), 1);
    await waitFor('every delivery of the moved-back message', () => (ledger.complete ? true : undefined));
    await queuesDrained(azurite.clients, [QUEUES.registryEvents]);
    await poison.sendMessage(Buffer.from(text, 'utf8').toString('base64'));
    assert.equal(await moveBackFromPoison(QUEUES.registryEvents), 1);
    // A copy that fanned out again would make its first attempts within the message.
    await queuesDrained(azurite.clients, [QUEUES.registryEvents]);
    for (const id of ids) assert.deepEqual((await deliveriesOf(runtime, id)).map((delivery) => [delivery.event_id, delivery.status]), [['poisoned-1', 'SUCCEEDED']]);
    const row = settleRow(ledger, 'moved back from poison (x2)');
    assert.equal(row.duplicates, 0, 'an event whose fan-out finished is not sent again');
  });
});
