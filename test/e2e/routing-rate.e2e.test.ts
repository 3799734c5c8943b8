import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { odata } from '@azure/data-tables';
import { TABLES } from '../../src/storage/names.js';
import { createHook, publish, versionCreated, waitForDeliveries } from '../support/api-helpers.js';
import { testAzurite } from '../support/azurite.js';
import { startFakeSlack } from '../support/fake-chat.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';

describe('a rate limit per endpoint, end to end', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  it('a burst of events to a Slack webhook at max_requests_per_second 2: the excess waits for its slots, no attempt used up', async () => {
    const slack = await startFakeSlack();
    const id = await createHook(runtime, { model_name: 'rate-slack', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: slack.url, format: 'slack', max_requests_per_second: 2 } });
    const listed = await runtime.api('GET', `${API}/list?model_name=rate-slack`);
    assert.equal((listed.json.webhooks as { http_url_spec: { max_requests_per_second?: number } }[])[0]?.http_url_spec.max_requests_per_second, 2);
    await publish(runtime, Array.from({ length: 6 }, (_, index) => versionCreated('rate-slack', { version: String(index + 1) })));
    const done = await waitForDeliveries(runtime, id, (list) => list.length === 6 && list.every((delivery) => delivery.status === 'SUCCEEDED'), 60_000);
    assert.ok(done.every((delivery) => delivery.attempts === 1), 'waiting for a slot uses no attempt');
    assert.equal(slack.posted.length, 6);

    // The fan-out's own account: one delivery attempted at once, five put off to their slots.
    const audit = azurite.clients.table(TABLES.audit).listEntities<{ Action: string; WebhookId: string; Details: string }>({ queryOptions: { filter: odata`WebhookId eq ${id} and Action eq 'deliver'` } });
    const statuses: string[] = [];
    for await (const entry of audit) statuses.push((JSON.parse(entry.Details) as { status: string }).status);
    assert.deepEqual(statuses.sort(), ['PENDING', 'PENDING', 'PENDING', 'PENDING', 'PENDING', 'SUCCEEDED']);
    // The slots are booked in storage, where every instance books them: six, 500 ms apart, from about the fan-out's time.
    const row = await azurite.clients.table(TABLES.rateSlots).getEntity<{ FreeAt: number }>(id, '');
    const created = Math.min(...done.map((delivery) => delivery.created_timestamp));
    assert.ok(row.FreeAt > created && row.FreeAt <= created + 3000, `${row.FreeAt - created}`);
  });

  it('a bad rate is a 400 naming it; 0 removes the limit', async () => {
    const slack = await startFakeSlack();
    for (const bad of [-1, 1.5, 1001, '2']) {
      const answer = await runtime.api('POST', `${API}/create`, { body: { model_name: 'rate-bad', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: slack.url, max_requests_per_second: bad } } });
      assert.equal(answer.status, 400, String(bad));
      assert.match(String(answer.json.message), /'http_url_spec\.max_requests_per_second'/);
    }
    const id = await createHook(runtime, { model_name: 'rate-bad', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: slack.url, max_requests_per_second: 5 } });
    const cleared = await runtime.api('PATCH', `${API}/update`, { body: { id, http_url_spec: { max_requests_per_second: 0 } } });
    assert.equal(cleared.status, 200);
    assert.deepEqual((cleared.json.webhook as { http_url_spec: unknown }).http_url_spec, { url: slack.url, enable_ssl_verification: true });
  });
});
