import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testAzurite } from '../support/azurite.js';
import { createHook, publish, waitForDeliveries } from '../support/api-helpers.js';
import { accepting, Ledger, ledgerTable } from '../support/ledger.js';
import { hang, resetConnection, startReceiver, type Behaviour } from '../support/receiver.js';
import { startRuntime, testEnv, waitFor } from '../support/runtime-process.js';

const FAN_OUT = 3;
const EVENTS_PER_PHASE = 8;
const FAULT_MS = 2000;

/**
 * A fault: receivers that go down (connection refused), or that answer with a behaviour of their own. `usesAttempts`:
 * the service counts the fault's failures as attempts (a timeout does; a refused or reset connection is sent again
 * without using one up, docs/delivery.md).
 */
type Fault = 'down' | { behaviour: (ledger: Ledger) => Behaviour; usesAttempts: boolean };

const keyOf = (body: string): string => {
  const payload = JSON.parse(body) as { version: string; webhook_id: string };
  return `${payload.version}|${payload.webhook_id}`;
};

/** The fault's behaviour, noting which (event, webhook) deliveries it took. */
const noting =
  (behaviour: Behaviour, taken: Set<string>): Behaviour =>
  (request, n, response, socket) => {
    taken.add(keyOf(request.body));
    return behaviour(request, n, response, socket);
  };

const slowly = (ms: number): Fault => ({
  behaviour: (ledger) => async (request, n, response, socket) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    await accepting(ledger, () => undefined)(request, n, response, socket);
  },
  usesAttempts: true,
});

describe('faults at the receivers: every event delivered, none lost', async () => {
  const azurite = await testAzurite();
  const runtime = await startRuntime(testEnv(azurite.connectionString, { DELIVERY_RETRY_SCHEDULE: '0s,1s,1s,2s,2s,2s,3s,3s,3s,3s', DELIVERY_TIMEOUT: '1s' }));
  const settleRow = ledgerTable();
  let version = 0;

  /** Events before the fault, the fault with more events published during it, then recovery: all must arrive. */
  async function scenario(name: string, fault: Fault): Promise<void> {
    const ledger = new Ledger();
    let faulty: Behaviour | undefined;
    const receivers = await Promise.all(Array.from({ length: FAN_OUT }, () => startReceiver({ behaviour: accepting(ledger, () => faulty) })));
    const model = `fault-${name}`;
    const ids = await Promise.all(receivers.map((receiver) => createHook(runtime, { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: receiver.url } })));
    const send = async () => {
      const events = Array.from({ length: EVENTS_PER_PHASE }, () => String(++version));
      for (const v of events) ledger.expect(v, ids);
      await publish(runtime, events.map((v) => ({ event: 'MODEL_VERSION_CREATED', model_name: model, version: v })));
      return events.flatMap((v) => ids.map((id) => `${v}|${id}`));
    };
    await send();
    const taken = new Set<string>();
    if (fault === 'down') await Promise.all(receivers.map((receiver) => receiver.down()));
    else faulty = noting(fault.behaviour(ledger), taken);
    const downAt = Date.now();
    const duringFault = await send();
    await new Promise((resolve) => setTimeout(resolve, FAULT_MS));
    const upAt = Date.now();
    if (fault === 'down') await Promise.all(receivers.map((receiver) => receiver.up()));
    else faulty = undefined;
    await waitFor(`${name}: every delivery`, () => (ledger.complete ? true : undefined), 45_000);
    // The receivers may have everything while the service still retries (an answer came after its
    // deadline): wait until every delivery is settled, so the duplicates are counted too.
    const settled = [];
    for (const id of ids) settled.push(...(await waitForDeliveries(runtime, id, (list) => list.length === 2 * EVENTS_PER_PHASE && list.every((delivery) => delivery.status === 'SUCCEEDED'), 45_000)));
    settleRow(ledger, name);
    // The fault happened, to every delivery published during it, and each was delivered after it.
    if (fault === 'down') {
      const reached = receivers.flatMap((receiver) => receiver.requests).filter((request) => request.at >= downAt && request.at < upAt);
      assert.deepEqual(reached, [], `${name}: no request reached a receiver while it was down`);
      const owedDuringFault = settled.filter((delivery) => delivery.created_timestamp >= downAt && delivery.created_timestamp < upAt).length;
      assert.equal(owedDuringFault, duringFault.length, `${name}: the ${duringFault.length} deliveries published while down were due then, and delivered after`);
    } else {
      const missed = duringFault.filter((key) => !taken.has(key));
      assert.deepEqual(missed, [], `${name}: the fault took every delivery published during it (${taken.size} taken)`);
    }
    if (fault !== 'down' && fault.usesAttempts) {
      const retried = settled.filter((delivery) => delivery.attempts > 1).length;
      assert.ok(retried >= duringFault.length, `${name}: ${retried} deliveries retried, at least the ${duringFault.length} published during the fault`);
    }
  }

  it('survives the receivers being down (connection refused)', () => scenario('receivers down', 'down'));
  it('survives receivers that hang past the timeout', () => scenario('receivers hanging', { behaviour: () => hang, usesAttempts: true }));
  it('survives receivers that reset connections', () => scenario('connections reset', { behaviour: () => resetConnection, usesAttempts: false }));
  it('survives receivers that answer slowly, within and past the timeout', () => scenario('receivers slow (1.5 s)', slowly(1500)));
});
