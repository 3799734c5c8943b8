import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Timer } from '@azure/functions';
import { InvocationContext } from '../../src/local/functions-lib.js';
import { loadConfig } from '../../src/config/config.js';
import { poisonQueuesHandler } from '../../src/functions/maintenance-functions.js';
import { METRIC_NAMES } from '../../src/telemetry/metrics.js';
import { buildServices } from '../../src/composition/services.js';
import { StorageMessageQueue } from '../../src/storage/message-queue.js';
import { poisonQueueOf, QUEUES } from '../../src/pipeline/queues.js';
import { testAzurite } from '../support/azurite.js';
import { recordedMetrics } from '../support/metrics.js';

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

describe('poison-queue timer on Azurite', async () => {
  const azurite = await testAzurite();

  it('peeks each poison queue and reports its length as a gauge, warning when one holds messages', async () => {
    const recorded = recordedMetrics();
    const services = buildServices(loadConfig({ AzureWebJobsStorage: azurite.connectionString, WEBHOOKS_SECRET_KEY: randomBytes(32).toString('base64') }), { metrics: recorded.metrics });
    const poison = new StorageMessageQueue(azurite.clients.queue(poisonQueueOf(QUEUES.deliveries)));
    await poison.sendText('not a delivery');
    await poison.sendText('nor this');
    const warnings: string[] = [];
    const context = new InvocationContext({ functionName: 'poison-queues', logHandler: (level, ...args) => (level === 'warning' ? warnings.push(args.join(' ')) : undefined) });
    await poisonQueuesHandler(() => Promise.resolve(services))(timer, context);
    assert.deepEqual(
      (await recorded.read(METRIC_NAMES.poisonQueueLength)).sort((a, b) => String(a.attributes.queue).localeCompare(String(b.attributes.queue))),
      [
        { value: 0, attributes: { queue: 'azureml-events-poison' } },
        { value: 0, attributes: { queue: 'registry-events-poison' } },
        { value: 2, attributes: { queue: 'webhook-deliveries-poison' } },
      ],
    );
    assert.deepEqual(warnings, ['poison queues hold messages: webhook-deliveries-poison: 2']);
  });
});
