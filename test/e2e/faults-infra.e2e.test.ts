import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startAzurite, type RunningAzurite } from '../../src/local/azurite.js';
import { createStorageClients } from '../../src/storage/azure-clients.js';
import { ensureStorage } from '../../src/storage/provision.js';
import { QUEUES } from '../../src/pipeline/queues.js';
import { createHook, waitForDeliveries } from '../support/api-helpers.js';
import { accepting, Ledger, ledgerTable } from '../support/ledger.js';
import { hang, startReceiver, type Behaviour } from '../support/receiver.js';
import { ADMIN_TOKEN, API, startRuntime, testEnv, waitFor, type TestRuntime } from '../support/runtime-process.js';

const FAN_OUT = 3;
const ENV = { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,2s,2s,2s,3s,3s,3s,3s', DELIVERY_TIMEOUT: '2s' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes one event, retrying until the service accepts it (a publisher does that while storage is down); answers when it ran. */
async function publishUntilAccepted(runtime: () => TestRuntime, event: Record<string, unknown>): Promise<{ startedAt: number; endedAt: number }> {
  const startedAt = Date.now();
  for (;;) {
    try {
      const response = await runtime().api('POST', `${API}/publish`, { body: event, token: ADMIN_TOKEN });
      if (response.status === 202) return { startedAt, endedAt: Date.now() };
    } catch {
      // the runtime is restarting
    }
    await sleep(200);
  }
}

describe('faults in the platform: every event delivered, none lost', () => {
  const settleRow = ledgerTable();

  async function hooks(runtime: TestRuntime, ledger: Ledger, model: string, behaviour?: Behaviour) {
    const receivers = await Promise.all(Array.from({ length: FAN_OUT }, () => startReceiver({ behaviour: behaviour ?? accepting(ledger, () => undefined) })));
    return Promise.all(receivers.map((receiver) => createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } })));
  }

  async function settle(runtime: TestRuntime, ledger: Ledger, ids: string[], events: number, name: string) {
    await waitFor(`${name}: every delivery`, () => (ledger.complete ? true : undefined), 60_000);
    for (const id of ids) {
      const done = await waitForDeliveries(runtime, id, (list) => list.length >= events && list.every((delivery) => delivery.status === 'SUCCEEDED'), 60_000);
      assert.equal(done.length, events, 'one record per event');
    }
    return settleRow(ledger, name);
  }

  it('survives Azurite stopped and restarted mid-run, its data on disk', async () => {
    const location = mkdtempSync(join(tmpdir(), 'azurite-fault-'));
    let azurite: RunningAzurite = await startAzurite({ location });
    after(() => azurite.stop());
    await ensureStorage(createStorageClients({ kind: 'connectionString', connectionString: azurite.connectionString }));
    const runtime = await startRuntime(testEnv(azurite.connectionString, ENV));
    const ledger = new Ledger();
    const ids = await hooks(runtime, ledger, 'azurite-restart');
    let version = 0;
    const calls: { startedAt: number; endedAt: number }[] = [];
    const publishing = (async () => {
      const deadline = Date.now() + 6000;
      while (Date.now() < deadline) {
        const v = String(++version);
        ledger.expect(v, ids);
        // A publisher that retries sends its own event_id, so an attempt that did get through is not a second event.
        calls.push(await publishUntilAccepted(() => runtime, { event: 'MODEL_VERSION_CREATED', model_name: 'azurite-restart', version: v, event_id: `restart-${v}` }));
        await sleep(100);
      }
    })();
    await sleep(1500);
    const ports = { blob: azurite.endpoints.blobPort, queue: azurite.endpoints.queuePort, table: azurite.endpoints.tablePort };
    const stoppedAt = Date.now();
    await azurite.stop();
    await sleep(2000);
    azurite = await startAzurite({ location, ports });
    const restartedAt = Date.now();
    await publishing;
    await settle(runtime, ledger, ids, version, 'Azurite stopped and restarted');
    // The outage was met: a publish call was under way while Azurite was down (held by the storage client's
    // retries, or refused and sent again), and still every event arrived.
    assert.ok(calls.some((call) => call.startedAt <= restartedAt && call.endedAt >= stoppedAt), 'a publish call ran into the outage');
  });

  it('survives the runtime killed with SIGKILL mid-fan-out and restarted: a published batch and a queue event without timestamp or id, re-run under the same webhook-ids', async () => {
    const location = mkdtempSync(join(tmpdir(), 'azurite-kill-'));
    const azurite = await startAzurite({ location });
    after(() => azurite.stop());
    const clients = createStorageClients({ kind: 'connectionString', connectionString: azurite.connectionString });
    await ensureStorage(clients);
    let runtime = await startRuntime(testEnv(azurite.connectionString, ENV), { queueLease: '3s' });
    const ledger = new Ledger();
    // Three deliveries are accepted; later ones hang until the kill, so it always lands mid-fan-out.
    let killed = false;
    const accept = accepting(ledger, () => undefined);
    const heldAfterThree: Behaviour = (request, n, response, socket) =>
      !killed && ledger.report('').delivered >= 3 ? hang(request, n, response, socket) : accept(request, n, response, socket);
    const ids = await hooks(runtime, ledger, 'runtime-kill', heldAfterThree);
    const versions = Array.from({ length: 20 }, (_, index) => String(index + 1));
    for (const v of versions) ledger.expect(v, ids);
    const [published, queued] = [versions.slice(0, 10), versions.slice(10)];
    const response = await runtime.api('POST', `${API}/publish`, { body: { events: published.map((v) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'runtime-kill', version: v })) } });
    assert.equal(response.status, 202);
    // As a source writes it: no event_timestamp, no event_id; both come from the message, so a re-run derives the same.
    const text = JSON.stringify({ events: queued.map((v) => ({ event: 'MODEL_VERSION_CREATED', model_name: 'runtime-kill', version: v })) });
    await clients.queue(QUEUES.registryEvents).sendMessage(Buffer.from(text, 'utf8').toString('base64'));
    await waitFor('the fan-out under way', () => (ledger.report('').delivered >= 3 ? true : undefined));
    runtime.kill();
    await new Promise((resolve) => runtime.process.once('exit', resolve));
    killed = true;
    assert.ok(!ledger.complete, 'killed before every delivery was made');
    runtime = await startRuntime(testEnv(azurite.connectionString, ENV), { queueLease: '3s' });
    const row = await settle(runtime, ledger, ids, versions.length, 'runtime SIGKILL mid-fan-out');
    assert.equal(row.delivered, versions.length * FAN_OUT);
  });
});
