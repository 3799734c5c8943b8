import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AttemptResult } from '../../src/outbound/classify-outcome.js';
import type { OutboundClient, OutboundRequest } from '../../src/outbound/http-client.js';
import { JOB_SHAPE_TTL_MS, JobTargetSender } from '../../src/outbound/job-target-sender.js';
import type { Webhook } from '../../src/webhooks/webhook.js';
import { ManualClock } from '../support/memory.js';

class RecordingClient implements OutboundClient {
  readonly requests: OutboundRequest[] = [];
  tasks: Record<string, unknown>[] = [{ notebook_task: {} }];
  send(request: OutboundRequest): Promise<AttemptResult> {
    this.requests.push(request);
    const body = request.method === 'GET' ? JSON.stringify({ settings: { tasks: this.tasks } }) : '{"run_id":1}';
    return Promise.resolve({ kind: 'response', status: 200, body });
  }
}

const webhook = (workspaceUrl?: string): Webhook => ({
  id: 'a'.repeat(32),
  events: ['MODEL_VERSION_CREATED'],
  status: 'ACTIVE',
  target: { kind: 'job', jobId: '7', accessToken: 'dapi-secret', ...(workspaceUrl ? { workspaceUrl } : {}) },
  creationTimestamp: 0,
  lastUpdatedTimestamp: 0,
});

describe('job target sender', () => {
  it('caches what jobs/get says for the TTL, and picks up a changed job after it', async () => {
    const clock = new ManualClock();
    const client = new RecordingClient();
    const sender = new JobTargetSender(client, { policy: { allowHttp: false, allowPrivate: false }, clock: clock.read });
    const runBodies = () => client.requests.filter((request) => request.method === 'POST').map((request) => request.body);
    await sender.send(webhook('https://adb.example'), '{}');
    await sender.send(webhook('https://adb.example'), '{}');
    client.tasks = [{ spark_python_task: {} }];
    clock.advance(JOB_SHAPE_TTL_MS - 1);
    await sender.send(webhook('https://adb.example'), '{}');
    assert.equal(client.requests.filter((request) => request.method === 'GET').length, 1);
    clock.advance(2);
    await sender.send(webhook('https://adb.example'), '{}');
    assert.equal(client.requests.filter((request) => request.method === 'GET').length, 2);
    assert.deepEqual(runBodies().map((body) => Object.keys(JSON.parse(body ?? '{}') as object)[1]), ['notebook_params', 'notebook_params', 'notebook_params', 'python_params']);
    assert.ok(client.requests.every((request) => request.headers.authorization === 'Bearer dapi-secret'));
    assert.equal(client.requests[0]?.url, 'https://adb.example/api/2.1/jobs/get?job_id=7');
  });

  it('shares one jobs/get among concurrent attempts, and does not keep a failed answer', async () => {
    const client = new RecordingClient();
    const sender = new JobTargetSender(client, { policy: { allowHttp: false, allowPrivate: false }, clock: () => 0 });
    await Promise.all(Array.from({ length: 5 }, () => sender.send(webhook('https://adb.example'), '{}')));
    assert.equal(client.requests.filter((request) => request.method === 'GET').length, 1);
    const failing = new RecordingClient();
    const realSend = failing.send.bind(failing);
    let fail = true;
    failing.send = (request) => (request.method === 'GET' && fail ? Promise.resolve({ kind: 'response', status: 503, body: 'busy' }) : realSend(request));
    const flaky = new JobTargetSender(failing, { policy: { allowHttp: false, allowPrivate: false }, clock: () => 0 });
    assert.deepEqual(await flaky.send(webhook('https://adb.example'), '{}'), { kind: 'response', status: 503, body: 'busy' });
    fail = false;
    assert.equal(((await flaky.send(webhook('https://adb.example'), '{}')) as { status: number }).status, 200);
  });

  it('refuses an http:// workspace unless allowed, and a job without any workspace', async () => {
    const client = new RecordingClient();
    const strict = new JobTargetSender(client, { policy: { allowHttp: false, allowPrivate: false }, clock: () => 0 });
    assert.deepEqual(await strict.send(webhook(), '{}'), { kind: 'error', error: 'no workspace_url, and DATABRICKS_WORKSPACE_URL is not set', retryable: false });
    const result = await strict.send(webhook('http://adb.example'), '{}');
    assert.match(result.kind === 'error' ? result.error : '', /^blocked: .*https/);
    assert.equal(client.requests.length, 0);
  });

  it('counts each job as an endpoint of its workspace, so one job\'s timeouts hold only that job', () => {
    const sender = new JobTargetSender(new RecordingClient(), { policy: { allowHttp: false, allowPrivate: false }, clock: () => 0, defaultWorkspaceUrl: 'https://adb.example' });
    const seven = sender.destinationOf(webhook());
    const eight = sender.destinationOf({ ...webhook(), target: { kind: 'job', jobId: '8', accessToken: 'dapi-secret' } });
    assert.deepEqual([seven.origin, eight.origin], ['https://adb.example', 'https://adb.example']);
    assert.notEqual(seven.endpoint, eight.endpoint);
  });
});
