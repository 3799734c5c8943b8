import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutoDisableWatch } from '../../src/pipeline/auto-disable.js';
import { HEALTH_RECORDS } from '../../src/pipeline/endpoint-health.js';
import { MAX_REDELIVER, redeliver } from '../../src/pipeline/deliveries-api.js';
import { deliveryIdOf, type Delivery } from '../../src/pipeline/delivery.js';
import type { DeliveryMessage } from '../../src/pipeline/attempts.js';
import { processDeliveryMessage } from '../../src/pipeline/deliverer.js';
import { processEventMessage, type QueueMessageMeta } from '../../src/pipeline/fan-out.js';
import { ApiError } from '../../src/shared/errors.js';
import { METRIC_NAMES } from '../../src/telemetry/metrics.js';
import { updateWebhook } from '../../src/webhooks/webhook-service.js';
import { admin, manager, webhookDeps } from '../support/deps.js';
import { recordedMetrics } from '../support/metrics.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

const failing = { kind: 'response' as const, status: 503, body: 'down' };
const ok = { kind: 'response' as const, status: 200, body: 'ok' };
let messages = 0;
const meta = (insertedAt: number): QueueMessageMeta => ({ id: `msg-${++messages}`, dequeueCount: 1, insertedAt, text: '{}' });
const created = (version: number) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'M', version: String(version) });

/** The fan-out and retry worker over in-memory stores, auto-disabling after `afterMs`, with metrics and warnings recorded. */
function setup(afterMs = 10_000) {
  const pipeline = pipelineDeps([0, 1000, 1000, 1000]);
  const recorded = recordedMetrics();
  const warnings: string[] = [];
  const deps = { ...pipeline.deps, autoDisable: new AutoDisableWatch(afterMs), metrics: recorded.metrics, log: { info: () => undefined, warn: (message: string) => warnings.push(message), error: () => undefined }, newId: () => 'f'.repeat(32) };
  /** Publishes one event now, then works every queued retry as its time comes, moving the clock. */
  const publish = async (version: number) => {
    await processEventMessage(deps, { events: [created(version)] }, meta(pipeline.clock.now));
  };
  const drainRetries = async () => {
    for (let rounds = 0; rounds < 100; rounds += 1) {
      const queued = pipeline.deliveryQueue.drain();
      if (queued.length === 0) return;
      pipeline.clock.advance(Math.max(...queued.map((message) => message.delayMs)));
      for (const message of queued) await processDeliveryMessage(deps, message.body as DeliveryMessage);
    }
  };
  /** `count` messages of `size` events 400 ms apart, each event attempted once (as if its schedule had one attempt). */
  const publishBursts = async (count: number, size = 100) => {
    for (let burst = 0; burst < count; burst += 1) {
      await processEventMessage({ ...deps, retryScheduleMs: [0] }, { events: Array.from({ length: size }, (_, index) => created(index + 1)) }, meta(pipeline.clock.now));
      pipeline.clock.advance(400);
    }
  };
  return { ...pipeline, deps, recorded, warnings, publish, drainRetries, publishBursts };
}

/** The record of event `e<n>` to a webhook, settled at `status` after `attempts` attempts. */
function recordOf(webhookId: string, n: number, eventTimestamp: number, status: Delivery['status'], attempts: number): Delivery {
  return { id: deliveryIdOf(webhookId, eventTimestamp, 'M', `e${n}`), webhookId, event: 'MODEL_VERSION_CREATED', eventId: `e${n}`, eventTimestamp, status, attempts, createdTimestamp: eventTimestamp, payload: '{}' };
}

