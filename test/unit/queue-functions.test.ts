import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvocationContext } from '../../src/local/functions-lib.js';
import type { Services } from '../../src/composition/services.js';
import { webhookDeliveriesHandler } from '../../src/functions/queue-functions.js';
import type { Metrics } from '../../src/telemetry/metrics.js';
import { noopMetrics } from '../../src/telemetry/metrics.js';
import { MemoryQueue } from '../support/memory.js';
import { pipelineDeps } from '../support/pipeline.js';

/** The delivery worker's handler over memory fakes, with what it poisons and logs. */
function deliveriesWorker() {
  const { deps } = pipelineDeps();
  const poison = new MemoryQueue();
  const poisoned: string[] = [];
  const metrics: Metrics = { ...noopMetrics, messagePoisoned: (queue) => poisoned.push(queue) };
  const services = { deliverer: { ...deps, metrics }, deliveriesPoison: poison } as unknown as Services;
  const errors: string[] = [];
  const context = new InvocationContext({ functionName: 'webhook-deliveries', logHandler: (level, ...args) => (level === 'error' ? errors.push(args.join(' ')) : undefined) });
  const handle = (message: unknown) => webhookDeliveriesHandler(() => Promise.resolve(services))(message, context);
  return { handle, poison, poisoned, errors };
}

describe('webhook-deliveries poisons the way every queue does', () => {
  it('moves a message that is no delivery message to webhook-deliveries-poison at once, counted, instead of throwing it back to the host', async () => {
    const worker = deliveriesWorker();
    await worker.handle({ delivery_id: 'x', attempt: 'one', schedule_index: 0 });
    assert.deepEqual(
      worker.poison.messages.map((message) => message.text),
      ['{"delivery_id":"x","attempt":"one","schedule_index":0}'],
    );
    assert.deepEqual(worker.poisoned, ['webhook-deliveries']);
    assert.match(worker.errors.join('\n'), /delivery message moved to the poison queue: not a delivery message \(.*'attempt'/);
  });

  it('moves a message carrying a trigger metadata name the same way', async () => {
    const worker = deliveriesWorker();
    await worker.handle({ delivery_id: 'x', attempt: 1, schedule_index: 0, dequeueCount: 1 });
    assert.equal(worker.poison.messages.length, 1);
    assert.deepEqual(worker.poisoned, ['webhook-deliveries']);
    assert.match(worker.errors.join('\n'), /delivery message moved to the poison queue: .*'dequeueCount'/);
  });
});
