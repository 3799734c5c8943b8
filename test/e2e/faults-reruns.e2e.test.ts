import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUEUES } from '../../src/pipeline/queues.js';
import { testAzurite } from '../support/azurite.js';
import { createHook, waitForDeliveries } from '../support/api-helpers.js';
import { accepting, Ledger, ledgerTable } from '../support/ledger.js';
import { hang, startReceiver, type Behaviour } from '../support/receiver.js';
import { startRuntime, testEnv, waitFor, type TestRuntime } from '../support/runtime-process.js';

const FAN_OUT = 3;

/**
 * A re-run end to end on Azurite, accounted in the fault ledger: a queue event without timestamp or id (as a
 * source writes it) re-run after a SIGKILL of the runtime. A job retry after a timeout: faults-job-retry.
 */
describe('a queue event re-run after a crash: one record, one webhook-id', async () => {
  const storage = await testAzurite();
  const fastRetries = testEnv(storage.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,2s,2s,2s,3s,3s,3s,3s', DELIVERY_TIMEOUT: '2s' });
  const settleRow = ledgerTable();

  it('re-runs a queue event without timestamp or id after a SIGKILL under the same webhook-ids, one record each', async () => {
    const env = fastRetries;
    let killable: TestRuntime = await startRuntime(env, { queueLease: '3s' });
    const ledger = new Ledger();
    // Three deliveries are accepted; later ones hang until the kill, so it always lands mid-fan-out.
    let killed = false;
    const accept = accepting(ledger, () => undefined);
    const heldAfterThree: Behaviour = (request, n, response, socket) =>
      !killed && ledger.report('').delivered >= 3 ? hang(request, n, response, socket) : accept(request, n, response, socket);
    const receivers = await Promise.all(Array.from({ length: FAN_OUT }, () => startReceiver({ behaviour: heldAfterThree })));
    const ids = await Promise.all(receivers.map((receiver) => createHook(killable, { model_name: 'race-kill-queue', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } })));
    const versions = Array.from({ length: 10 }, (_, index) => String(index + 1));
    for (const v of versions) ledger.expect(v, ids);
    // As a source writes it: no event_timestamp, no event_id; both come from the message.
    const text = JSON.stringify({ events: versions.map((v) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'race-kill-queue', version: v })) });
    await storage.clients.queue(QUEUES.registryEvents).sendMessage(Buffer.from(text, 'utf8').toString('base64'));
    await waitFor('the fan-out under way', () => (ledger.report('').delivered >= 3 ? true : undefined));
    killable.kill();
    await new Promise((resolve) => killable.process.once('exit', resolve));
    killed = true;
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