describe('auto-disable, SKIPPED records and their replay', () => {
  it('a webhook failing for WEBHOOKS_AUTO_DISABLE_AFTER with ten failed attempts is disabled by the service: audited, logged, counted', async () => {
    const t = setup(2_000);
    const hook = makeWebhook({ lastUpdatedTimestamp: t.clock.now });
    await t.webhooks.insert(hook);
    t.sender.answer(hook.id, failing);
    for (const version of [1, 2]) await t.publish(version);
    await t.drainRetries();
    // Eight failed attempts over three seconds: long enough, too few.
    assert.equal((await t.webhooks.get(hook.id))?.value.status, 'ACTIVE');
    for (const version of [3, 4]) await t.publish(version);
    await t.drainRetries();
    const disabled = (await t.webhooks.get(hook.id))?.value;
    assert.equal(disabled?.status, 'DISABLED');
    assert.equal(disabled?.serviceDisabled?.reason, 'auto_disable');
    assert.deepEqual(
      t.audit.entries.filter((entry) => entry.action === 'AUTO_DISABLED').map((entry) => [entry.principal, entry.webhookId]),
      [['system', hook.id]],
    );
    assert.equal(await t.recorded.sum(METRIC_NAMES.autoDisabled), 1);
    assert.equal(t.warnings.filter((warning) => warning.includes(`webhook ${hook.id} auto-disabled`)).length, 1);
  });

  it('disables a busy webhook: thousands of failed records within the setting, far more than health reads', async () => {
    const t = setup(10_000);
    const hook = makeWebhook({ lastUpdatedTimestamp: t.clock.now });
    await t.webhooks.insert(hook);
    t.sender.answer(hook.id, failing);
    // 100 events every 400 ms, one attempt each: 3,000 failed records in 12 s, 1,000 of them in the last 4 s.
    await t.publishBursts(30);
    assert.ok(t.deliveries.rows.size > 2 * HEALTH_RECORDS);
    assert.equal((await t.webhooks.get(hook.id))?.value.status, 'DISABLED');
    assert.equal(await t.recorded.sum(METRIC_NAMES.autoDisabled), 1);
  });

  it('one success among thousands of failures restarts the clock', async () => {
    const t = setup(10_000);
    const hook = makeWebhook({ lastUpdatedTimestamp: t.clock.now });
    await t.webhooks.insert(hook);
    t.sender.answer(hook.id, failing);
    await t.publishBursts(15);
    t.sender.answer(hook.id, ok);
    await t.publishBursts(1, 1);
    t.sender.answer(hook.id, failing);
    await t.publishBursts(15);
    assert.equal((await t.webhooks.get(hook.id))?.value.status, 'ACTIVE', 'twelve seconds of failures, but six since the success');
    await t.publishBursts(15);
    assert.equal((await t.webhooks.get(hook.id))?.value.status, 'DISABLED', 'twelve seconds since the success');
  });

  it('two processes checking the same failing webhook at once disable it once: one audit entry, one count, one warning', async () => {
    const t = setup(2_000);
    const hook = makeWebhook({ lastUpdatedTimestamp: t.clock.now });
    await t.webhooks.insert(hook);
    t.sender.answer(hook.id, failing);
    // Four events and two rounds of retries in a process that does not check: twelve failures over two seconds.
    const { autoDisable: _watch, ...quiet } = t.deps;
    await processEventMessage(quiet, { events: [1, 2, 3, 4].map(created) }, meta(t.clock.now));
    const round = async (work: (message: DeliveryMessage, index: number) => Promise<void>) => {
      const queued = t.deliveryQueue.drain();
      t.clock.advance(Math.max(...queued.map((message) => message.delayMs)));
      await Promise.all(queued.map((message, index) => work(message.body as DeliveryMessage, index)));
    };
    for (let rounds = 0; rounds < 2; rounds += 1) await round((message) => processDeliveryMessage(quiet, message));
    assert.equal((await t.webhooks.get(hook.id))?.value.status, 'ACTIVE');
    // The next round, in two processes with a watch each: both check the webhook in the same instant.
    const other = { ...t.deps, autoDisable: new AutoDisableWatch(2_000) };
    await round((message, index) => processDeliveryMessage(index % 2 === 0 ? t.deps : other, message));
    await t.drainRetries();
    assert.equal((await t.webhooks.get(hook.id))?.value.status, 'DISABLED');
    assert.equal(t.audit.entries.filter((entry) => entry.action === 'AUTO_DISABLED').length, 1);
    assert.equal(await t.recorded.sum(METRIC_NAMES.autoDisabled), 1);
    assert.equal(t.warnings.filter((warning) => warning.includes(`webhook ${hook.id} auto-disabled`)).length, 1);
  });

  it('records the events of a service-disabled webhook as SKIPPED without sending or enqueueing; a user-disabled one records nothing', async () => {
    const t = setup();
    const byService = makeWebhook({ status: 'DISABLED', serviceDisabled: { timestamp: 1, reason: 'auto_disable' } });
    const byUser = makeWebhook({ status: 'DISABLED' });
    for (const hook of [byService, byUser]) await t.webhooks.insert(hook);
    // The same message twice, as a re-run after a crash: its records exist the second time.
    const again = meta(t.clock.now);
    await processEventMessage(t.deps, { events: [created(1)] }, again);
    await processEventMessage(t.deps, { events: [created(1)] }, again);
    assert.equal(t.sender.sent.length, 0);
    assert.equal(t.deliveryQueue.messages.length, 0);
    const records = [...t.deliveries.rows.values()];
    assert.deepEqual(records.map((record) => [record.webhookId, record.status, record.attempts]), [[byService.id, 'SKIPPED', 0]]);
    assert.equal(await t.recorded.sum(METRIC_NAMES.deliveries, { outcome: 'skipped' }), 1, 'counted once, though the message came twice');
  });

  it('a 410 Gone disables at once, as the service: later events are SKIPPED', async () => {
    const t = setup();
    const hook = makeWebhook();
    await t.webhooks.insert(hook);
    t.sender.answer(hook.id, { kind: 'response', status: 410, body: 'gone' });
    await t.publish(1);
    assert.deepEqual((await t.webhooks.get(hook.id))?.value.serviceDisabled?.reason, 'gone');
    await t.publish(2);
    assert.deepEqual([...t.deliveries.rows.values()].map((record) => record.status).sort(), ['FAILED', 'SKIPPED']);
    assert.equal(t.sender.sent.length, 1);
    // A user's edit that sets no status leaves the service's mark (events still SKIPPED); one that sets a status clears it.
    const management = webhookDeps({ store: t.webhooks, audit: t.audit, clock: t.clock.read });
    await updateWebhook(management.deps, manager, { id: hook.id, description: 'renamed' });
    assert.equal((await t.webhooks.get(hook.id))?.value.serviceDisabled?.reason, 'gone');
    await t.publish(3);
    assert.equal([...t.deliveries.rows.values()].filter((record) => record.status === 'SKIPPED').length, 2);
    await updateWebhook(management.deps, manager, { id: hook.id, status: 'DISABLED' });
    assert.equal((await t.webhooks.get(hook.id))?.value.serviceDisabled, undefined);
    await t.publish(4);
    assert.equal(t.deliveries.rows.size, 3, 'a user-disabled webhook records nothing');
  });

  it('a 410 answered to every event of one message disables once: one audit entry, one warning', async () => {
    const t = setup();
    const hook = makeWebhook();
    await t.webhooks.insert(hook);
    t.sender.answer(hook.id, { kind: 'response', status: 410, body: 'gone' });
    await processEventMessage(t.deps, { events: [1, 2, 3, 4, 5].map(created) }, meta(t.clock.now));
    assert.equal(t.sender.sent.length, 5);
    assert.equal((await t.webhooks.get(hook.id))?.value.serviceDisabled?.reason, 'gone');
    assert.equal(t.audit.entries.filter((entry) => entry.action === 'disable').length, 1);
    assert.equal(t.warnings.filter((warning) => warning.includes(`webhook ${hook.id} disabled`)).length, 1);
  });

  it('once a manager sets it ACTIVE, redeliver since a time sends every FAILED and SKIPPED delivery once, and refuses while it is not ACTIVE', async () => {
    const t = setup(2_000);
    const hook = makeWebhook({ lastUpdatedTimestamp: t.clock.now });
    await t.webhooks.insert(hook);
    const since = t.clock.now;
    t.sender.answer(hook.id, failing);
    for (const version of [1, 2, 3, 4]) await t.publish(version);
    await t.drainRetries();
    assert.equal((await t.webhooks.get(hook.id))?.value.status, 'DISABLED');
    for (const version of [5, 6]) await t.publish(version);
    const sentBefore = t.sender.sent.length;
    await assert.rejects(redeliver(t.deps, admin, { webhook_id: hook.id, since_timestamp: since }), (error: unknown) => error instanceof ApiError && /set it ACTIVE/.test(error.message));
    const management = webhookDeps({ store: t.webhooks, audit: t.audit, clock: t.clock.read });
    await updateWebhook(management.deps, manager, { id: hook.id, status: 'ACTIVE' });
    assert.equal((await t.webhooks.get(hook.id))?.value.serviceDisabled, undefined, "a user's status change clears the service's mark");
    t.sender.answer(hook.id, ok);
    const { delivery_ids: ids } = await redeliver(t.deps, manager, { webhook_id: hook.id, since_timestamp: since });
    assert.equal(ids.length, 6);
    await t.drainRetries();
    const resent = t.sender.sent.slice(sentBefore).map((sent) => sent.messageId).sort();
    assert.deepEqual(resent, [...ids].sort(), 'each FAILED and SKIPPED delivery sent once');
    assert.ok([...t.deliveries.rows.values()].every((record) => record.status === 'SUCCEEDED'));
  });

  it('two redelivers since a time racing: a delivery the first one already brought to SUCCEEDED is not sent again by the second', async () => {
    const t = setup();
    const hook = makeWebhook({ lastUpdatedTimestamp: t.clock.now });
    await t.webhooks.insert(hook);
    const since = t.clock.now;
    t.sender.answer(hook.id, failing);
    for (const version of [1, 2, 3]) await t.publish(version);
    await t.drainRetries();
    assert.ok([...t.deliveries.rows.values()].every((record) => record.status === 'FAILED'));
    t.sender.answer(hook.id, ok);
    const sentBefore = t.sender.sent.length;
    // The second call lists the FAILED deliveries, then the first call redelivers them and the worker sends
    // them, and only then does the second call mark what it listed.
    let first: string[] = [];
    const racing = Object.assign(Object.create(t.deliveries) as typeof t.deliveries, {
      list: async (query: Parameters<typeof t.deliveries.list>[0]) => {
        const listed = await t.deliveries.list(query);
        if (query.status === 'SKIPPED' && first.length === 0) {
          first = (await redeliver(t.deps, manager, { webhook_id: hook.id, since_timestamp: since })).delivery_ids;
          await t.drainRetries();
        }
        return listed;
      },
    });
    const second = await redeliver({ ...t.deps, deliveries: racing }, manager, { webhook_id: hook.id, since_timestamp: since });
    await t.drainRetries();
    assert.equal(first.length, 3);
    assert.deepEqual(second.delivery_ids, [], 'nothing left FAILED to redeliver');
    const resent = t.sender.sent.slice(sentBefore).map((sent) => sent.messageId).sort();
    assert.deepEqual(resent, [...first].sort(), 'each delivery sent once');
  });

  it('refuses bad redeliver parameters naming the field', async () => {
    const t = setup();
    const hook = makeWebhook();
    await t.webhooks.insert(hook);
    const refusal = async (body: unknown) => {
      try {
        await redeliver(t.deps, admin, body);
      } catch (error) {
        assert.ok(error instanceof ApiError);
        return error.message;
      }
      return 'accepted';
    };
    assert.match(await refusal({ webhook_id: hook.id, since_timestamp: -1 }), /'since_timestamp'.*not epoch milliseconds/);
    assert.match(await refusal({ webhook_id: hook.id, since_timestamp: 1.5 }), /'since_timestamp'/);
    assert.match(await refusal({ webhook_id: hook.id, since_timestamp: 'yesterday' }), /'since_timestamp'/);
    assert.match(await refusal({ webhook_id: hook.id, since_timestamp: t.clock.now + 3_600_000 }), /'since_timestamp'.*in the future/);
    assert.match(await refusal({ webhook_id: hook.id }), /Missing required parameter 'since_timestamp'/);
    assert.match(await refusal({ since_timestamp: 0 }), /Missing required parameter 'webhook_id'/);
    assert.match(await refusal({ delivery_id: 'x', webhook_id: hook.id, since_timestamp: 0 }), /'webhook_id'.*either 'delivery_id' alone/);
    assert.match(await refusal({ delivery_id: 'x', since_timestamp: 0 }), /'since_timestamp'.*either 'delivery_id' alone/);
    assert.deepEqual(await redeliver(t.deps, admin, { webhook_id: hook.id, since_timestamp: String(t.clock.now) }), { delivery_ids: [] });
  });
  it(`redeliver since a time takes the newest ${MAX_REDELIVER} of FAILED and SKIPPED together, exactly at the cap and past it, and the next call the rest`, async () => {
    for (const [failed, skipped] of [[MAX_REDELIVER / 2, MAX_REDELIVER / 2], [MAX_REDELIVER / 2 + 100, MAX_REDELIVER / 2 + 100]] as const) {
      const t = setup();
      const hook = makeWebhook();
      await t.webhooks.insert(hook);
      const since = t.clock.now - 10_000_000;
      // FAILED and SKIPPED interleaved in time, newest SKIPPED first; one older than `since`, left out.
      const records = Array.from({ length: failed + skipped + 1 }, (_, n): Delivery => {
        const eventTimestamp = n === failed + skipped ? since - 1 : t.clock.now - 1000 - n * 7;
        return n % 2 === 0 ? recordOf(hook.id, n, eventTimestamp, 'SKIPPED', 0) : recordOf(hook.id, n, eventTimestamp, 'FAILED', 8);
      });
      await t.deliveries.create(records);
      const newestFirst = records.slice(0, failed + skipped).map((record) => record.id);
      const first = await redeliver(t.deps, admin, { webhook_id: hook.id, since_timestamp: since });
      assert.deepEqual(first.delivery_ids, newestFirst.slice(0, MAX_REDELIVER), `${failed}+${skipped}: the newest ${MAX_REDELIVER}, both statuses`);
      const second = await redeliver(t.deps, admin, { webhook_id: hook.id, since_timestamp: since });
      assert.deepEqual(second.delivery_ids, newestFirst.slice(MAX_REDELIVER), `${failed}+${skipped}: the next call, the rest`);
      assert.equal((await t.deliveries.get(records[failed + skipped]?.id ?? ''))?.value.status, 'SKIPPED', 'one before since_timestamp stays');
    }
  });

  it('redeliver leaves alone a delivery past DELIVERY_RETENTION, which retention may be deleting: by id a 400, since a time skipped', async () => {
    const t = setup();
    const retained = { ...t.deps, deliveryRetentionMs: 30 * 86_400_000 };
    const hook = makeWebhook();
    await t.webhooks.insert(hook);
    const record = (n: number, eventTimestamp: number, status: Delivery['status']): Delivery => recordOf(hook.id, n, eventTimestamp, status, 1);
    const expired = [record(1, t.clock.now - 31 * 86_400_000, 'SUCCEEDED'), record(2, t.clock.now - 31 * 86_400_000 + 1, 'FAILED')];
    const kept = record(3, t.clock.now - 29 * 86_400_000, 'FAILED');
    await t.deliveries.create([...expired, kept]);
    await assert.rejects(redeliver(retained, admin, { delivery_id: expired[0]?.id }), /'delivery_id'.*past DELIVERY_RETENTION/);
    assert.equal((await t.deliveries.get(expired[0]?.id ?? ''))?.value.status, 'SUCCEEDED', 'unchanged');
    const since = await redeliver(retained, admin, { webhook_id: hook.id, since_timestamp: t.clock.now - 40 * 86_400_000 });
    assert.deepEqual(since.delivery_ids, [kept.id]);
    assert.equal((await t.deliveries.get(expired[1]?.id ?? ''))?.value.status, 'FAILED', 'the expired FAILED one is left to retention');
  });

  it('redeliver past the cap answers next_until_timestamp, which reaches the older ones even when the newest failed again meanwhile', async () => {
    const t = setup();
    const hook = makeWebhook();
    await t.webhooks.insert(hook);
    const since = t.clock.now - 10_000_000;
    const records = Array.from({ length: MAX_REDELIVER + 50 }, (_, n) => recordOf(hook.id, n, t.clock.now - 1000 - n * 7, 'FAILED', 8));
    await t.deliveries.create(records);
    const first = await redeliver(t.deps, admin, { webhook_id: hook.id, since_timestamp: since });
    assert.equal(first.delivery_ids.length, MAX_REDELIVER);
    assert.equal(first.next_until_timestamp, records[MAX_REDELIVER - 1]?.eventTimestamp);
    // The endpoint is still down: every one of them fails again before the caller goes on.
    for (const id of first.delivery_ids) {
      const found = await t.deliveries.get(id);
      assert.ok(found);
      await t.deliveries.replace([{ value: { ...found.value, status: 'FAILED' }, etag: found.etag }]);
    }
    const next = await redeliver(t.deps, admin, { webhook_id: hook.id, since_timestamp: since, until_timestamp: first.next_until_timestamp });
    assert.deepEqual(next.delivery_ids, [records[MAX_REDELIVER - 1]?.id, ...records.slice(MAX_REDELIVER).map((record) => record.id)], 'the oldest taken (failed again, same time) and the 50 older ones');
    assert.equal(next.next_until_timestamp, undefined);
    await assert.rejects(redeliver(t.deps, admin, { webhook_id: hook.id, since_timestamp: since, until_timestamp: since - 1 }), /'until_timestamp'/);
    await assert.rejects(redeliver(t.deps, admin, { delivery_id: first.delivery_ids[0], until_timestamp: since }), /'until_timestamp'.*either 'delivery_id' alone/);
  });
});
