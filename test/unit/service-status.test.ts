import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serviceStatus, type ServiceStatusDeps } from '../../src/pipeline/service-status.js';
import { ApiError } from '../../src/shared/errors.js';
import { admin, manager } from '../support/deps.js';

const NOW = 1_800_000_000_000;
const deps: ServiceStatusDeps = {
  unreadableIds: () => Promise.resolve(['a'.repeat(32)]),
  poisonQueues: [{ name: 'registry-events-poison', length: () => Promise.resolve(2) }],
  eventQueues: [
    { name: 'registry-events', length: () => Promise.resolve(3), oldestWaitingSince: () => Promise.resolve(NOW - 45_000) },
    { name: 'azureml-events', length: () => Promise.resolve(0), oldestWaitingSince: () => Promise.resolve(undefined) },
  ],
  sources: [{ name: 'mlflow', configured: false }],
  clock: () => NOW,
};

describe('service status', () => {
  it('answers unreadable webhooks, poison depths, the oldest waiting event and its lag, and the sources, to an admin', async () => {
    assert.deepEqual(await serviceStatus(deps, admin, {}), {
      unreadable_webhook_ids: ['a'.repeat(32)],
      poison_queues: [{ name: 'registry-events-poison', depth: 2 }],
      event_queues: [
        { name: 'registry-events', depth: 3, oldest_waiting_timestamp: NOW - 45_000, oldest_waiting_lag_ms: 45_000 },
        { name: 'azureml-events', depth: 0 },
      ],
      sources: [{ name: 'mlflow', configured: false }],
    });
  });

  it('refuses a manager, and a parameter it does not know', async () => {
    await assert.rejects(serviceStatus(deps, manager, {}), (error: unknown) => error instanceof ApiError && error.code === 'PERMISSION_DENIED');
    await assert.rejects(serviceStatus(deps, admin, { verbose: '1' }), (error: unknown) => error instanceof ApiError && /^Unknown parameter 'verbose'/.test(error.message));
  });
});
