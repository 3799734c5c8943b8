import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TABLES } from '../../src/storage/names.js';
import { pipelineIdle, testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, versionCreated, waitForDeliveries, waitForRequests } from '../support/api-helpers.js';
import { answer, startReceiver } from '../support/receiver.js';
import { ADMIN_TOKEN, API, MANAGER_TOKEN, PUBLISHER_TOKEN, startRuntime, TEAM_MANAGER_TOKEN, testEnv, waitFor } from '../support/runtime-process.js';

const MODEL = 'auto-disable-model';

/**
 * Endpoint health, auto-disable, SKIPPED records and their replay, against the runtime `npm start` runs, on
 * Azurite, with a real receiver. WEBHOOKS_AUTO_DISABLE_AFTER is a second, and the retry schedule four attempts
 * over three seconds, so four failing events make sixteen failed attempts over three seconds.
 */
describe('endpoint health and auto-disable end to end', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { WEBHOOKS_AUTO_DISABLE_AFTER: '1s' }));
  const receiver = await startReceiver({ behaviour: answer(503, 'down for maintenance') });
  const health = async (id: string, token = ADMIN_TOKEN) => runtime.api('GET', `${API}/webhooks/health?id=${id}`, { token });
  const healthOf = async (id: string) => (await health(id)).json.health as Record<string, number | string | undefined>;
  let id = '';
  let since = 0;

  it('answers the health of a new webhook, and refuses a missing, bad or unknown id and a publisher', async () => {
    id = await createHook(runtime, { model_name: MODEL, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    assert.deepEqual(await healthOf(id), { webhook_id: id, status: 'NO_ATTEMPTS', consecutive_failures: 0, deliveries_24h: 0 });
    const missing = await runtime.api('GET', `${API}/webhooks/health`, { token: ADMIN_TOKEN });
    assert.equal(missing.status, 400);
    assert.match(String(missing.json.message), /'id'/);
    const bad = await health('not-a-webhook-id');
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error_code, 'INVALID_PARAMETER_VALUE');
    assert.match(String(bad.json.message), /'id'/);
    const unknown = await health('f'.repeat(32));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
    assert.equal((await health(id, PUBLISHER_TOKEN)).status, 403);
    assert.equal((await health(id, MANAGER_TOKEN)).status, 200);
  });

  it("refuses hostile ids naming 'id', answers a manager of another model 403 without figures, and a deleted webhook 404 to admins too", async () => {
    for (const hostile of [`${id}&id=${id}`, 'x'.repeat(5000), id.toUpperCase(), `${id}%00`, '%27%20or%201%3D1', `..%2F${id}`]) {
      const response = await runtime.api('GET', `${API}/webhooks/health?id=${hostile}`, { token: ADMIN_TOKEN });
      assert.equal(response.status, 400, hostile);
      assert.equal(response.json.error_code, 'INVALID_PARAMETER_VALUE', hostile);
      assert.match(String(response.json.message), /'id'/, hostile);
    }
    const outsider = await health(id, TEAM_MANAGER_TOKEN);
    assert.equal(outsider.status, 403);
    assert.equal(outsider.json.error_code, 'PERMISSION_DENIED');
    assert.equal(outsider.json.health, undefined);
    const doomed = await createHook(runtime, { model_name: 'health-deleted', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    assert.equal((await runtime.api('DELETE', `${API}/delete`, { token: ADMIN_TOKEN, body: { id: doomed } })).status, 200);
    const gone = await health(doomed);
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error_code, 'RESOURCE_DOES_NOT_EXIST');
  });

  it('disables a webhook whose attempts all failed for WEBHOOKS_AUTO_DISABLE_AFTER, with an AUTO_DISABLED audit entry and a warning', async () => {
    since = Date.now() - 1000;
    await publish(runtime, [1, 2, 3, 4].map((version) => versionCreated(MODEL, { version: String(version) })));
    const disabled = await waitFor('the service to disable the webhook', async () => {
      const now = await healthOf(id);
      return now.status === 'SERVICE_DISABLED' ? now : undefined;
    }, 30_000);
    assert.ok(Number(disabled.consecutive_failures) >= 10, `${String(disabled.consecutive_failures)} failures in a row`);
    assert.ok(disabled.failing_since_timestamp !== undefined && disabled.auto_disabled_timestamp !== undefined);
    assert.ok(Number(disabled.auto_disabled_timestamp) - Number(disabled.failing_since_timestamp) >= 1000, 'failing for the whole second before');
    assert.equal(disabled.last_success_timestamp, undefined);
    const listed = await runtime.api('GET', `${API}/list?model_name=${MODEL}`, { token: ADMIN_TOKEN });
    assert.equal((listed.json.webhooks as { status: string }[])[0]?.status, 'DISABLED');
    const actions: string[] = [];
    for await (const entry of azurite.clients.table(TABLES.audit).listEntities<{ Action: string; WebhookId: string; Principal: string }>()) {
      if (entry.WebhookId === id && entry.Action === 'AUTO_DISABLED') actions.push(entry.Principal);
    }
    assert.deepEqual(actions, ['system']);
    await waitFor('the warning', () => (runtime.output().includes(`webhook ${id} auto-disabled`) ? true : undefined));
    // Retries due after the disable are not made: every first delivery ends FAILED.
    await waitForDeliveries(runtime, id, (deliveries) => deliveries.length === 4 && deliveries.every((delivery) => delivery.status === 'FAILED'));
  });

  it('records events published meanwhile as SKIPPED and sends nothing', async () => {
    const before = receiver.requests.length;
    await publish(runtime, [5, 6, 7].map((version) => versionCreated(MODEL, { version: String(version) })));
    const deliveries = await waitForDeliveries(runtime, id, (list) => list.filter((delivery) => delivery.status === 'SKIPPED').length === 3);
    assert.ok(deliveries.filter((delivery) => delivery.status === 'SKIPPED').every((delivery) => delivery.attempts === 0));
    assert.equal(receiver.requests.length, before, 'nothing was sent');
    const redeliverWhileDisabled = await runtime.api('POST', `${API}/deliveries/redeliver`, { token: MANAGER_TOKEN, body: { webhook_id: id, since_timestamp: since } });
    assert.equal(redeliverWhileDisabled.status, 400);
    assert.match(String(redeliverWhileDisabled.json.message), /set it ACTIVE/);
    assert.equal((await healthOf(id)).deliveries_24h, 7);
  });

  it('refuses bad redeliver parameters naming the field', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ webhook_id: id, since_timestamp: -5 }, /'since_timestamp'/],
      [{ webhook_id: id, since_timestamp: Date.now() + 86_400_000 }, /'since_timestamp'.*future/],
      [{ webhook_id: id, since_timestamp: 'last tuesday' }, /'since_timestamp'/],
      [{ webhook_id: id }, /'since_timestamp'/],
      [{ delivery_id: `${id}_x`, webhook_id: id, since_timestamp: 0 }, /'webhook_id'.*'delivery_id' alone/],
    ];
    for (const [body, message] of cases) {
      const response = await runtime.api('POST', `${API}/deliveries/redeliver`, { token: MANAGER_TOKEN, body });
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(response.json.error_code, 'INVALID_PARAMETER_VALUE');
      assert.match(String(response.json.message), message);
    }
  });

  it('once a manager sets it ACTIVE, redeliver since a time brings every SKIPPED and FAILED event to the recovered receiver exactly once', async () => {
    const missed = (await deliveriesOf(runtime, id)).filter((delivery) => delivery.status === 'FAILED' || delivery.status === 'SKIPPED');
    assert.deepEqual(missed.map((delivery) => delivery.status).sort(), ['FAILED', 'FAILED', 'FAILED', 'FAILED', 'SKIPPED', 'SKIPPED', 'SKIPPED']);
    receiver.setBehaviour(answer(200, 'back'));
    const before = receiver.requests.length;
    const update = await runtime.api('PATCH', `${API}/update`, { token: MANAGER_TOKEN, body: { id, status: 'ACTIVE' } });
    assert.equal(update.status, 200);
    const redelivered = await runtime.api('POST', `${API}/deliveries/redeliver`, { token: MANAGER_TOKEN, body: { webhook_id: id, since_timestamp: since } });
    assert.equal(redelivered.status, 200, redelivered.text);
    assert.deepEqual([...(redelivered.json.delivery_ids as string[])].sort(), missed.map((delivery) => delivery.id).sort());
    await waitForDeliveries(runtime, id, (list) => list.length === 7 && list.every((delivery) => delivery.status === 'SUCCEEDED'));
    // Anything late would still be on a queue: count once they are empty.
    await pipelineIdle(azurite.clients);
    const received = receiver.requests.slice(before).map((request) => request.headers['webhook-id'] ?? '').sort();
    assert.deepEqual(received, missed.map((delivery) => delivery.id).sort(), 'each missed event once');
    const versions = receiver.requests.slice(before).map((request) => (JSON.parse(request.body) as { version: string }).version).sort();
    assert.deepEqual(versions, ['1', '2', '3', '4', '5', '6', '7']);
    const healthy = await healthOf(id);
    assert.equal(healthy.status, 'HEALTHY');
    assert.equal(healthy.consecutive_failures, 0);
    assert.equal(healthy.success_rate_24h, 1);
    assert.ok(Number(healthy.last_success_timestamp) > Number(healthy.last_failure_timestamp));
    assert.equal(healthy.auto_disabled_timestamp, undefined);
  });

  /** A receiver that holds each request until released, then answers 410 Gone: a 410 on the wire while a user acts. */
  const goneOnRelease = async () => {
    const released: (() => void)[] = [];
    const held = await startReceiver({
      behaviour: async (_request, _n, response) => {
        await new Promise<void>((resolve) => released.push(resolve));
        response.writeHead(410).end('gone');
      },
    });
    const releaseAll = () => {
      for (const release of released.splice(0)) release();
    };
    return { held, releaseAll };
  };

  it("a 410 answered after a user set the webhook DISABLED leaves the user's DISABLED: no service mark, no SKIPPED records", async () => {
    const { held, releaseAll } = await goneOnRelease();
    const model = 'gone-race-disabled';
    const raced = await createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: held.url } });
    // A second webhook of the model: once it has an event, that event's records are written.
    const witness = await startReceiver({ behaviour: answer(200, 'seen') });
    await createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: witness.url } });
    await publish(runtime, [versionCreated(model)]);
    await waitForRequests(held, 1);
    const update = await runtime.api('PATCH', `${API}/update`, { token: MANAGER_TOKEN, body: { id: raced, status: 'DISABLED' } });
    assert.equal(update.status, 200, update.text);
    releaseAll();
    await waitForDeliveries(runtime, raced, (list) => list.length === 1 && list[0]?.status === 'FAILED');
    const after = await healthOf(raced);
    assert.notEqual(after.status, 'SERVICE_DISABLED', "the user's DISABLED must not become the service's");
    assert.equal(after.auto_disabled_timestamp, undefined);
    await publish(runtime, [versionCreated(model, { version: '2' })]);
    await waitForRequests(witness, 2);
    // A user-disabled webhook records nothing; a service-disabled one would have a SKIPPED record by now.
    assert.equal((await deliveriesOf(runtime, raced)).length, 1);
  });

  it("a 410 from the old URL answered after a user pointed the webhook elsewhere leaves it ACTIVE", async () => {
    const { held, releaseAll } = await goneOnRelease();
    const fresh = await startReceiver({ behaviour: answer(200, 'fine') });
    const model = 'gone-race-moved';
    const moved = await createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: held.url } });
    await publish(runtime, [versionCreated(model)]);
    await waitForRequests(held, 1);
    const update = await runtime.api('PATCH', `${API}/update`, { token: MANAGER_TOKEN, body: { id: moved, http_url_spec: { url: fresh.url } } });
    assert.equal(update.status, 200, update.text);
    releaseAll();
    await waitForDeliveries(runtime, moved, (list) => list.length === 1 && list[0]?.status === 'FAILED');
    const listed = await runtime.api('GET', `${API}/list?model_name=${model}`, { token: ADMIN_TOKEN });
    assert.equal((listed.json.webhooks as { status: string }[])[0]?.status, 'ACTIVE', 'the 410 came from the URL the user replaced');
    await publish(runtime, [versionCreated(model, { version: '2' })]);
    await waitForRequests(fresh, 1);
  });

  it('a registry-wide webhook the service disabled (410) records later events of any model as SKIPPED, listed under status=SKIPPED', async () => {
    const gone = await startReceiver({ behaviour: answer(410, 'gone') });
    const wide = await createHook(runtime, { events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: gone.url } });
    const transitioned = (model: string) => ({ event: 'MODEL_VERSION_TRANSITIONED_STAGE', model_name: model, version: '1', to_stage: 'Staging', from_stage: 'None' });
    await publish(runtime, [transitioned('wide-a')]);
    await waitForDeliveries(runtime, wide, (list) => list.length === 1 && list[0]?.status === 'FAILED');
    assert.equal((await healthOf(wide)).status, 'SERVICE_DISABLED');
    await publish(runtime, [transitioned('wide-b'), transitioned('wide-c')]);
    await waitForDeliveries(runtime, wide, (list) => list.filter((delivery) => delivery.status === 'SKIPPED').length === 2);
    const skipped = await runtime.api('GET', `${API}/deliveries?webhook_id=${wide}&status=SKIPPED`, { token: ADMIN_TOKEN });
    assert.equal(skipped.status, 200);
    assert.equal((skipped.json.deliveries as unknown[]).length, 2);
    assert.equal(gone.requests.length, 1, 'nothing sent after the 410');
  });
});
