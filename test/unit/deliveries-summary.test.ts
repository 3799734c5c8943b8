import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { principalWith } from '../../src/auth/principal.js';
import { MAX_SUMMARY_WEBHOOKS, summarizeDeliveries, SUMMARY_ROW_BUDGET } from '../../src/pipeline/deliveries-summary.js';
import { deliveryIdOf, type Delivery, type DeliveryStatus } from '../../src/pipeline/delivery.js';
import { ApiError } from '../../src/shared/errors.js';
import type { Webhook } from '../../src/webhooks/webhook.js';
import { admin, publisher } from '../support/deps.js';
import { MemoryDeliveryStore, MemoryWebhookStore } from '../support/memory.js';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 10, 20, 10, 30);
const THIS_HOUR = Date.UTC(2026, 10, 20, 10);
const fraudTeam = principalWith('token:manager:fraud', [{ role: 'manager', models: ['fraud-*'], via: 'test' }]);
const anyModelManager = principalWith('token:manager:any', [{ role: 'manager', via: 'test' }]);

const hookOf = (modelName: string | undefined): Webhook => ({
  id: randomBytes(16).toString('hex'),
  ...(modelName !== undefined ? { modelName } : {}),
  events: ['MODEL_VERSION_CREATED'],
  status: 'ACTIVE',
  target: { kind: 'http', url: 'https://hooks.example.com/x', enableSslVerification: true },
  creationTimestamp: 1,
  lastUpdatedTimestamp: 1,
});

let n = 0;
const record = (webhookId: string, eventTimestamp: number, status: DeliveryStatus): Delivery => {
  n += 1;
  return { id: deliveryIdOf(webhookId, eventTimestamp, 'm', `e${n}`), webhookId, event: 'MODEL_VERSION_CREATED', eventId: `e${n}`, eventTimestamp, status, attempts: 1, createdTimestamp: eventTimestamp, payload: '{}' };
};

async function setUp() {
  const webhooks = new MemoryWebhookStore();
  const counts = new MemoryDeliveryStore();
  const fraud = hookOf('fraud-detector');
  const churn = hookOf('churn');
  const wide = hookOf(undefined);
  for (const hook of [fraud, churn, wide]) await webhooks.insert(hook);
  await counts.create([
    record(fraud.id, THIS_HOUR + 1, 'SUCCEEDED'),
    record(fraud.id, THIS_HOUR - HOUR, 'FAILED'),
    record(fraud.id, THIS_HOUR - 23 * HOUR, 'RETRYING'),
    record(fraud.id, THIS_HOUR - 24 * HOUR, 'FAILED'),
    record(churn.id, THIS_HOUR + 2, 'SKIPPED'),
    record(churn.id, THIS_HOUR + 3, 'PENDING'),
    record(wide.id, THIS_HOUR - HOUR, 'SUCCEEDED'),
  ]);
  return { deps: { webhooks, counts, clock: () => NOW }, fraud, churn, wide, webhooks, counts };
}

const rejects = (promise: Promise<unknown>, code: string, message: RegExp) =>
  assert.rejects(promise, (error: unknown) => error instanceof ApiError && error.code === code && message.test(error.message));

