import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deliveryIdOf, type AttemptRecord, type Delivery } from '../../src/pipeline/delivery.js';
import { autoDisableDue, deriveHealth, toApiHealth } from '../../src/pipeline/endpoint-health.js';
import { getEndpointHealth } from '../../src/pipeline/health-api.js';
import { ApiError } from '../../src/shared/errors.js';
import { admin, manager, publisher } from '../support/deps.js';
import { makeWebhook, pipelineDeps } from '../support/pipeline.js';

const NOW = 1_800_000_000_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const webhook = makeWebhook({ lastUpdatedTimestamp: NOW - 30 * DAY });

let events = 0;
/** A record whose attempts were made at the given times; an attempt fails unless marked ok. */
function delivery(attempts: { at: number; ok?: boolean }[], overrides: Partial<Delivery> = {}): Delivery {
  events += 1;
  const eventTimestamp = attempts[0]?.at ?? NOW;
  const history: AttemptRecord[] = attempts.map(({ at, ok }, index) => ({ attempt: index + 1, timestamp: at, durationMs: 5, statusCode: ok ? 200 : 500, ...(ok ? {} : { error: 'HTTP 500' }) }));
  const last = history.at(-1);
  return {
    id: deliveryIdOf(webhook.id, eventTimestamp, 'M', `e${events}`),
    webhookId: webhook.id,
    event: 'MODEL_VERSION_CREATED',
    eventId: `e${events}`,
    eventTimestamp,
    status: attempts.length === 0 ? 'PENDING' : attempts.at(-1)?.ok ? 'SUCCEEDED' : 'FAILED',
    attempts: attempts.length,
    createdTimestamp: eventTimestamp,
    ...(last ? { lastAttemptTimestamp: last.timestamp } : {}),
    payload: '{}',
    ...(history.length > 0 ? { history } : {}),
    ...overrides,
  };
}

describe('endpoint health, derived from the delivery records', () => {
  it('a webhook without deliveries has no attempts and no timestamps', () => {
    assert.deepEqual(toApiHealth(deriveHealth(webhook, [], NOW)), { webhook_id: webhook.id, status: 'NO_ATTEMPTS', consecutive_failures: 0, deliveries_24h: 0 });
  });

  it('reads attempts across records by their time, not the order of the records', () => {
    // An old event retried late: its failed attempts come after the newer event's success.
    const newer = delivery([{ at: NOW - 50 * MINUTE, ok: true }]);
    const older = delivery([{ at: NOW - 2 * HOUR }, { at: NOW - 40 * MINUTE }, { at: NOW - 30 * MINUTE }]);
    const health = deriveHealth(webhook, [newer, older], NOW);
    assert.deepEqual(toApiHealth(health), {
      webhook_id: webhook.id,
      status: 'FAILING',
      last_success_timestamp: NOW - 50 * MINUTE,
      last_failure_timestamp: NOW - 30 * MINUTE,
      failing_since_timestamp: NOW - 40 * MINUTE,
      consecutive_failures: 2,
      deliveries_24h: 2,
      success_rate_24h: 0.5,
    });
  });

  it('a success after failures makes it healthy, with the failures still dated', () => {
    const recovered = delivery([{ at: NOW - 3 * MINUTE }, { at: NOW - 2 * MINUTE }, { at: NOW - MINUTE, ok: true }]);
    const health = toApiHealth(deriveHealth(webhook, [recovered], NOW));
    assert.equal(health.status, 'HEALTHY');
    assert.equal(health.consecutive_failures, 0);
    assert.equal(health.failing_since_timestamp, undefined);
    assert.equal(health.last_failure_timestamp, NOW - 2 * MINUTE);
    assert.equal(health.success_rate_24h, 1);
  });

  it('counts the last 24 hours by record, SKIPPED ones among the deliveries but not in the success rate', () => {
    const old = delivery([{ at: NOW - 2 * DAY, ok: true }]);
    const recent = delivery([{ at: NOW - HOUR, ok: true }]);
    const failed = delivery([{ at: NOW - 2 * HOUR }]);
    const skipped = delivery([], { status: 'SKIPPED', eventTimestamp: NOW - MINUTE, createdTimestamp: NOW - MINUTE });
    const health = deriveHealth(webhook, [skipped, recent, failed, old], NOW);
    assert.equal(health.deliveries24h, 3);
    assert.equal(health.successRate24h, 0.5);
    assert.equal(health.lastSuccessTimestamp, NOW - HOUR);
  });

  it('a record without a history tells of its last attempt', () => {
    const legacy = delivery([], { status: 'FAILED', attempts: 8, lastAttemptTimestamp: NOW - MINUTE });
    const health = deriveHealth(webhook, [legacy], NOW);
    assert.deepEqual([health.consecutiveFailures, health.failingSinceTimestamp, health.lastFailureTimestamp], [1, NOW - MINUTE, NOW - MINUTE]);
  });

  it('a webhook the service disabled says so, with when and why', () => {
    const disabled = { ...webhook, status: 'DISABLED' as const, serviceDisabled: { timestamp: NOW - HOUR, reason: 'auto_disable' as const } };
    const health = toApiHealth(deriveHealth(disabled, [delivery([{ at: NOW - 2 * HOUR }])], NOW));
    assert.equal(health.status, 'SERVICE_DISABLED');
    assert.equal(health.auto_disabled_timestamp, NOW - HOUR);
    assert.equal(health.auto_disabled_reason, 'auto_disable');
    const gone = toApiHealth(deriveHealth({ ...disabled, serviceDisabled: { timestamp: NOW, reason: 'gone' } }, [], NOW));
    assert.equal(gone.auto_disabled_reason, 'gone');
    const byUser = toApiHealth(deriveHealth({ ...webhook, status: 'DISABLED' }, [], NOW));
    assert.equal(byUser.auto_disabled_timestamp, undefined);
    assert.equal(byUser.auto_disabled_reason, undefined);
  });
});

