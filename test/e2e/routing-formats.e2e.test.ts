import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { createHook, publish, waitForDeliveries, waitForRequests } from '../support/api-helpers.js';
import { testAzurite } from '../support/azurite.js';
import { startFakeSlack, startFakeTeams } from '../support/fake-chat.js';
import { startFakeAzureDevOps, startFakeGitHub } from '../support/fake-ci.js';
import { startReceiver } from '../support/receiver.js';
import { API, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';
import { recordSecrets } from '../support/artifacts.js';

const SECRET = 'format-signing-secret-1234';
const GITHUB_TOKEN = 'ghp_fakeGitHubTokenForTests0123456789';
const ADO_PAT = 'fake-azure-devops-pat-0123456789abcdef';
recordSecrets([SECRET, GITHUB_TOKEN, ADO_PAT]);

const signed = (headers: Record<string, string>, body: string): boolean =>
  headers['x-databricks-signature'] === createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(body, 'utf8').digest('hex');

const transition = (model: string) => ({
  event: 'MODEL_VERSION_TRANSITIONED_STAGE',
  model_name: model,
  version: '8',
  to_stage: 'Production',
  from_stage: 'Staging',
  user_id: 'alice@example.com',
  event_timestamp: 1_765_000_000_000,
});

describe('payload formats end to end, each against a fake of its service', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  it('slack: an incoming-webhook message with text and blocks that Slack accepts', async () => {
    const slack = await startFakeSlack();
    const id = await createHook(runtime, { model_name: 'fmt <slack>', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: slack.url, secret: SECRET, format: 'slack' } });
    await publish(runtime, [transition('fmt <slack>')]);
    await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    const [message] = slack.posted;
    assert.equal(message?.text, "alice@example.com transitioned registered model 'fmt &lt;slack&gt;' version 8 from Staging to Production.");
    assert.deepEqual((message?.blocks as Record<string, unknown>[])[1], {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*Model*\nfmt &lt;slack&gt;' },
        { type: 'mrkdwn', text: '*Version*\n8' },
        { type: 'mrkdwn', text: '*Event*\nMODEL_VERSION_TRANSITIONED_STAGE' },
        { type: 'mrkdwn', text: '*Stage*\nStaging → Production' },
      ],
    });
    const request = slack.requests[0];
    assert.ok(request && signed(request.headers, request.body), 'signed as sent');
    const tested = await runtime.api('POST', `${API}/test`, { body: { id } });
    assert.equal(tested.status, 200, tested.text);
    assert.equal(tested.json.body, 'ok');
  });

  it('teams: a Workflows message carrying an Adaptive Card, answered 202', async () => {
    const teams = await startFakeTeams();
    const id = await createHook(runtime, { model_name: 'fmt-teams', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: teams.url, secret: SECRET, format: 'teams' } });
    await publish(runtime, [transition('fmt-teams')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(delivery?.last_status_code, 202);
    const [card] = teams.cards;
    assert.equal(card?.type, 'AdaptiveCard');
    assert.deepEqual((card?.body as Record<string, unknown>[])[1], {
      type: 'FactSet',
      facts: [
        { title: 'Model', value: 'fmt-teams' },
        { title: 'Version', value: '8' },
        { title: 'Event', value: 'MODEL_VERSION_TRANSITIONED_STAGE' },
        { title: 'Stage', value: 'Staging → Production' },
      ],
    });
    assert.match(String((card?.body as Record<string, unknown>[])[0]?.text), /^alice@example\.com transitioned registered model 'fmt-teams'/);
  });

  it('github_dispatch: repository_dispatch with the event as event_type and the payload as client_payload', async () => {
    const github = await startFakeGitHub(GITHUB_TOKEN);
    const id = await createHook(runtime, {
      model_name: 'fmt-github',
      events: ['MODEL_VERSION_TRANSITIONED_STAGE'],
      http_url_spec: { url: github.dispatchUrl, secret: SECRET, authorization: `Bearer ${GITHUB_TOKEN}`, format: 'github_dispatch' },
    });
    await publish(runtime, [transition('fmt-github')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(delivery?.last_status_code, 204);
    assert.deepEqual(github.dispatches[0], {
      repo: 'ml-team/deployments',
      event_type: 'MODEL_VERSION_TRANSITIONED_STAGE',
      client_payload: {
        event: 'MODEL_VERSION_TRANSITIONED_STAGE',
        webhook_id: id,
        event_timestamp: 1_765_000_000_000,
        model_name: 'fmt-github',
        version: '8',
        to_stage: 'Production',
        from_stage: 'Staging',
        text: "alice@example.com transitioned registered model 'fmt-github' version 8 from Staging to Production.",
      },
    });
    const request = github.requests[0];
    assert.equal(request?.headers.accept, 'application/vnd.github+json');
    assert.equal(request?.headers['x-github-api-version'], '2022-11-28');

    const wrongUrl = await runtime.api('POST', `${API}/create`, { body: { model_name: 'fmt-github', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: `${github.dispatchUrl}/x`, format: 'github_dispatch' } } });
    assert.equal(wrongUrl.status, 400);
    assert.match(String(wrongUrl.json.message), /'http_url_spec\.url'.*dispatches/);
  });

  it('azure_devops_pipeline: a pipeline run with templateParameters.event_message; the 203 sign-in page is a failure', async () => {
    const ado = await startFakeAzureDevOps(ADO_PAT);
    const basic = `Basic ${Buffer.from(`:${ADO_PAT}`).toString('base64')}`;
    const id = await createHook(runtime, { model_name: 'fmt-ado', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: ado.runsUrl, authorization: basic, format: 'azure_devops_pipeline' } });
    await publish(runtime, [transition('fmt-ado')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(delivery?.last_status_code, 200);
    const message = JSON.parse(ado.runs[0]?.templateParameters.event_message ?? '{}') as Record<string, unknown>;
    assert.equal(message.event, 'MODEL_VERSION_TRANSITIONED_STAGE');
    assert.equal(message.webhook_id, id);
    assert.equal(ado.requests[0]?.path, '/ml-org/models/_apis/pipelines/17/runs?api-version=7.1');

    const badToken = await createHook(runtime, { model_name: 'fmt-ado-bad', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: ado.runsUrl, authorization: 'Basic Ono=', format: 'azure_devops_pipeline' } });
    await publish(runtime, [transition('fmt-ado-bad')]);
    const [failed] = await waitForDeliveries(runtime, badToken, (list) => list[0]?.status === 'FAILED');
    assert.equal(failed?.last_status_code, 203);
    assert.equal(failed?.attempts, 1, 'a sign-in page is not retried');
    assert.match(failed?.last_error ?? '', /sign-in page/);

    const noVersion = await runtime.api('POST', `${API}/create`, { body: { model_name: 'fmt-ado', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: ado.runsUrl.replace('?api-version=7.1', ''), format: 'azure_devops_pipeline' } } });
    assert.equal(noVersion.status, 400);
    assert.match(String(noVersion.json.message), /'http_url_spec\.url'.*api-version/);
  });

  it('cloudevents: a structured CloudEvent, application/cloudevents+json, the delivery id as its id', async () => {
    const router = await startReceiver({ behaviour: (_request, _n, response) => response.writeHead(202).end() });
    const id = await createHook(runtime, { model_name: 'fmt/cloud events', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: router.url, secret: SECRET, format: 'cloudevents' } });
    await publish(runtime, [transition('fmt/cloud events')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    const [request] = await waitForRequests(router, 1);
    assert.equal(request?.headers['content-type'], 'application/cloudevents+json; charset=utf-8');
    const event = JSON.parse(request?.body ?? '{}') as Record<string, unknown>;
    assert.equal(event.specversion, '1.0');
    assert.equal(event.type, 'registry-webhooks.MODEL_VERSION_TRANSITIONED_STAGE');
    assert.equal(event.source, '/registry-webhooks/models/fmt%2Fcloud%20events');
    assert.equal(event.id, delivery?.id);
    assert.equal(event.time, '2025-12-06T05:46:40.000Z');
    assert.equal(event.datacontenttype, 'application/json');
    assert.equal((event.data as Record<string, unknown>).model_name, 'fmt/cloud events');
    assert.ok(request && signed(request.headers, request.body));
    assert.equal(request?.headers['webhook-id'], delivery?.id);
  });

  it('an unknown format is a 400 naming it; the format lists only when set', async () => {
    const receiver = await startReceiver();
    const bad = await runtime.api('POST', `${API}/create`, { body: { model_name: 'fmt-bad', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, format: 'xml' } } });
    assert.equal(bad.status, 400);
    assert.match(String(bad.json.message), /'http_url_spec\.format'/);
    const plain = await createHook(runtime, { model_name: 'fmt-plain', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, format: 'databricks' } });
    const listed = await waitFor('list', async () => (await runtime.api('GET', `${API}/list?model_name=fmt-plain`)).json.webhooks as Record<string, unknown>[] | undefined);
    assert.deepEqual(listed[0]?.http_url_spec, { url: receiver.url, enable_ssl_verification: true });
    const switched = await runtime.api('PATCH', `${API}/update`, { body: { id: plain, http_url_spec: { format: 'cloudevents' } } });
    assert.equal(switched.status, 200, switched.text);
    assert.equal((switched.json.webhook as { http_url_spec: { format?: string } }).http_url_spec.format, 'cloudevents');
  });
});