describe('deliveries summary', () => {
  it("answers 24 UTC hours ending with this one, oldest first, with every webhook's figures for an admin", async () => {
    const { deps } = await setUp();
    const summary = await summarizeDeliveries(deps, admin, {});
    assert.equal(summary.hours.length, 24);
    assert.equal(summary.hours[0]?.start_timestamp, THIS_HOUR - 23 * HOUR);
    assert.equal(summary.hours[23]?.start_timestamp, THIS_HOUR);
    assert.deepEqual(summary.hours[23], { start_timestamp: THIS_HOUR, succeeded: 1, failed: 0, skipped: 1, in_progress: 1 });
    assert.deepEqual(summary.hours[22], { start_timestamp: THIS_HOUR - HOUR, succeeded: 1, failed: 1, skipped: 0, in_progress: 0 });
    assert.deepEqual(summary.hours[0], { start_timestamp: THIS_HOUR - 23 * HOUR, succeeded: 0, failed: 0, skipped: 0, in_progress: 1 });
    assert.deepEqual(summary.totals, { succeeded: 2, failed: 1, skipped: 1, in_progress: 2 });
    assert.equal(summary.webhook_count, 3);
    assert.equal(summary.exact_since_timestamp, undefined);
  });

  it("never counts another team's webhooks, nor a registry-wide one, for a manager", async () => {
    const { deps, fraud, churn, wide } = await setUp();
    const team = await summarizeDeliveries(deps, fraudTeam, { hours: '24' });
    assert.deepEqual(team.totals, { succeeded: 1, failed: 1, skipped: 0, in_progress: 1 });
    assert.equal(team.webhook_count, 1);
    const any = await summarizeDeliveries(deps, anyModelManager, {});
    assert.equal(any.webhook_count, 2, 'every model, but not the registry-wide webhook');
    await rejects(summarizeDeliveries(deps, fraudTeam, { webhook_id: churn.id }), 'PERMISSION_DENIED', /churn/);
    await rejects(summarizeDeliveries(deps, anyModelManager, { webhook_id: wide.id }), 'PERMISSION_DENIED', /registry-wide/);
    await rejects(summarizeDeliveries(deps, publisher, {}), 'PERMISSION_DENIED', /read deliveries/);
    assert.deepEqual((await summarizeDeliveries(deps, fraudTeam, { webhook_id: fraud.id, hours: 1 })).hours, [
      { start_timestamp: THIS_HOUR, succeeded: 1, failed: 0, skipped: 0, in_progress: 0 },
    ]);
  });

  it("counts a deleted webhook's records for an admin only, and a webhook that never existed is a 404", async () => {
    const { deps, fraud, webhooks } = await setUp();
    await webhooks.remove(fraud);
    assert.deepEqual((await summarizeDeliveries(deps, admin, { webhook_id: fraud.id })).totals, { succeeded: 1, failed: 1, skipped: 0, in_progress: 1 });
    await rejects(summarizeDeliveries(deps, fraudTeam, { webhook_id: fraud.id }), 'RESOURCE_DOES_NOT_EXIST', new RegExp(fraud.id));
    assert.equal((await summarizeDeliveries(deps, fraudTeam, {})).webhook_count, 0);
    await rejects(summarizeDeliveries(deps, admin, { webhook_id: '0'.repeat(32) }), 'RESOURCE_DOES_NOT_EXIST', /does not exist/);
  });

  it('refuses bad input naming the field, and reads nothing', async () => {
    const { deps, counts } = await setUp();
    const before = { ...counts.reads };
    for (const hours of ['0', '169', '1.5', '-1', 'abc', '', 0, 24.5, '1e2']) {
      await rejects(summarizeDeliveries(deps, admin, { hours }), 'INVALID_PARAMETER_VALUE', /^Invalid parameter 'hours': must be a whole number of hours from 1 to 168$/);
    }
    await rejects(summarizeDeliveries(deps, admin, { webhook_id: 'nope' }), 'INVALID_PARAMETER_VALUE', /^Invalid parameter 'webhook_id'/);
    await rejects(summarizeDeliveries(deps, admin, { hours: ['1', '2'] }), 'INVALID_PARAMETER_VALUE', /'hours'/);
    await rejects(summarizeDeliveries(deps, admin, { status: 'FAILED' }), 'INVALID_PARAMETER_VALUE', /^Unknown parameter 'status'/);
    assert.deepEqual(counts.reads, before);
  });

  it('reads at most its row budget however many records there are, and says from when the figures are exact', async () => {
    const { deps, fraud, counts } = await setUp();
    const many = Array.from({ length: SUMMARY_ROW_BUDGET / 3 + 50 }, (_, i) => record(fraud.id, THIS_HOUR - 2 * HOUR - i * 1000, 'SUCCEEDED'));
    await counts.create(many);
    const summary = await summarizeDeliveries(deps, admin, { webhook_id: fraud.id });
    assert.ok(summary.exact_since_timestamp !== undefined);
    const counted = summary.totals.succeeded + summary.totals.failed + summary.totals.in_progress + summary.totals.skipped;
    assert.ok(counted <= SUMMARY_ROW_BUDGET, String(counted));
    assert.ok(summary.exact_since_timestamp > THIS_HOUR - 24 * HOUR && summary.exact_since_timestamp < THIS_HOUR - 2 * HOUR);
  });

  it('counts at most MAX_SUMMARY_WEBHOOKS webhooks, and says how many it left out', async () => {
    const { deps, counts } = await setUp();
    const extra = Array.from({ length: MAX_SUMMARY_WEBHOOKS }, () => randomBytes(16).toString('hex'));
    await counts.create(extra.map((id) => record(id, THIS_HOUR, 'SUCCEEDED')));
    const before = counts.reads.records + counts.reads.indexRows;
    const summary = await summarizeDeliveries(deps, admin, {});
    assert.equal(summary.webhook_count, MAX_SUMMARY_WEBHOOKS);
    assert.equal(summary.webhooks_not_counted, 3);
    assert.ok(counts.reads.records + counts.reads.indexRows - before <= MAX_SUMMARY_WEBHOOKS + 7);
  });
});
