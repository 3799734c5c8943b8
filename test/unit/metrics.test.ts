import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { processDeliveryMessage } from '../../src/pipeline/deliverer.js';
import { processEventMessage, type QueueMessageMeta } from '../../src/pipeline/fan-out.js';
import { LAG_SAMPLE_ATTRIBUTE, METRIC_NAMES } from '../../src/telemetry/metrics.js';
import { parseAuthenticationString } from '../../src/telemetry/azure-monitor.js';
import { recordedMetrics } from '../support/metrics.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

const meta = (overrides: Partial<QueueMessageMeta> = {}): QueueMessageMeta => ({ id: 'msg-1', dequeueCount: 1, insertedAt: 0, text: '{}', ...overrides });
const created = (overrides: Record<string, unknown> = {}) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'M', version: '1', ...overrides });

describe('metrics (OpenTelemetry, read through the SDK in-memory exporter)', () => {
  it('counts attempts by outcome, target kind and event, times them, and reports each first success lag', async () => {
    const recorded = recordedMetrics();
    const { deps, webhooks, sender, clock, deliveryQueue } = pipelineDeps();
    deps.metrics = recorded.metrics;
    const ok = makeWebhook();
    const flaky = makeWebhook();
    const gone = makeWebhook();
    for (const webhook of [ok, flaky, gone]) await webhooks.insert(webhook);
    sender.answer(flaky.id, { kind: 'response', status: 503, body: '' }, { kind: 'response', status: 200, body: '' });
    sender.answer(gone.id, { kind: 'response', status: 404, body: '' });
    clock.advance(1500);
    await processEventMessage(deps, created(), meta({ insertedAt: clock.read() - 1500 }));
    assert.equal(await recorded.sum(METRIC_NAMES.deliveries, { outcome: 'succeeded', target_kind: 'http', event: 'MODEL_VERSION_CREATED' }), 1);
    assert.equal(await recorded.sum(METRIC_NAMES.deliveries, { outcome: 'retrying' }), 1);
    assert.equal(await recorded.sum(METRIC_NAMES.deliveries, { outcome: 'failed' }), 1);
    assert.equal(await recorded.sum(METRIC_NAMES.attemptDuration), 3, 'one duration per attempt');
    assert.deepEqual(
      (await recorded.read(METRIC_NAMES.deliveryFailures)).map((point) => point.attributes.webhook_id).sort(),
      [flaky.id, gone.id].sort(),
      'failures are counted per webhook, successes are not',
    );
    assert.equal(await recorded.sum(METRIC_NAMES.eventsPublished, { source: 'queue' }), 1);

    const [retry] = deliveryQueue.messages;
    assert.ok(retry);
    clock.advance(2000);
    await processDeliveryMessage(deps, retry.body as never, 1);
    assert.equal(await recorded.sum(METRIC_NAMES.deliveries, { outcome: 'succeeded' }), 2);
    const lags = recorded.logs.getFinishedLogRecords().filter((record) => record.body === METRIC_NAMES.eventLag);
    assert.deepEqual(
      lags.map((record) => record.attributes[LAG_SAMPLE_ATTRIBUTE]),
      [1500, 2000],
      'a sample per first success: from queue insertion for the inline attempt, from the record for the retry',
    );
    assert.equal(await recorded.sum(METRIC_NAMES.eventLag), 2);
  });

  it('counts events ignored (no webhook, duplicate) and messages poisoned', async () => {
    const recorded = recordedMetrics();
    const { deps, webhooks } = pipelineDeps();
    deps.metrics = recorded.metrics;
    await webhooks.insert(makeWebhook());
    await processEventMessage(deps, { events: [created({ model_name: 'nobody' })], published_by: 'token:p' }, meta({ id: 'a' }));
    await processEventMessage(deps, created({ event_id: 'e-1' }), meta({ id: 'b' }));
    await processEventMessage(deps, created({ event_id: 'e-1' }), meta({ id: 'c' }));
    await processEventMessage(deps, 'not json', meta({ id: 'd' }));
    assert.equal(await recorded.sum(METRIC_NAMES.eventsIgnored, { source: 'api', reason: 'no_matching_webhook' }), 1);
    assert.equal(await recorded.sum(METRIC_NAMES.eventsIgnored, { source: 'queue', reason: 'duplicate' }), 1);
    assert.equal(await recorded.sum(METRIC_NAMES.messagesPoisoned, { queue: 'registry-events' }), 1);
  });

  it('reports poison queue lengths as a gauge, and auto-disabled and unreadable webhooks as counters', async () => {
    const recorded = recordedMetrics();
    recorded.metrics.poisonQueueLength('registry-events-poison', 3);
    recorded.metrics.poisonQueueLength('webhook-deliveries-poison', 0);
    recorded.metrics.poisonQueueLength('registry-events-poison', 2);
    recorded.metrics.webhookAutoDisabled();
    recorded.metrics.webhookUnreadable(2);
    assert.deepEqual(await recorded.read(METRIC_NAMES.poisonQueueLength), [
      { value: 2, attributes: { queue: 'registry-events-poison' } },
      { value: 0, attributes: { queue: 'webhook-deliveries-poison' } },
    ]);
    assert.equal(await recorded.sum(METRIC_NAMES.autoDisabled), 1);
    assert.equal(await recorded.sum(METRIC_NAMES.unreadable), 2);
  });

  it('sends telemetry with the managed identity the host is told about', () => {
    assert.deepEqual(parseAuthenticationString('ClientId=abc;Authorization=AAD'), { aad: true, clientId: 'abc' });
    assert.deepEqual(parseAuthenticationString(undefined), { aad: false });
  });

  it('host.json samples neither requests, exceptions, traces (error logs) nor events', () => {
    const host = JSON.parse(readFileSync('host.json', 'utf8')) as { logging: { applicationInsights: { samplingSettings: { isEnabled: boolean; excludedTypes?: string } } } };
    const sampling = host.logging.applicationInsights.samplingSettings;
    const excluded = new Set((sampling.excludedTypes ?? '').split(';'));
    assert.ok(!sampling.isEnabled || ['Request', 'Exception', 'Trace', 'Event'].every((type) => excluded.has(type)), JSON.stringify(sampling));
  });
});
