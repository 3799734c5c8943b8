import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { passesFilter } from '../../src/webhooks/content-filter.js';
import { filterSchema } from '../../src/webhooks/filter-schema.js';
import type { RegistryEvent } from '../../src/webhooks/registry-event.js';
import type { FilterCondition } from '../../src/webhooks/webhook.js';
import { processEventMessage, type QueueMessageMeta } from '../../src/pipeline/fan-out.js';
import { createWebhook, updateWebhook } from '../../src/webhooks/webhook-service.js';
import { ApiError } from '../../src/shared/errors.js';
import { admin, webhookDeps } from '../support/deps.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

const event = (overrides: Partial<RegistryEvent> & { alias?: string } = {}): RegistryEvent => ({
  eventId: 'e1',
  idSupplied: true,
  event: 'MODEL_VERSION_TRANSITIONED_STAGE',
  modelName: 'M',
  version: '8',
  toStage: 'Production',
  fromStage: 'Staging',
  userId: 'alice@example.com',
  tags: [{ key: 'approved', value: 'true' }],
  eventTimestamp: 1,
  publishedBy: 'p',
  ...overrides,
});
const when = (...filter: FilterCondition[]) => filter;

describe('content filters', () => {
  it('in, not_in, prefix and exists hold as documented; all conditions must hold', () => {
    const e = event();
    assert.equal(passesFilter(e, when({ field: 'to_stage', op: 'in', values: ['Production'] })), true);
    assert.equal(passesFilter(e, when({ field: 'to_stage', op: 'in', values: ['Staging'] })), false);
    assert.equal(passesFilter(e, when({ field: 'from_stage', op: 'not_in', values: ['None'] })), true);
    assert.equal(passesFilter(e, when({ field: 'from_stage', op: 'not_in', values: ['Staging'] })), false);
    assert.equal(passesFilter(e, when({ field: 'user_id', op: 'prefix', values: ['bob', 'alice@'] })), true);
    assert.equal(passesFilter(e, when({ field: 'version', op: 'exists' })), true);
    assert.equal(passesFilter(e, when({ field: 'tags.approved', op: 'in', values: ['true'] })), true);
    assert.equal(passesFilter(e, when({ field: 'tags.approved', op: 'in', values: ['true'] }, { field: 'to_stage', op: 'in', values: ['Staging'] })), false);
    assert.equal(passesFilter(e, []), true);
    assert.equal(passesFilter(e, undefined), true);
  });

  it('an event without the field matches only not_in', () => {
    const bare = event({ tags: undefined, userId: undefined });
    for (const op of ['in', 'prefix'] as const) assert.equal(passesFilter(bare, when({ field: 'tags.approved', op, values: ['true'] })), false, op);
    assert.equal(passesFilter(bare, when({ field: 'user_id', op: 'exists' })), false);
    assert.equal(passesFilter(bare, when({ field: 'alias', op: 'in', values: ['champion'] })), false);
    assert.equal(passesFilter(bare, when({ field: 'tags.approved', op: 'not_in', values: ['false'] })), true);
  });

  it('filters on alias when the event carries one', () => {
    const moved = event({ alias: 'champion', toStage: undefined, fromStage: undefined });
    assert.equal(passesFilter(moved, when({ field: 'alias', op: 'in', values: ['champion'] })), true);
    assert.equal(passesFilter(moved, when({ field: 'alias', op: 'in', values: ['challenger'] })), false);
  });

  it('values are compared exactly (case and all)', () => {
    assert.equal(passesFilter(event(), when({ field: 'to_stage', op: 'in', values: ['production'] })), false);
  });

  it('refuses bad filters with the field named', () => {
    const problems: [unknown, RegExp][] = [
      [{}, /list/],
      [[{ field: 'stage', op: 'in', values: ['x'] }], /field/],
      [[{ field: 'to_stage', op: 'eq', values: ['x'] }], /op/],
      [[{ field: 'to_stage', op: 'in' }], /values/],
      [[{ field: 'to_stage', op: 'exists', values: ['x'] }], /values/],
      [[{ field: 'to_stage', op: 'in', values: [] }], /values/],
      [[{ field: 'to_stage', op: 'in', values: ['x'.repeat(257)] }], /256/],
      [[{ field: 'to_stage', op: 'in', values: Array.from({ length: 21 }, (_, i) => String(i)) }], /20/],
      [Array.from({ length: 11 }, () => ({ field: 'version', op: 'exists' })), /10/],
      [[{ field: 'tags.', op: 'exists' }], /field/],
      [[{ field: 'version', op: 'exists', extra: 1 }], /extra|Unrecognized/],
    ];
    for (const [input, message] of problems) {
      const result = filterSchema.safeParse(input);
      assert.equal(result.success, false, JSON.stringify(input));
      assert.match(JSON.stringify(result.error?.issues), message);
    }
  });
});

