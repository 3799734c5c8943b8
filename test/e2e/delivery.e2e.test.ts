import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { QUEUES } from '../../src/pipeline/queues.js';
import { TABLES } from '../../src/storage/names.js';
import { queuesDrained, testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, versionCreated, waitForDeliveries, waitForRequests } from '../support/api-helpers.js';
import { answer, failThenSucceed, hang, resetConnection, startReceiver } from '../support/receiver.js';
import { API, MANAGER_TOKEN, PUBLISHER_TOKEN, startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** The reference doc's validate_signature, in TypeScript: HMAC-SHA256 hex of the raw body with the UTF-8 secret. */
function databricksValidateSignature(secret: string, headers: Record<string, string>, body: string): void {
  const received = headers['x-databricks-signature'];
  if (!received) throw new Error('No X-Signature. Webhook not be trusted.');
  const computed = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex');
  if (computed !== received) throw new Error('X-Signature mismatch. Webhook not be trusted.');
}

/** The README's Standard Webhooks recipe (its first `js` block), run as written with the standardwebhooks package. */
function readmeRecipe(): (secret: string, rawBody: string, headers: Record<string, string>) => unknown {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('the README has no js block with the receiver recipe');
  const statements = block.replace(/^import .*$/gm, '');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the point is to run the README's recipe exactly as written
  const run = new Function('Webhook', 'Buffer', 'secret', 'rawBody', 'headers', `${statements}\nreturn event;`) as (...args: unknown[]) => unknown;
  return (secret, rawBody, headers) => run(StandardWebhook, Buffer, secret, rawBody, headers);
}

describe('HTTP delivery end to end', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  it("verifies real deliveries with the README's Standard Webhooks recipe, for the README's own secret, a non-ASCII one and a whsec_ one", async () => {
    const verify = readmeRecipe();
    for (const [index, secret] of ['anyRandomString', 'clé secrète 😀', SECRET].entries()) {
      const receiver = await startReceiver();
      await createHook(runtime, { model_name: 'readme-recipe', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, secret } });
      await publish(runtime, [versionCreated('readme-recipe', { event_id: `recipe-${index}` })]);
      const [request] = await waitForRequests(receiver, 1);
      assert.ok(request);
      const event = verify(secret, request.body, request.headers) as Record<string, unknown>;
      assert.equal(event.model_name, 'readme-recipe', secret);
      assert.throws(() => verify(secret, request.body.replace('readme-recipe', 'readme-recipX'), request.headers), /signature/i, 'a changed body is refused');
      await receiver.close();
    }
  });

  it('signs every delivery so the doc and Standard Webhooks receivers both verify it', async () => {
    const receiver = await startReceiver();
    const id = await createHook(runtime, { model_name: 'signed 😀/model', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: receiver.url, secret: SECRET, authorization: 'Bearer receiver-token' } });
    const [eventId] = await publish(runtime, [{ event: 'MODEL_VERSION_TRANSITIONED_STAGE', model_name: 'signed 😀/model', version: '8', to_stage: 'Production', from_stage: 'None', event_timestamp: 1589859029343 }], PUBLISHER_TOKEN);
    const [request] = await waitForRequests(receiver, 1);
    assert.ok(request);
    databricksValidateSignature(SECRET, request.headers, request.body);
    const verified = new StandardWebhook(SECRET).verify(request.body, request.headers) as Record<string, unknown>;
    assert.deepEqual(verified, {
      event: 'MODEL_VERSION_TRANSITIONED_STAGE',
      webhook_id: id,
      event_timestamp: 1589859029343,
      model_name: 'signed 😀/model',
      version: '8',
      to_stage: 'Production',
      from_stage: 'None',
      text: "Registered model 'signed 😀/model' version 8 transitioned from None to Production.",
    });
    assert.equal(request.method, 'POST');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.match(request.headers['user-agent'] ?? '', /^registry-webhooks\//);
    assert.equal(request.headers.authorization, 'Bearer receiver-token');
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(request.headers['webhook-id'], delivery?.id);
    assert.equal(delivery?.event_id, eventId);
    assert.equal(delivery?.attempts, 1);
    assert.equal(delivery?.last_status_code, 200);
  });

  it('sends webhook-id and webhook-timestamp without a secret, and no signatures', async () => {
    const receiver = await startReceiver();
    await createHook(runtime, { model_name: 'unsigned', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    await publish(runtime, [versionCreated('unsigned')]);
    const [request] = await waitForRequests(receiver, 1);
    assert.match(request?.headers['webhook-id'] ?? '', /^[0-9a-f]{32}_\d{13}_[0-9a-f]{16}$/);
    assert.ok(Math.abs(Number(request?.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
    assert.equal(request?.headers['x-databricks-signature'], undefined);
    assert.equal(request?.headers['webhook-signature'], undefined);
    assert.equal(request?.headers.authorization, undefined);
  });

  it('retries a failing endpoint on the schedule with the same webhook-id until it succeeds', async () => {
    const receiver = await startReceiver({ behaviour: failThenSucceed(2, 503) });
    const id = await createHook(runtime, { model_name: 'flaky', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, secret: 'flaky-secret' } });
    await publish(runtime, [versionCreated('flaky')]);
    const requests = await waitForRequests(receiver, 3);
    assert.equal(new Set(requests.map((request) => request.headers['webhook-id'])).size, 1);
    assert.equal(new Set(requests.map((request) => request.body)).size, 1);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'SUCCEEDED');
    assert.equal(delivery?.attempts, 3);
    for (const request of requests) databricksValidateSignature('flaky-secret', request.headers, request.body);
  });

  it('gives up at once on a 400 and keeps the delivery FAILED with the reason', async () => {
    const receiver = await startReceiver({ behaviour: answer(400, 'bad payload') });
    const id = await createHook(runtime, { model_name: 'rejecting', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    await publish(runtime, [versionCreated('rejecting')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'FAILED');
    assert.equal(delivery?.attempts, 1);
    assert.equal(delivery?.last_status_code, 400);
    assert.match(delivery?.last_error ?? '', /HTTP 400: bad payload/);
    await queuesDrained(azurite.clients, [QUEUES.registryEvents, QUEUES.deliveries]);
    assert.equal(receiver.requests.length, 1, 'no retry');
  });

  it('disables the webhook on 410 Gone and audits it', async () => {
    const receiver = await startReceiver({ behaviour: answer(410, 'gone') });
    const id = await createHook(runtime, { model_name: 'gone', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    await publish(runtime, [versionCreated('gone')]);
    await waitForDeliveries(runtime, id, (list) => list[0]?.status === 'FAILED');
    const listed = await runtime.api('GET', `${API}/list?model_name=gone`);
    assert.equal((listed.json.webhooks as Record<string, unknown>[])[0]?.status, 'DISABLED');
    const audit: Record<string, unknown>[] = [];
    for await (const entry of azurite.clients.table(TABLES.audit).listEntities()) if (entry.WebhookId === id) audit.push(entry);
    assert.ok(audit.some((entry) => entry.Action === 'disable' && entry.Principal === 'system'));
    await publish(runtime, [versionCreated('gone', { event_id: 'after-disable' })]);
    await queuesDrained(azurite.clients, [QUEUES.registryEvents, QUEUES.deliveries]);
    assert.equal(receiver.requests.length, 1, 'a DISABLED webhook gets no more events');
  });

  it('retries 3xx without following the redirect, hangs past the timeout, and closed connections', async () => {
    const elsewhere = await startReceiver();
    const redirecting = await startReceiver({ behaviour: answer(307, '', { location: elsewhere.url }) });
    const hanging = await startReceiver({ behaviour: hang });
    const closing = await startReceiver({ behaviour: resetConnection });
    const ids = await Promise.all(
      [redirecting, hanging, closing].map((receiver, index) => createHook(runtime, { model_name: `unreliable-${index}`, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } })),
    );
    await publish(runtime, [0, 1, 2].map((index) => versionCreated(`unreliable-${index}`)));
    for (const receiver of [redirecting, hanging, closing]) await waitForRequests(receiver, 2);
    assert.equal(elsewhere.requests.length, 0, 'the redirect was not followed');
    const [redirect, timeout, closed] = await Promise.all(ids.map((id) => deliveriesOf(runtime, id)));
    assert.match(redirect?.[0]?.last_error ?? '', /HTTP 307/);
    assert.match(timeout?.[0]?.last_error ?? '', /timed out after 2000 ms/);
    assert.match(closed?.[0]?.last_error ?? '', /network error/);
    const exhausted = await waitForDeliveries(runtime, ids[0] ?? '', (list) => list[0]?.status === 'FAILED');
    assert.equal(exhausted[0]?.attempts, 4, 'the whole test schedule (0s,1s,1s,1s) was used');
    assert.match(exhausted[0]?.last_error ?? '', /gave up after 4 attempts/);
  });

  it('never lets a hanging endpoint delay other webhooks or later events', async () => {
    const hanging = await startReceiver({ behaviour: hang });
    const healthy = await startReceiver();
    await createHook(runtime, { model_name: 'shared', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: hanging.url } });
    await createHook(runtime, { model_name: 'shared', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: healthy.url } });
    await publish(runtime, [versionCreated('shared', { event_id: 'h1' })]);
    await waitForRequests(hanging, 1);
    await publish(runtime, [versionCreated('shared', { event_id: 'h2' })]);
    const received = await waitForRequests(healthy, 2);
    const firstHang = hanging.requests[0]?.at ?? 0;
    assert.ok((received[1]?.at ?? Infinity) < firstHang + 2000, 'the second event reached the healthy endpoint before the hanging attempt timed out');
  });

  it('delivers over HTTPS to a self-signed endpoint only with enable_ssl_verification false', async () => {
    const receiver = await startReceiver({ tls: true });
    const relaxed = await createHook(runtime, { model_name: 'tls', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url, enable_ssl_verification: false } });
    const strict = await createHook(runtime, { model_name: 'tls', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url.replace('127.0.0.1', 'localhost') } });
    await publish(runtime, [versionCreated('tls')]);
    await waitForDeliveries(runtime, relaxed, (list) => list[0]?.status === 'SUCCEEDED');
    const [failed] = await waitForDeliveries(runtime, strict, (list) => list[0]?.last_error !== undefined);
    assert.match(failed?.last_error ?? '', /certificate/i);
    assert.equal(receiver.requests.length, 1, 'only the relaxed webhook got through');
  });

  it('lists deliveries newest first and redelivers with the same webhook-id, by id and since a time', async () => {
    const receiver = await startReceiver({ behaviour: answer(500, 'down') });
    const id = await createHook(runtime, { model_name: 'redeliver', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const since = Date.now();
    await publish(runtime, [versionCreated('redeliver', { event_id: 'r1', event_timestamp: since }), versionCreated('redeliver', { event_id: 'r2', event_timestamp: since + 1 })]);
    const failed = await waitForDeliveries(runtime, id, (list) => list.length === 2 && list.every((delivery) => delivery.status === 'FAILED'));
    assert.deepEqual(failed.map((delivery) => delivery.event_id), ['r2', 'r1']);
    assert.equal((await runtime.api('GET', `${API}/deliveries?webhook_id=${id}&status=FAILED&max_results=1`)).json.next_page_token !== undefined, true);
    receiver.setBehaviour(answer(200, 'OK'));
    const before = receiver.requests.length;
    const one = await runtime.api('POST', `${API}/deliveries/redeliver`, { body: { delivery_id: failed[1]?.id } });
    assert.deepEqual(one.json, { delivery_ids: [failed[1]?.id] });
    await waitForDeliveries(runtime, id, (list) => list.find((delivery) => delivery.event_id === 'r1')?.status === 'SUCCEEDED');
    assert.equal(receiver.requests[before]?.headers['webhook-id'], failed[1]?.id);
    const range = await runtime.api('POST', `${API}/deliveries/redeliver`, { body: { webhook_id: id, since_timestamp: since } });
    assert.deepEqual(range.json, { delivery_ids: [failed[0]?.id] }, 'only the FAILED one is resent');
    const done = await waitForDeliveries(runtime, id, (list) => list.every((delivery) => delivery.status === 'SUCCEEDED'));
    assert.equal(done.find((delivery) => delivery.event_id === 'r2')?.attempts, 5);
  });

  it('lets managers read deliveries of model webhooks only, and refuses bad delivery calls', async () => {
    const receiver = await startReceiver();
    const model = await createHook(runtime, { model_name: 'perm', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const wide = await createHook(runtime, { events: ['COMMENT_CREATED'], http_url_spec: { url: receiver.url }, status: 'TEST_MODE' });
    assert.equal((await runtime.api('GET', `${API}/deliveries?webhook_id=${model}`, { token: MANAGER_TOKEN })).status, 200);
    assert.equal((await runtime.api('GET', `${API}/deliveries?webhook_id=${wide}`, { token: MANAGER_TOKEN })).status, 403);
    assert.equal((await runtime.api('GET', `${API}/deliveries?webhook_id=${model}`, { token: PUBLISHER_TOKEN })).status, 403);
    assert.equal((await runtime.api('GET', `${API}/deliveries`, { token: MANAGER_TOKEN })).status, 400, 'a manager names a webhook');
    assert.equal((await runtime.api('GET', `${API}/deliveries?webhook_id=${model}&status=LOST`)).status, 400);
    assert.equal((await runtime.api('POST', `${API}/deliveries/redeliver`, { body: { delivery_id: 'nope' } })).status, 404);
    assert.equal((await runtime.api('POST', `${API}/deliveries/redeliver`, { body: { webhook_id: wide, since_timestamp: 0 } })).status, 400, 'not ACTIVE');
    assert.equal((await runtime.api('POST', `${API}/deliveries/redeliver`, { body: {} })).status, 400);
  });

  it('answers the test call for any status, with the target status and body, and the reason when unreachable', async () => {
    const receiver = await startReceiver({ behaviour: answer(202, 'accepted: test') });
    for (const status of ['TEST_MODE', 'ACTIVE', 'DISABLED']) {
      const id = await createHook(runtime, { model_name: 'tested', status, events: ['MODEL_VERSION_TAG_SET', 'COMMENT_CREATED'], http_url_spec: { url: receiver.url, secret: SECRET } });
      const response = await runtime.api('POST', `${API}/test`, { body: { id, event: 'COMMENT_CREATED' } });
      assert.deepEqual(response.json, { status_code: 202, status: 202, body: 'accepted: test' }, status);
      const sent = receiver.requests[receiver.requests.length - 1];
      const payload = new StandardWebhook(SECRET).verify(sent?.body ?? '', sent?.headers ?? {}) as Record<string, unknown>;
      assert.equal(payload.event, 'COMMENT_CREATED');
      assert.equal(payload.model_name, 'tested');
      assert.equal((await runtime.api('POST', `${API}/test`, { body: { id, event: 'MODEL_VERSION_CREATED' } })).status, 400);
    }
    const defaultEvent = await createHook(runtime, { model_name: 'tested', events: ['MODEL_VERSION_TAG_SET'], http_url_spec: { url: receiver.url } });
    await runtime.api('POST', `${API}/test`, { body: { id: defaultEvent } });
    assert.equal((JSON.parse(receiver.requests[receiver.requests.length - 1]?.body ?? '{}') as Record<string, unknown>).event, 'MODEL_VERSION_TAG_SET');
    const closed = await startReceiver();
    const unreachable = await createHook(runtime, { model_name: 'tested', events: ['COMMENT_CREATED'], http_url_spec: { url: closed.url } });
    await closed.close();
    const response = await runtime.api('POST', `${API}/test`, { body: { id: unreachable } });
    assert.equal(response.status, 502);
    assert.equal(response.json.error_code, 'TARGET_UNREACHABLE');
    assert.match(String(response.json.message), /http_url_spec\.url.*ECONNREFUSED/);
    const audits: string[] = [];
    for await (const entry of azurite.clients.table(TABLES.audit).listEntities<{ Action: string; WebhookId: string }>()) if (entry.WebhookId === unreachable) audits.push(entry.Action);
    assert.deepEqual(audits.sort(), ['create', 'test']);
  });

  it("never returns or logs the webhook's own secrets when a receiver echoes them", async () => {
    const echo = await startReceiver({
      behaviour: (request, _n, response) => {
        response.writeHead(500).end(`auth=${request.headers.authorization ?? ''} ${JSON.stringify(request.headers)}`);
      },
    });
    const id = await createHook(runtime, { model_name: 'echo', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: echo.url, secret: 'echo-secret-value', authorization: 'Bearer echo-authorization' } });
    const tested = await runtime.api('POST', `${API}/test`, { body: { id } });
    assert.equal(tested.status, 200);
    assert.match(String(tested.json.body), /\[REDACTED\]/);
    assert.ok(!tested.text.includes('echo-authorization'));
    await publish(runtime, [versionCreated('echo')]);
    const [delivery] = await waitForDeliveries(runtime, id, (list) => list[0]?.last_error !== undefined);
    assert.match(delivery?.last_error ?? '', /^HTTP 500: auth=\[REDACTED\]/);
    assert.ok(!JSON.stringify(delivery).includes('echo-authorization'));
  });

  it('never returns the first characters of a secret that straddles the 1 MiB cut of the test call\'s answer', async () => {
    const secret = 'straddling-secret-0123456789';
    // The secret starts 10 bytes before the cap: cutting first, then redacting, would leave `straddlin`.
    const echo = await startReceiver({ behaviour: answer(200, `${'x'.repeat(1024 * 1024 - 10)}${secret}${'y'.repeat(100)}`) });
    const id = await createHook(runtime, { model_name: 'straddle', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: echo.url, secret } });
    const tested = await runtime.api('POST', `${API}/test`, { body: { id } });
    assert.equal(tested.status, 200, tested.text.slice(0, 300));
    const body = String(tested.json.body);
    assert.ok(Buffer.byteLength(body) <= 1024 * 1024, 'the answer is still cut to the cap');
    assert.match(body.slice(-20), /x\[RED/, `the end of the answer: ${body.slice(-30)}`);
    assert.ok(!body.includes(secret.slice(0, 9)), `the cut left a prefix of the secret: ${body.slice(-30)}`);
  });

  it('never returns an echoed authorization JSON-escaped, URL-encoded, in base64, or when it is short', async () => {
    const echo = await startReceiver({
      behaviour: (request, _n, response) => {
        const auth = request.headers.authorization ?? '';
        response.writeHead(200).end(JSON.stringify({ headers: request.headers, form: encodeURIComponent(auth), raw: Buffer.from(`Authorization: ${auth}`).toString('base64') }));
      },
    });
    for (const authorization of ['tok"en\\x-escaped-authorization', 'a"1']) {
      const id = await createHook(runtime, { model_name: 'echo-encoded', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: echo.url, authorization } });
      const tested = await runtime.api('POST', `${API}/test`, { body: { id } });
      assert.equal(tested.status, 200, tested.text);
      const body = JSON.parse(String(tested.json.body)) as { headers: Record<string, string>; form: string; raw: string };
      assert.equal(body.headers.authorization, '[REDACTED]');
      assert.equal(body.form, '[REDACTED]');
      assert.ok(!Buffer.from(body.raw.replace('[REDACTED]', ''), 'base64').toString('latin1').includes(authorization.slice(1, -1)) || authorization.length < 8);
      for (const spelling of [JSON.stringify(authorization).slice(1, -1), encodeURIComponent(authorization)]) assert.ok(!tested.text.includes(spelling), spelling);
    }
  });

  it('audits every triggered delivery with the publisher and the URL origin only, never a secret', async () => {
    const receiver = await startReceiver();
    // A Slack-style URL: its path is a credential.
    const url = `${receiver.url}/services/T0001/B0002/slackstylepathsecret`;
    const id = await createHook(runtime, { model_name: 'audited', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url, secret: 'audit-secret-value', authorization: 'Bearer audit-authorization' } });
    await publish(runtime, [versionCreated('audited')], PUBLISHER_TOKEN);
    await waitFor('the audit entry', async () => {
      for await (const entry of azurite.clients.table(TABLES.audit).listEntities<Record<string, string>>()) {
        if (entry.WebhookId === id && entry.Action === 'deliver') return entry;
      }
      return undefined;
    }).then((entry) => {
      assert.match(entry.Principal ?? '', /^token:publisher:[0-9a-f]{8}$/);
      assert.deepEqual(JSON.parse(entry.Target ?? '{}'), { origin: new URL(receiver.url).origin, enable_ssl_verification: true });
      assert.ok(!JSON.stringify(entry).includes('audit-secret-value') && !JSON.stringify(entry).includes('audit-authorization'));
      assert.ok(!JSON.stringify(entry).includes('slackstylepathsecret'));
    });
    const create = await waitFor('the create entry', async () => {
      for await (const entry of azurite.clients.table(TABLES.audit).listEntities<Record<string, string>>()) if (entry.WebhookId === id && entry.Action === 'create') return entry;
      return undefined;
    });
    assert.deepEqual(JSON.parse(create.Target ?? '{}'), { url, enable_ssl_verification: true }, 'create, update, delete and test keep the full URL');
  });
});