describe('failing_since of a run longer than the records read', () => {
  it('is the start kept on the row; a success among the records read wins over a row that missed it', () => {
    const records = Array.from({ length: 5 }, (_, index) => delivery([{ at: NOW - (index + 1) * MINUTE }]));
    assert.equal(deriveHealth({ ...webhook, failingSince: NOW - 10 * DAY }, records, NOW).failingSinceTimestamp, NOW - 10 * DAY);
    const afterSuccess = [...records, delivery([{ at: NOW - HOUR, ok: true }])];
    assert.equal(deriveHealth({ ...webhook, failingSince: NOW - 10 * DAY }, afterSuccess, NOW).failingSinceTimestamp, NOW - 5 * MINUTE);
    assert.equal(deriveHealth(webhook, records, NOW).failingSinceTimestamp, NOW - 5 * MINUTE, 'no start kept: the oldest failure read');
  });
});

describe('auto-disable decision', () => {
  const AFTER = 5 * DAY;
  /** Ten records with one failed attempt each, the first `since` ago and the last a minute ago. */
  const failingFor = (since: number, count = 10): Delivery[] =>
    Array.from({ length: count }, (_, index) => delivery([{ at: NOW - since + ((since - MINUTE) * index) / (count - 1) }]));
  /** The webhook with its run of failures kept on its row as starting `since` ago. */
  const runningFor = (since: number) => ({ ...webhook, failingSince: NOW - since });

  it('disables after failing for the whole period with at least ten failed attempts', () => {
    assert.equal(autoDisableDue(runningFor(AFTER + HOUR), failingFor(AFTER + HOUR), NOW, AFTER), true);
  });

  it('reads the start of the run from the row, however many records the run holds beyond those read', () => {
    assert.equal(autoDisableDue(runningFor(AFTER + HOUR), failingFor(HOUR, 1000), NOW, AFTER), true);
    assert.equal(autoDisableDue(webhook, failingFor(AFTER + HOUR), NOW, AFTER), false, 'no run start kept on the row');
  });

  it('not before the period is over, nor with fewer than ten failed attempts, nor after any success', () => {
    assert.equal(autoDisableDue(runningFor(AFTER - HOUR), failingFor(AFTER - HOUR), NOW, AFTER), false, 'too recent');
    assert.equal(autoDisableDue(runningFor(AFTER + HOUR), failingFor(AFTER + HOUR, 9), NOW, AFTER), false, 'nine failures');
    assert.equal(autoDisableDue(runningFor(AFTER + HOUR), [delivery([{ at: NOW - AFTER - 2 * HOUR, ok: true }]), ...failingFor(AFTER + HOUR)], NOW, AFTER), true, 'a success before the run does not matter');
    assert.equal(autoDisableDue(runningFor(AFTER + HOUR), [delivery([{ at: NOW - 30 * 1000, ok: true }]), ...failingFor(AFTER + HOUR)], NOW, AFTER), false, 'a success in the run ends it, though the row missed it');
  });

  it('counts from the last update (a re-enable), only for ACTIVE webhooks, and never with 0', () => {
    const records = failingFor(AFTER + HOUR);
    const running = runningFor(AFTER + HOUR);
    assert.equal(autoDisableDue({ ...running, lastUpdatedTimestamp: NOW - DAY }, records, NOW, AFTER), false);
    assert.equal(autoDisableDue({ ...running, status: 'TEST_MODE' }, records, NOW, AFTER), false);
    assert.equal(autoDisableDue(running, records, NOW, 0), false);
  });
});

describe('GET webhooks/health', () => {
  it('answers the health of a webhook to an admin or its manager; 400 for a bad id, 404 for an unknown one, 403 for others', async () => {
    const { deps, webhooks, deliveries, clock } = pipelineDeps();
    const hook = makeWebhook({ modelName: 'M' });
    await webhooks.insert(hook);
    clock.now = NOW;
    await deliveries.create([{ ...delivery([{ at: NOW - MINUTE, ok: true }]), id: deliveryIdOf(hook.id, NOW - MINUTE, 'M', 'x'), webhookId: hook.id }]);
    const expected = { webhook_id: hook.id, status: 'HEALTHY', last_success_timestamp: NOW - MINUTE, consecutive_failures: 0, deliveries_24h: 1, success_rate_24h: 1 };
    assert.deepEqual(await getEndpointHealth(deps, admin, { id: hook.id }), { health: expected });
    assert.deepEqual(await getEndpointHealth(deps, manager, { id: hook.id }), { health: expected });
    const refusal = async (principal: typeof admin, input: unknown) => {
      try {
        await getEndpointHealth(deps, principal, input);
      } catch (error) {
        assert.ok(error instanceof ApiError);
        return `${error.code}: ${error.message}`;
      }
      return 'answered';
    };
    assert.match(await refusal(admin, {}), /^INVALID_PARAMETER_VALUE: .*'id'/);
    assert.match(await refusal(admin, { id: 'nope' }), /^INVALID_PARAMETER_VALUE: .*'id'/);
    assert.match(await refusal(admin, { id: hook.id, extra: '1' }), /^INVALID_PARAMETER_VALUE: .*'extra'/);
    assert.match(await refusal(admin, { id: 'f'.repeat(32) }), /^RESOURCE_DOES_NOT_EXIST/);
    assert.match(await refusal(publisher, { id: hook.id }), /^PERMISSION_DENIED/);
  });
});
