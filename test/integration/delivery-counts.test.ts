import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { deliveryIdOf, type Delivery, type DeliveryStatus } from '../../src/pipeline/delivery.js';
import type { DeliveryCounts } from '../../src/pipeline/delivery-counts.js';
import type { DeliveryStore } from '../../src/pipeline/delivery-store.js';
import { systemClock } from '../../src/shared/ids.js';
import { DayIndex } from '../../src/storage/day-index.js';
import { TableDeliveryCounts } from '../../src/storage/delivery-counts.js';
import { TableDeliveryStore } from '../../src/storage/delivery-store.js';
import { TABLES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { MemoryDeliveryStore } from '../support/memory.js';

const HOUR = 3_600_000;
/** A fixed UTC hour: the counts are by event time, whatever the clock says. */
const H0 = Date.UTC(2026, 10, 20, 10);
const H1 = H0 + HOUR;

function countsContract(name: string, make: () => Promise<{ store: DeliveryStore; counts: DeliveryCounts }>): void {
  describe(`DeliveryCounts contract: ${name}`, () => {
    const record = (webhookId: string, eventTimestamp: number, status: DeliveryStatus, n = 0): Delivery => ({
      id: deliveryIdOf(webhookId, eventTimestamp, 'm', `e${eventTimestamp}-${n}`),
      webhookId,
      event: 'MODEL_VERSION_CREATED',
      eventId: `e${eventTimestamp}-${n}`,
      eventTimestamp,
      status,
      attempts: 1,
      createdTimestamp: eventTimestamp,
      payload: '{}',
    });

    it('counts by UTC hour of event time and current status, the ends of the range included, and follows a redelivery', async () => {
      const { store, counts } = await make();
      const hook = randomBytes(16).toString('hex');
      const [since, until] = [H0, H1 + HOUR - 1];
      const failedThenRedelivered = record(hook, H1 + 5, 'FAILED', 9);
      const [created] = await store.create([failedThenRedelivered]);
      await store.create([
        record(hook, since, 'SUCCEEDED'),
        record(hook, H0 + 60_000, 'SUCCEEDED'),
        record(hook, H0 + 120_000, 'FAILED'),
        record(hook, H0 + 180_000, 'PENDING'),
        record(hook, H1, 'SKIPPED'),
        record(hook, H1 + 1, 'RETRYING'),
        record(hook, until, 'FAILED'),
        record(hook, since - 1, 'FAILED'),
        record(hook, since - 1, 'SUCCEEDED', 1),
        record(hook, until + 1, 'SKIPPED'),
      ]);
      assert.ok(created?.created);
      await store.replace([{ value: { ...failedThenRedelivered, status: 'PENDING' }, etag: created.etag }]);

      const result = await counts.countByHour({ webhookId: hook, sinceTimestamp: since, untilTimestamp: until, maxRows: 100 });
      assert.deepEqual(Object.fromEntries(result.hours), {
        [H0]: { PENDING: 1, RETRYING: 0, SUCCEEDED: 2, FAILED: 1, SKIPPED: 0 },
        [H1]: { PENDING: 1, RETRYING: 1, SUCCEEDED: 0, FAILED: 1, SKIPPED: 1 },
      });
      assert.equal(result.rowsRead, 8);
      assert.equal(result.exactAfter, undefined);
      const none = await counts.countByHour({ webhookId: randomBytes(16).toString('hex'), sinceTimestamp: since, untilTimestamp: until, maxRows: 100 });
      assert.deepEqual(none, { hours: new Map(), rowsRead: 0 });
    });

    it('stops each stream at its row limit and says from when the counts are exact', async () => {
      const { store, counts } = await make();
      const hook = randomBytes(16).toString('hex');
      await store.create([record(hook, H0 + 1, 'SUCCEEDED'), record(hook, H0 + 2, 'SUCCEEDED'), record(hook, H1 + 3, 'SUCCEEDED'), record(hook, H0 + 4, 'FAILED')]);
      const result = await counts.countByHour({ webhookId: hook, sinceTimestamp: H0, untilTimestamp: H1 + HOUR, maxRows: 2 });
      // Newest first: the records stream read H1+3 and H0+2, then stopped; FAILED's index read its one row.
      assert.equal(result.exactAfter, H0 + 2);
      assert.equal(result.rowsRead, 3);
      assert.deepEqual(result.hours.get(H0), { PENDING: 0, RETRYING: 0, SUCCEEDED: 1, FAILED: 1, SKIPPED: 0 });
      assert.deepEqual(result.hours.get(H1), { PENDING: 0, RETRYING: 0, SUCCEEDED: 1, FAILED: 0, SKIPPED: 0 });
    });

    it('finds the webhooks with records on the days a range touches, and not those of other days', async () => {
      const { store, counts } = await make();
      const [recent, old] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
      await store.create([record(recent, H1, 'SUCCEEDED'), record(old, H0 - 3 * 24 * HOUR, 'FAILED')]);
      const found = await counts.webhooksWithDeliveries(H0, H1 + HOUR);
      assert.ok(found.includes(recent));
      assert.ok(!found.includes(old));
      assert.ok((await counts.webhooksWithDeliveries(H0 - 3 * 24 * HOUR, H0 - 3 * 24 * HOUR)).includes(old));
    });
  });
}

describe('delivery counts on both stores', async () => {
  const azurite = await testAzurite();
  countsContract('memory', () => {
    const store = new MemoryDeliveryStore();
    return Promise.resolve({ store, counts: store });
  });
  countsContract('table', () =>
    Promise.resolve({
      store: new TableDeliveryStore(azurite.clients.table(TABLES.deliveries), azurite.clients.table(TABLES.deliveryDays), systemClock),
      counts: new TableDeliveryCounts(azurite.clients.table(TABLES.deliveries), new DayIndex(azurite.clients.table(TABLES.deliveryDays), systemClock)),
    }),
  );
});
