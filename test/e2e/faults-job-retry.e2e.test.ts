import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, waitForDeliveries } from '../support/api-helpers.js';
import { startFakeDatabricks } from '../support/fake-databricks.js';
import { Ledger, ledgerTable } from '../support/ledger.js';
import { startRuntime, testEnv } from '../support/runtime-process.js';

const TOKEN = 'dapi-fake-workspace-token-race-0123456';

/**
 * A job retry after a run-now timeout end to end on Azurite with the fake Databricks Jobs API, accounted in
 * the fault ledger: the retry carries the same idempotency_token, so one run starts.
 */
describe('a job delivery retried after a run-now timeout: one run', async () => {
  const storage = await testAzurite();
  const fastRetries = testEnv(storage.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,2s,2s,2s,3s,3s,3s,3s', DELIVERY_TIMEOUT: '2s' });
  const settleRow = ledgerTable();

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
});
