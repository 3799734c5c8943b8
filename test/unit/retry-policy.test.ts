import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyAttempt } from '../../src/outbound/classify-outcome.js';
import { delayBeforeAttempt } from '../../src/pipeline/retry-policy.js';
import { parseRetryAfter } from '../../src/outbound/classify-outcome.js';
import { parseRetrySchedule, DEFAULT_RETRY_SCHEDULE } from '../../src/config/config.js';

const schedule = parseRetrySchedule(DEFAULT_RETRY_SCHEDULE);

describe('retry schedule', () => {
  it('is 8 attempts over about 27.5 hours', () => {
    assert.equal(schedule.length, 8);
    const total = schedule.reduce((sum, ms) => sum + ms, 0);
    assert.ok(Math.abs(total / 3_600_000 - 27.5) < 0.2, `${total / 3_600_000} h`);
  });

  it('never jitters the first attempt and jitters later ones by at most 20%', () => {
    assert.equal(delayBeforeAttempt(schedule, 0, undefined, () => 1), 0);
    assert.equal(delayBeforeAttempt(schedule, 1, undefined, () => 0), 4000);
    assert.equal(delayBeforeAttempt(schedule, 1, undefined, () => 1), 6000);
    assert.equal(delayBeforeAttempt(schedule, 1, undefined, () => 0.5), 5000);
    assert.equal(delayBeforeAttempt(schedule, 8, undefined, () => 0.5), undefined, 'exhausted');
  });

  it('honours Retry-After within the schedule: not sooner, not past the longest delay', () => {
    assert.equal(delayBeforeAttempt(schedule, 1, 60_000, () => 0.5), 60_000);
    assert.equal(delayBeforeAttempt(schedule, 1, 1000, () => 0.5), 5000);
    assert.equal(delayBeforeAttempt(schedule, 1, 365 * 24 * 3_600_000, () => 0.5), 36_000_000);
  });

  it('reads Retry-After as seconds or as a date', () => {
    assert.equal(parseRetryAfter('120', 0), 120_000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(undefined, 0), undefined);
  });
});

describe('outcome of an attempt', () => {
  const response = (status: number) => classifyAttempt({ kind: 'response', status, body: 'b' });
  it('succeeds on 2xx', () => {
    for (const status of [200, 201, 204, 299]) assert.equal(response(status).kind, 'success');
  });
  it('retries network errors, timeouts, 408, 429, 5xx and 3xx', () => {
    for (const status of [300, 301, 302, 307, 308, 408, 429, 500, 502, 503, 504]) assert.equal(response(status).kind, 'retry', String(status));
    assert.equal(classifyAttempt({ kind: 'error', error: 'timed out', retryable: true, network: 'timeout' }).kind, 'retry');
  });
  it('gives up at once on other 4xx, disabling the webhook on 410', () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422]) assert.deepEqual(response(status), { kind: 'permanent', reason: `HTTP ${status}: b`, disableWebhook: false });
    assert.deepEqual(response(410), { kind: 'permanent', reason: 'HTTP 410: b', disableWebhook: true });
    assert.equal(classifyAttempt({ kind: 'error', error: 'blocked', retryable: false }).kind, 'permanent');
  });
  it('passes Retry-After on', () => {
    assert.deepEqual(classifyAttempt({ kind: 'response', status: 429, body: '', retryAfterMs: 3000 }), { kind: 'retry', reason: 'HTTP 429', retryAfterMs: 3000 });
  });
});