describe('filters on create and update', () => {
  const base = { model_name: 'm', events: ['MODEL_VERSION_TRANSITIONED_STAGE'], http_url_spec: { url: 'https://hooks.example.com/x' } };
  const champion = [{ field: 'to_stage', op: 'in', values: ['Production'] }];

  it('stores and lists a filter; [] clears it; left out, it stays', async () => {
    const { deps, store } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, { ...base, filter: champion });
    assert.deepEqual(webhook.filter, champion);
    const kept = await updateWebhook(deps, admin, { id: webhook.id, description: 'x' });
    assert.deepEqual(kept.webhook.filter, champion);
    const cleared = await updateWebhook(deps, admin, { id: webhook.id, filter: [] });
    assert.equal('filter' in cleared.webhook, false);
    assert.equal((await store.get(webhook.id))?.value.filter, undefined);
    const plain = await createWebhook(deps, admin, { ...base, filter: [] });
    assert.equal('filter' in plain.webhook, false, 'an empty filter is no filter, and lists as none');
  });

  it('a bad filter is a 400 naming the field, and changes nothing', async () => {
    const { deps, store } = webhookDeps();
    const { webhook } = await createWebhook(deps, admin, { ...base, filter: champion });
    for (const call of [
      () => createWebhook(deps, admin, { ...base, filter: [{ field: 'to_stage', op: 'in' }] }),
      () => updateWebhook(deps, admin, { id: webhook.id, filter: [{ field: 'to_stage', op: 'in' }] }),
    ]) {
      await assert.rejects(call(), (error: unknown) => error instanceof ApiError && error.code === 'INVALID_PARAMETER_VALUE' && /'filter\[0\]\.values'/.test(error.message));
    }
    assert.deepEqual((await store.get(webhook.id))?.value.filter, champion);
  });
});

describe('filters in the fan-out', () => {
  const meta: QueueMessageMeta = { id: 'msg-1', dequeueCount: 1, insertedAt: 0, text: '{}' };
  const transition = (toStage: string, tags?: { key: string; value: string }[]) => ({
    event: 'MODEL_VERSION_TRANSITIONED_STAGE',
    model_name: 'M',
    version: '3',
    to_stage: toStage,
    from_stage: 'Staging',
    ...(tags ? { tags } : {}),
  });

  it('a filtered-out event writes no record and sends nothing; a passing one is delivered', async () => {
    const { deps, webhooks, sender, deliveries, audit } = pipelineDeps();
    const filtered = makeWebhook({
      events: ['MODEL_VERSION_TRANSITIONED_STAGE'],
      filter: [
        { field: 'to_stage', op: 'in', values: ['Production'] },
        { field: 'tags.approved', op: 'in', values: ['true'] },
      ],
    });
    await webhooks.insert(filtered);
    await processEventMessage(deps, { events: [transition('Production'), transition('Archived', [{ key: 'approved', value: 'true' }])] }, meta);
    assert.equal(sender.sent.length, 0);
    assert.equal(deliveries.rows.size, 0, 'no record');
    assert.equal(audit.entries.length, 0);
    await processEventMessage(deps, { events: [transition('Production', [{ key: 'approved', value: 'true' }])] }, { ...meta, id: 'msg-2' });
    assert.equal(sender.sent.length, 1);
    assert.equal(deliveries.rows.size, 1);
  });
});
