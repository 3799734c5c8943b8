import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { QUEUES } from '../../src/pipeline/queues.js';
import { queuesDrained, testAzurite } from '../support/azurite.js';
import { createHook, deliveriesOf, publish, waitForRequests } from '../support/api-helpers.js';
import { startReceiver } from '../support/receiver.js';
import { API, startRuntime, testEnv } from '../support/runtime-process.js';

describe('content filters end to end', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString));

  it('only @champion-approved production moves are delivered; the others leave no record; test calls ignore the filter', async () => {
    const receiver = await startReceiver();
    const filter = [
      { field: 'to_stage', op: 'in', values: ['Production'] },
      { field: 'tags.approved', op: 'in', values: ['true'] },
    ];
    const id = await createHook(runtime, { model_name: 'filtered', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: receiver.url }, filter });
    const listed = await runtime.api('GET', `${API}/list?model_name=filtered`);
    assert.deepEqual((listed.json.webhooks as Record<string, unknown>[])[0]?.filter, filter);
    const move = (toStage: string, version: string, approved?: string) => ({
      event: 'MODEL_VERSION_TRANSITIONED_STAGE',
      model_name: 'filtered',
      version,
      to_stage: toStage,
      from_stage: 'Staging',
      ...(approved !== undefined ? { tags: [{ key: 'approved', value: approved }] } : {}),
    });
    await publish(runtime, [move('Production', '1'), move('Archived', '2', 'true'), move('Production', '3', 'false'), move('Production', '4', 'true')]);
    const [request] = await waitForRequests(receiver, 1);
    assert.equal((JSON.parse(request?.body ?? '{}') as { version?: string }).version, '4');
    await queuesDrained(azurite.clients, [QUEUES.registryEvents, QUEUES.deliveries]);
    assert.equal(receiver.requests.length, 1);
    const records = await deliveriesOf(runtime, id);
    assert.equal(records.length, 1, 'filtered-out events write no delivery record');

    const tested = await runtime.api('POST', `${API}/test`, { body: { id } });
    assert.equal(tested.status, 200, tested.text);
    assert.equal(receiver.requests.length, 2, 'the test call ignores the filter');
  });

  it('only when @champion moves: an alias filter on the alias events', async () => {
    const receiver = await startReceiver();
    const id = await createHook(runtime, {
      model_name: 'filtered-alias',
      events: ['MODEL_VERSION_ALIAS_CREATED'],
      http_url_spec: { url: receiver.url },
      filter: [{ field: 'alias', op: 'in', values: ['champion'] }],
    });
    const moved = (alias: string, version: string) => ({ event: 'MODEL_VERSION_ALIAS_CREATED', model_name: 'filtered-alias', alias, version, previous_version: '1' });
    await publish(runtime, [moved('challenger', '2'), moved('champion', '3')]);
    const [request] = await waitForRequests(receiver, 1);
    assert.deepEqual([(JSON.parse(request?.body ?? '{}') as { alias?: string }).alias], ['champion']);
    await queuesDrained(azurite.clients, [QUEUES.registryEvents, QUEUES.deliveries]);
    assert.equal((await deliveriesOf(runtime, id)).length, 1);
  });

  it('a bad filter is a 400 naming it, on create and update, and changes nothing', async () => {
    const receiver = await startReceiver();
    const id = await createHook(runtime, { model_name: 'filtered-bad', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } });
    const before = await runtime.api('GET', `${API}/list?model_name=filtered-bad`);
    for (const [body, field] of [
      [{ model_name: 'filtered-bad', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url }, filter: [{ field: 'stage', op: 'in', values: ['x'] }] }, 'filter[0].field'],
      [{ model_name: 'filtered-bad', events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url }, filter: { field: 'version', op: 'exists' } }, 'filter'],
    ] as const) {
      const created = await runtime.api('POST', `${API}/create`, { body });
      assert.equal(created.status, 400, created.text);
      assert.equal(created.json.error_code, 'INVALID_PARAMETER_VALUE');
      assert.ok(String(created.json.message).includes(`'${field}'`), created.text);
    }
    const updated = await runtime.api('PATCH', `${API}/update`, { body: { id, filter: [{ field: 'version', op: 'prefix' }] } });
    assert.equal(updated.status, 400);
    assert.ok(String(updated.json.message).includes("'filter[0].values'"), updated.text);
    const after = await runtime.api('GET', `${API}/list?model_name=filtered-bad`);
    assert.deepEqual(after.json, before.json);
  });
});
