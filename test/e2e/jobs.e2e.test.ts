import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TABLES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, versionCreated, waitForDeliveries } from '../support/api-helpers.js';
import { startFakeDatabricks } from '../support/fake-databricks.js';
import { API, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';
import { allStoredText } from '../support/storage-snapshot.js';

const TOKEN = 'dapi-fake-workspace-token-0123456789';
const JOB_IDS = { notebook: '1234567890123456', wheel: '22', python: '9007199254740993', jar: '44', submit: '55', sql: '66', multi: '1234567890123456789' };

describe('job webhooks end to end (fake Databricks Jobs API)', async () => {
  const azurite = await testAzurite();
  const workspace = await startFakeDatabricks(TOKEN);
  const defaultWorkspace = await startFakeDatabricks(TOKEN);
  const runtime = await startRuntime(testEnv(azurite.connectionString, { DATABRICKS_WORKSPACE_URL: defaultWorkspace.url }));
  workspace.defineJob(JOB_IDS.notebook, [{ task_key: 'nb', notebook_task: { notebook_path: '/Shared/on-event' } }]);
  workspace.defineJob(JOB_IDS.wheel, [{ task_key: 'wheel', python_wheel_task: { package_name: 'p', entry_point: 'main' } }]);
  workspace.defineJob(JOB_IDS.python, [{ task_key: 'py', spark_python_task: { python_file: 'dbfs:/x.py' } }]);
  workspace.defineJob(JOB_IDS.jar, [{ task_key: 'jar', spark_jar_task: { main_class_name: 'Main' } }]);
  workspace.defineJob(JOB_IDS.submit, [{ task_key: 'submit', spark_submit_task: { parameters: [] } }]);
  workspace.defineJob(JOB_IDS.sql, [{ task_key: 'sql', sql_task: { warehouse_id: 'w' } }]);
  workspace.defineJob(JOB_IDS.multi, [
    { task_key: 'a', notebook_task: { notebook_path: '/a' } },
    { task_key: 'b', spark_jar_task: { main_class_name: 'B' } },
  ]);

  const jobHook = (model: string, jobId: string, extra: Record<string, unknown> = {}) =>
    createHook(runtime, { model_name: model, events: ['MODEL_VERSION_TRANSITIONED_STAGE'], job_spec: { job_id: jobId, access_token: TOKEN, workspace_url: workspace.url }, ...extra });
  const transition = (model: string, extra: Record<string, unknown> = {}) => ({
    event: 'MODEL_VERSION_TRANSITIONED_STAGE', model_name: model, version: '8', to_stage: 'Production', from_stage: 'None', ...extra,
  });
  const callsFor = (jobId: string) => workspace.runNow.filter((call) => call.rawBody.startsWith(`{"job_id":${jobId},`) || call.rawBody === `{"job_id":${jobId}}`);

  const expectations: [string, string, (payload: string) => Record<string, unknown>][] = [
    ['notebook task', JOB_IDS.notebook, (payload) => ({ notebook_params: { event_message: payload } })],
    ['Python wheel task', JOB_IDS.wheel, (payload) => ({ notebook_params: { event_message: payload } })],
    ['Python task', JOB_IDS.python, (payload) => ({ python_params: [payload] })],
    ['JAR task', JOB_IDS.jar, (payload) => ({ python_params: [payload] })],
    ['spark-submit task', JOB_IDS.submit, (payload) => ({ python_params: [payload] })],
    ['other task (SQL)', JOB_IDS.sql, () => ({})],
    ['multi-task job', JOB_IDS.multi, (payload) => ({ notebook_params: { event_message: payload }, python_named_params: { event_message: payload }, jar_params: [payload], python_params: [payload], spark_submit_params: [payload] })],
  ];

  for (const [kind, jobId, params] of expectations) {
    it(`starts a ${kind} with the body of the reference doc, the bearer token and an integer job_id`, async () => {
      const model = `job-${kind}`;
      const id = await jobHook(model, jobId);
      await publish(runtime, [transition(model, { event_timestamp: 1589859029343 })]);
      const [call] = await waitFor(`run-now for ${kind}`, () => (callsFor(jobId).length > 0 ? callsFor(jobId) : undefined));
      assert.equal(call?.authorization, `Bearer ${TOKEN}`);
      assert.ok(call?.rawBody.startsWith(`{"job_id":${jobId}`), `job_id as an integer with every digit: ${call?.rawBody.slice(0, 40)}`);
      const body = JSON.parse(call?.rawBody.replace(/^\{"job_id":\d+/, '{"job_id":0') ?? '{}') as Record<string, unknown>;
      const payload = JSON.stringify({
        event: 'MODEL_VERSION_TRANSITIONED_STAGE',
        webhook_id: id,
        event_timestamp: 1589859029343,
        model_name: model,
        version: '8',
        to_stage: 'Production',
        from_stage: 'None',
        text: `Registered model '${model}' version 8 transitioned from None to Production.`,
      });
      const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
      assert.deepEqual(body, { job_id: 0, ...params(payload), idempotency_token: delivery?.id }, 'the delivery id is the idempotency token');
    });
  }

  it('uses DATABRICKS_WORKSPACE_URL for a job webhook without workspace_url', async () => {
    defaultWorkspace.defineJob('777', [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
    const id = await createHook(runtime, { model_name: 'default-ws', events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: 777, access_token: TOKEN } });
    const listed = await runtime.api('GET', `${API}/list?model_name=default-ws`);
    assert.deepEqual((listed.json.webhooks as Record<string, unknown>[])[0]?.job_spec, { job_id: '777', workspace_url: defaultWorkspace.url });
    await publish(runtime, [versionCreated('default-ws')]);
    await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(defaultWorkspace.runNow.length, 1);
  });

  it('asks jobs/get once for a burst of events (cached)', async () => {
    workspace.defineJob('8080', [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
    await jobHook('cached', '8080');
    await publish(runtime, [transition('cached'), transition('cached'), transition('cached')]);
    await waitFor('three runs', () => (callsFor('8080').length === 3 ? true : undefined));
    await publish(runtime, [transition('cached')]);
    await waitFor('a fourth run', () => (callsFor('8080').length === 4 ? true : undefined));
    assert.deepEqual(workspace.jobsGet.filter((jobId) => jobId === '8080'), ['8080']);
  });

  it('gives up at once on 401, 403 and 404 with the reason, and retries a 500', async () => {
    const broken = await startFakeDatabricks(TOKEN);
    const hook = (model: string, token = TOKEN) =>
      createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: '5', access_token: token, workspace_url: broken.url } });
    broken.defineJob('5', [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
    const badToken = await hook('bad-token', 'dapi-wrong-token-000000');
    await publish(runtime, [versionCreated('bad-token')]);
    const [unauthenticated] = await waitForDeliveries(runtime, badToken, (list) => list[0]?.status === 'FAILED');
    assert.equal(unauthenticated?.attempts, 1);
    assert.equal(unauthenticated?.last_status_code, 401);
    assert.equal(unauthenticated?.last_error, 'HTTP 401 UNAUTHENTICATED: Invalid access token.');
    for (const [status, code] of [[403, 'PERMISSION_DENIED'], [404, 'RESOURCE_DOES_NOT_EXIST']] as const) {
      broken.failWith(status, code, `no ${code}`);
      const id = await hook(`denied-${status}`);
      await publish(runtime, [versionCreated(`denied-${status}`)]);
      const [failed] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'FAILED');
      assert.equal(failed?.attempts, 1);
      assert.equal(failed?.last_error, `HTTP ${status} ${code}: no ${code}`);
    }
    broken.failWith(500, 'INTERNAL_ERROR', 'try later');
    const flaky = await hook('flaky-job');
    await publish(runtime, [versionCreated('flaky-job')]);
    const [retrying] = await waitForDeliveries(runtime, flaky, (list) => (list[0]?.attempts ?? 0) >= 2);
    assert.match(retrying?.last_error ?? '', /HTTP 500 INTERNAL_ERROR: try later/);
    broken.failWith(undefined);
    await waitForDeliveries(runtime, flaky, (list) => list[0]?.status === 'SUCCEEDED');
  });

  it('a retry after a run-now timeout starts no second run (same idempotency_token); a redeliver starts one', async () => {
    const jobId = '7070';
    workspace.defineJob(jobId, [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
    const id = await jobHook('idempotent-job', jobId);
    const started = workspace.runsStarted;
    workspace.answerNextRunNowAfter(3000);
    await publish(runtime, [transition('idempotent-job')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(delivery?.attempts, 2, 'the first attempt timed out and was retried');
    const tokens = callsFor(jobId).map((call) => (JSON.parse(call.rawBody) as { idempotency_token?: string }).idempotency_token);
    assert.deepEqual(tokens, [delivery?.id, delivery?.id]);
    assert.equal(workspace.runsStarted - started, 1, 'one run started');
    const redelivered = await runtime.api('POST', `${API}/deliveries/redeliver`, { body: { delivery_id: delivery?.id } });
    assert.equal(redelivered.status, 200);
    await waitFor('the redelivered run', () => (callsFor(jobId).length === 3 ? true : undefined));
    assert.equal(workspace.runsStarted - started, 2, 'an explicit redeliver starts a new run');
  });

  it('answers the test call with the run-now status and body', async () => {
    workspace.defineJob('4242', [{ task_key: 'nb', notebook_task: { notebook_path: '/x' } }]);
    const id = await jobHook('tested-job', '4242', { status: 'TEST_MODE' });
    const response = await runtime.api('POST', `${API}/test`, { body: { id } });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.json.status_code, 200);
    assert.match(String(response.json.body), /^\{"run_id":\d+,"number_in_job":\d+\}$/);
    const [call] = callsFor('4242');
    const message = (JSON.parse(call?.rawBody ?? '{}') as { notebook_params: { event_message: string } }).notebook_params.event_message;
    assert.equal((JSON.parse(message) as { event: string }).event, 'MODEL_VERSION_TRANSITIONED_STAGE');
  });

  it('refuses a job webhook without workspace_url when no default is configured', async () => {
    const bare = await startRuntime(testEnv(azurite.connectionString));
    const response = await bare.api('POST', `${API}/create`, { body: { model_name: 'm', events: ['MODEL_VERSION_CREATED'], job_spec: { job_id: '1', access_token: TOKEN } } });
    assert.equal(response.status, 400);
    assert.match(String(response.json.message), /job_spec\.workspace_url.*DATABRICKS_WORKSPACE_URL/);
    await bare.stop();
  });

  it('audits job deliveries with job_id and workspace_url, and never stores or logs the token', async () => {
    const entries: Record<string, string>[] = [];
    for await (const entry of azurite.clients.table(TABLES.audit).listEntities<Record<string, string>>()) entries.push(entry);
    const deliveries = entries.filter((entry) => entry.Action === 'deliver');
    assert.ok(deliveries.some((entry) => JSON.stringify(JSON.parse(entry.Target ?? '{}')) === JSON.stringify({ job_id: JOB_IDS.multi, workspace_url: workspace.url })));
    assert.ok(deliveries.some((entry) => (JSON.parse(entry.Target ?? '{}') as { workspace_url?: string }).workspace_url === defaultWorkspace.url), 'the default workspace is named');
    const stored = await allStoredText(azurite.clients);
    assert.ok(!stored.includes(TOKEN) && !stored.includes('dapi-wrong-token'));
    assert.ok(!runtime.output().includes(TOKEN));
  });
});
