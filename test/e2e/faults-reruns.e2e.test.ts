import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { QUEUES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, waitForDeliveries } from '../support/api-helpers.js';
import { startFakeDatabricks } from '../support/fake-databricks.js';
import { accepting, Ledger, printReport } from '../support/ledger.js';
import { startReceiver, type Behaviour } from '../support/receiver.js';
import { startRuntime, testEnv, waitFor, type TestRuntime } from '../support/runtime-process.js';

const FAN_OUT = 3;
const TOKEN = 'dapi-fake-workspace-token-race-0123456';

/**
 * Re-runs end to end on Azurite, each accounted in the fault ledger: a job retry after a run-now timeout, a
 * queue event without timestamp or id re-run after a SIGKILL of the runtime. One runtime at a time on this
 * file's Azurite (two would take each other's messages).
 */
describe('re-runs after a timeout or a crash: one run, one record, one webhook-id', async () => {
  const storage = await testAzurite();
  const fastRetries = testEnv(storage.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,2s,2s,2s,3s,3s,3s,3s', DELIVERY_TIMEOUT: '2s' });
  const rows: ReturnType<Ledger['report']>[] = [];
  after(() => printReport(rows));

  const settleRow = (ledger: Ledger, name: string) => {
    const row = ledger.report(name);
    rows.push(row);
    assert.equal(row.lost, 0, `${name}: nothing lost`);
    assert.equal(row.mixedIds, 0, `${name}: duplicates carry the same webhook-id`);
    return row;
  };

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
