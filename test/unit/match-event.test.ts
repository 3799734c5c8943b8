import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchEvent } from '../../src/webhooks/match-event.js';
import type { RegistryEvent } from '../../src/webhooks/registry-event.js';
import type { Webhook } from '../../src/webhooks/webhook.js';
import type { EventName } from '../../src/webhooks/events.js';

let next = 0;
const hook = (events: EventName[], modelName?: string, status: Webhook['status'] = 'ACTIVE'): Webhook => ({
  id: String(next++).padStart(32, '0'),
  ...(modelName !== undefined ? { modelName } : {}),
  events,
  status,
  target: { kind: 'http', url: 'https://x.example', enableSslVerification: true },
  creationTimestamp: 0,
  lastUpdatedTimestamp: 0,
});
const event = (overrides: Partial<RegistryEvent> = {}): RegistryEvent => ({
  eventId: 'e1',
  idSupplied: true,
  event: 'MODEL_VERSION_TRANSITIONED_STAGE',
  modelName: 'M',
  version: '8',
  toStage: 'Production',
  fromStage: 'None',
  eventTimestamp: 1,
  publishedBy: 'p',
  ...overrides,
});
const names = (matches: ReturnType<typeof matchEvent>) => matches.map((match) => [match.webhook.id, match.eventName]);

describe('matching', () => {
  it('reaches the model webhooks and the registry-wide ones, not other models', () => {
    const mine = hook(['MODEL_VERSION_CREATED'], 'M');
    const wide = hook(['MODEL_VERSION_CREATED']);
    const other = hook(['MODEL_VERSION_CREATED'], 'N');
    const matches = matchEvent(event({ event: 'MODEL_VERSION_CREATED' }), [mine, wide, other]);
    assert.deepEqual(names(matches), [[mine.id, 'MODEL_VERSION_CREATED'], [wide.id, 'MODEL_VERSION_CREATED']]);
  });

  it('skips TEST_MODE and DISABLED webhooks and those not subscribed', () => {
    const matches = matchEvent(event({ event: 'COMMENT_CREATED' }), [
      hook(['COMMENT_CREATED'], 'M', 'TEST_MODE'),
      hook(['COMMENT_CREATED'], 'M', 'DISABLED'),
      hook(['MODEL_VERSION_CREATED'], 'M'),
    ]);
    assert.deepEqual(matches, []);
  });

  it('expands stage events: generic subscribers get the generic name, specific ones the specific name, each once', () => {
    const generic = hook(['MODEL_VERSION_TRANSITIONED_STAGE'], 'M');
    const specific = hook(['MODEL_VERSION_TRANSITIONED_TO_PRODUCTION'], 'M');
    const both = hook(['MODEL_VERSION_TRANSITIONED_TO_PRODUCTION', 'MODEL_VERSION_TRANSITIONED_STAGE'], 'M');
    const staging = hook(['MODEL_VERSION_TRANSITIONED_TO_STAGING'], 'M');
    const matches = matchEvent(event(), [generic, specific, both, staging, both]);
    assert.deepEqual(names(matches), [
      [generic.id, 'MODEL_VERSION_TRANSITIONED_STAGE'],
      [specific.id, 'MODEL_VERSION_TRANSITIONED_TO_PRODUCTION'],
      [both.id, 'MODEL_VERSION_TRANSITIONED_STAGE'],
    ]);
  });

  it('expands transition requests the same way, and None has no specific event', () => {
    const specific = hook(['TRANSITION_REQUEST_TO_ARCHIVED_CREATED'], 'M');
    const generic = hook(['TRANSITION_REQUEST_CREATED']);
    assert.deepEqual(names(matchEvent(event({ event: 'TRANSITION_REQUEST_CREATED', toStage: 'Archived' }), [specific, generic])), [
      [specific.id, 'TRANSITION_REQUEST_TO_ARCHIVED_CREATED'],
      [generic.id, 'TRANSITION_REQUEST_CREATED'],
    ]);
    assert.deepEqual(names(matchEvent(event({ event: 'TRANSITION_REQUEST_CREATED', toStage: 'None' }), [specific, generic])), [[generic.id, 'TRANSITION_REQUEST_CREATED']]);
  });

  it('matches model names exactly, special characters included', () => {
    const slash = hook(['MODEL_VERSION_CREATED'], 'a/b 😀');
    assert.equal(matchEvent(event({ event: 'MODEL_VERSION_CREATED', modelName: 'a/b 😀' }), [slash]).length, 1);
    assert.equal(matchEvent(event({ event: 'MODEL_VERSION_CREATED', modelName: 'a/b' }), [slash]).length, 0);
  });
});
