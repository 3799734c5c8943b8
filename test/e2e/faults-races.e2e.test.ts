import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { QUEUES, poisonQueueOf } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, waitForDeliveries } from '../support/api-helpers.js';
import { startFakeDatabricks } from '../support/fake-databricks.js';
import { accepting, Ledger, printReport } from '../support/ledger.js';
import { startReceiver, type Behaviour } from '../support/receiver.js';
import { API, startRuntime, testEnv, waitFor, type TestRuntime } from '../support/runtime-process.js';

const FAN_OUT = 3;
const TOKEN = 'dapi-fake-workspace-token-race-0123456';

/**
 * Races and re-runs end to end on Azurite, each accounted in the fault ledger: messages for one attempt, a 410
 * racing a delete, a job retry after a timeout, a message moved back from poison, a queue event without a
 * timestamp re-run after a SIGKILL.
 */
describe('races and re-runs: every delivery once, duplicates under one webhook-id', async () => {
  const azurite = await testAzurite();
  // A first attempt that fails is retried only after a minute: whatever is sent sooner was asked for.
  const runtime = await startRuntime(testEnv(azurite.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,60s,60s', DELIVERY_TIMEOUT: '2s' }));
  const rows: ReturnType<Ledger['report']>[] = [];
  after(() => printReport(rows));
  // Tests that need retries in seconds, or a runtime of their own to kill, run on a second Azurite, one
  // runtime at a time (two runtimes on one storage would take each other's messages).
  const storage = await testAzurite();
  const fastRetries = testEnv(storage.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,2s,2s,2s,3s,3s,3s,3s', DELIVERY_TIMEOUT: '2s' });

  const hooksFor = async (model: string, behaviours: Behaviour[]) => {
    const receivers = await Promise.all(behaviours.map((behaviour) => startReceiver({ behaviour })));
    const ids = await Promise.all(receivers.map((receiver) => createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } })));
    return { receivers, ids };
  };

  const settleRow = (ledger: Ledger, name: string) => {
    const row = ledger.report(name);
    rows.push(row);
    assert.equal(row.lost, 0, `${name}: nothing lost`);
    assert.equal(row.mixedIds, 0, `${name}: duplicates carry the same webhook-id`);
    return row;
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

  const queueDrained = (queue: string) => async () => {
    const { approximateMessagesCount } = await azurite.clients.queue(queue).getProperties();
    return approximateMessagesCount === 0 ? true : undefined;
  };

  it('sends an attempt once when several messages are due for it (concurrent redelivers of a RETRYING delivery)', async () => {
    const ledger = new Ledger();
    // Each receiver fails its first request, so every delivery waits a minute as RETRYING, then accepts.
    const failFirst: Behaviour = (request, n, response, socket) => (n === 1 ? void response.writeHead(500).end('not yet') : accepting(ledger, () => undefined)(request, n, response, socket));
    const { receivers, ids } = await hooksFor('race-one-attempt', Array.from({ length: FAN_OUT }, () => failFirst));
    ledger.expect('1', ids);
    await publish(runtime, [{ event: 'MODEL_VERSION_CREATED', model_name: 'race-one-attempt', version: '1' }]);
    const retrying = await Promise.all(ids.map((id) => waitForDeliveries(runtime, id, (list) => list[0]?.status === 'RETRYING')));
    // Three messages for the second attempt of each delivery, at once.
    const calls = retrying.flatMap(([delivery]) => Array.from({ length: 3 }, () => runtime.api('POST', `${API}/deliveries/redeliver`, { body: { delivery_id: delivery?.id } })));
    for (const response of await Promise.all(calls)) assert.equal(response.status, 200, response.text);
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
    await waitFor('the fan-out message finished', queueDrained(QUEUES.registryEvents));
    for (const id of others) {
      const list = await deliveriesOf(runtime, id);
      assert.deepEqual(list.map((delivery) => [delivery.status, delivery.attempts]), versions.map(() => ['SUCCEEDED', 1]));
    }
    const row = settleRow(ledger, 'delete racing a 410');
    assert.equal(row.duplicates, 0, 'no other delivery sent again');
    assert.ok((receivers[0]?.requests.length ?? 0) >= 1, 'the 410 was answered');
    assert.doesNotMatch(runtime.output(), /unexpected error/);
  });

  it('starts one job run when run-now times out and the delivery is retried (same idempotency_token)', async () => {
    const workspace = await startFakeDatabricks(TOKEN);
    const jobId = '9191';
    workspace.defineJob(jobId, [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
    const jobRuntime = await startRuntime(fastRetries);
    const id = await createHook(jobRuntime, {
      model_name: 'race-job-timeout',
      events: ['MODEL_VERSION_TRANSITIONED_STAGE'],
      job_spec: { job_id: jobId, access_token: TOKEN, workspace_url: workspace.url },
    });
    const ledger = new Ledger();
    ledger.expect('8', [id]);
    workspace.answerNextRunNowAfter(3000);
    await publish(jobRuntime, [{ event: 'MODEL_VERSION_TRANSITIONED_STAGE', model_name: 'race-job-timeout', version: '8', to_stage: 'Production', from_stage: 'None' }]);
    const [delivery] = await waitForDeliveries(jobRuntime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(delivery?.attempts, 2, 'the first attempt timed out and was retried');
    for (const call of workspace.runNow) ledger.recordArrival('8', id, (JSON.parse(call.rawBody) as { idempotency_token?: string }).idempotency_token ?? '');
    const row = settleRow(ledger, 'job retry after a timeout');
    assert.equal(row.duplicates, 1, 'run-now was called twice, with one token');
    assert.equal(workspace.runsStarted, 1, 'one run started');
    await jobRuntime.stop();
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
    await waitFor('the moved-back message finished', queueDrained(QUEUES.registryEvents));
    await poison.sendMessage(Buffer.from(text, 'utf8').toString('base64'));
    assert.equal(await moveBackFromPoison(QUEUES.registryEvents), 1);
    await waitFor('the second copy handled', queueDrained(QUEUES.registryEvents));
    for (const id of ids) assert.deepEqual((await deliveriesOf(runtime, id)).map((delivery) => [delivery.event_id, delivery.status]), [['poisoned-1', 'SUCCEEDED']]);
    const row = settleRow(ledger, 'moved back from poison (x2)');
    assert.equal(row.duplicates, 0, 'an event whose fan-out finished is not sent again');
  });

  it('re-runs a queue event without timestamp or id after a SIGKILL under the same webhook-ids, one record each', async () => {
    const env = fastRetries;
    let killable: TestRuntime = await startRuntime(env, { queueLease: '3s' });
    const ledger = new Ledger();
    // Answers spread over seconds, so the kill lands while the fan-out is still delivering.
    const slow: Behaviour = async (request, n, response, socket) => {
      await new Promise((resolve) => setTimeout(resolve, 200 * Math.min(n, 8)));
      await accepting(ledger, () => undefined)(request, n, response, socket);
    };
    const receivers = await Promise.all(Array.from({ length: FAN_OUT }, () => startReceiver({ behaviour: slow })));
    const ids = await Promise.all(receivers.map((receiver) => createHook(killable, { model_name: 'race-kill-queue', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } })));
    const versions = Array.from({ length: 10 }, (_, index) => String(index + 1));
    for (const v of versions) ledger.expect(v, ids);
    // As a source writes it: no event_timestamp, no event_id; both come from the message.
    const text = JSON.stringify({ events: versions.map((v) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'race-kill-queue', version: v })) });
    await storage.clients.queue(QUEUES.registryEvents).sendMessage(Buffer.from(text, 'utf8').toString('base64'));
    await waitFor('the fan-out under way', () => (ledger.report('').delivered >= 3 ? true : undefined));
    killable.kill();
    await new Promise((resolve) => killable.process.once('exit', resolve));
    assert.ok(!ledger.complete, 'killed before every delivery was made');
    killable = await startRuntime(env, { queueLease: '3s' });
    await waitFor('every delivery after the restart', () => (ledger.complete ? true : undefined), 60_000);
    for (const id of ids) {
      const done = await waitForDeliveries(killable, id, (list) => list.length >= versions.length && list.every((delivery) => delivery.status === 'SUCCEEDED'), 60_000);
      assert.equal(done.length, versions.length, 'one record per event');
    }
    const row = settleRow(ledger, 'queue event re-run after SIGKILL');
    assert.equal(row.delivered, versions.length * FAN_OUT);
  });
});
