import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { runManyInstances } from '../support/many-instances.js';
import { startRuntime, testEnv } from '../support/runtime-process.js';

describe('many runtime processes on one storage account', async () => {
  const azurite = await testAzurite();

  it('delivers 3,000 deliveries of mixed fan-out through three processes, one killed mid-run and another started: none lost, copies only of attempts in flight at the kill, every process worked', async (t) => {
    const result = await runManyInstances({
      azurite: azurite.endpoints,
      deliveries: 3000,
      env: (connectionString) => testEnv(connectionString),
      spawn: (env) => startRuntime(env, { queueLease: '4s' }),
      timeoutMs: 150_000,
    });
    t.diagnostic(result.text);
    assert.equal(result.expected, 3000);
    assert.equal(result.lost, 0, result.text);
    assert.deepEqual(result.splitDeliveries, [], 'a delivery received under two webhook-ids was sent as two deliveries');
    assert.deepEqual(result.repeatedEventsSplit, [], 'an event_id published through two processes was delivered twice');
    assert.deepEqual(result.duplicatedNotAtKill, [], 'an attempt was sent twice that the killed process did not hold');
    // Publishing fans out itself, so a process works through its publish calls, and through the queue for what
    // others left (the killed process's held messages, retries, continuations).
    for (const work of result.work) assert.ok(work.publishCalls + work.queueExecutions > 0, `${work.name} did no work: ${result.text}`);
    assert.ok(result.work.some((work) => work.queueExecutions > 0), `no queue function ran: ${result.text}`);
  });
});
