import assert from 'node:assert/strict';
import { systemClock } from '../../src/shared/ids.js';
import { randomBytes } from 'node:crypto';
import { after, describe, it, mock } from 'node:test';
import type { TableClient } from '@azure/data-tables';
import { startCountingProxy } from '../../bench/storage-proxy.js';
import { deliveryIdOf, type Delivery, type DeliverySummary } from '../../src/pipeline/delivery.js';
import type { DeliveryStore } from '../../src/pipeline/delivery-store.js';
import { azuriteConnectionString, createStorageClients } from '../../src/storage/azure-clients.js';
import { TableDeliveryStore } from '../../src/storage/delivery-store.js';
import type { Purgeable } from '../../src/pipeline/retention.js';
import { TABLES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';
import { MemoryDeliveryStore } from '../support/memory.js';

const DAY = 86_400_000;
const newWebhook = (): string => randomBytes(16).toString('hex');

/** What a contract run can see of a store: rows its listings read, requests made, and the raw rows. */
interface Probe {
  store: DeliveryStore & Purgeable;
  reads: { records: number; indexRows: number };
  /** Storage requests so far (undefined for the in-memory store, which makes none). */
  requests(): number | undefined;
  /** The partition's rows as stored: record rows and index rows, with the status each holds. */
  raw(webhookId: string): Promise<{ rowKey: string; status: string; attempts: number }[]>;
}

function delivery(webhookId: string, eventTimestamp: number, status: Delivery['status'], extra: Partial<Delivery> = {}): Delivery {
  const eventId = `e-${eventTimestamp}-${randomBytes(3).toString('hex')}`;
  return {
    id: deliveryIdOf(webhookId, eventTimestamp, 'M', eventId),
    webhookId,
    event: 'MODEL_VERSION_CREATED',
    eventId,
    eventTimestamp,
    status,
    attempts: 1,
    createdTimestamp: eventTimestamp + 5,
    lastAttemptTimestamp: eventTimestamp + 6,
    ...(status === 'FAILED' ? { lastStatusCode: 500, lastError: 'HTTP 500' } : {}),
    payload: `{"n":${eventTimestamp}}`,
    history: [{ attempt: 1, timestamp: eventTimestamp + 6, durationMs: 3, statusCode: 500 }],
    ...extra,
  };
}

const summary = (record: Delivery): DeliverySummary => {
  const { payload: _payload, ...rest } = record;
  return rest;
};
const rowKeyOf = (id: string): string => id.slice(id.indexOf('_') + 1);
const newestFirst = (records: readonly Delivery[]): Delivery[] =>
  [...records].sort((a, b) => (rowKeyOf(a.id) < rowKeyOf(b.id) ? -1 : rowKeyOf(a.id) > rowKeyOf(b.id) ? 1 : a.webhookId < b.webhookId ? -1 : 1));

/** The index of a partition is exact: one row per FAILED or SKIPPED record, holding its current summary, and nothing else. */
async function assertIndexExact(probe: Probe, webhookId: string, what: string): Promise<void> {
  const rows = await probe.raw(webhookId);
  const records = rows.filter((row) => !row.rowKey.startsWith('~'));
  const indexRows = rows.filter((row) => row.rowKey.startsWith('~'));
  const expected = records.filter((row) => row.status === 'FAILED' || row.status === 'SKIPPED').map((row) => ({ ...row, rowKey: `~${row.status}_${row.rowKey}` }));
  assert.deepEqual(
    indexRows.sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1)),
    expected.sort((a, b) => (a.rowKey < b.rowKey ? -1 : 1)),
    `${what}: an index row per FAILED or SKIPPED record, with its status and attempts, and no other`,
  );
}

function statusIndexContract(name: string, make: () => Promise<Probe>): void {
  describe(`DeliveryStore status index: ${name}`, () => {
    let probe: Probe;
    const resetCounts = (): { requests: number | undefined } => {
      probe.reads.records = 0;
      probe.reads.indexRows = 0;
      return { requests: probe.requests() };
    };
    const requestsSince = (mark: { requests: number | undefined }): number | undefined => {
      const now = probe.requests();
      return now === undefined || mark.requests === undefined ? undefined : now - mark.requests;
    };

    it('keeps the index exact through create, replace, redeliver and retention', async () => {
      probe = await make();
      const { store } = probe;
      const webhookId = newWebhook();
      const t0 = Date.UTC(2001, 0, 10, 12);
      const [single, ...batch] = [
        delivery(webhookId, t0, 'FAILED'),
        delivery(webhookId, t0 + 1000, 'SUCCEEDED'),
        delivery(webhookId, t0 + 2000, 'SKIPPED'),
        delivery(webhookId, t0 + 3000, 'PENDING'),
        delivery(webhookId, t0 + 4000, 'FAILED'),
        delivery(webhookId, t0 + 5000, 'PENDING'),
        delivery(webhookId, t0 + 3 * DAY, 'FAILED'),
      ] as [Delivery, ...Delivery[]];
      const [createdSingle] = await store.create([single]);
      const created = await store.create(batch);
      assert.ok(createdSingle?.created && created.every((result) => result.created));
      await assertIndexExact(probe, webhookId, 'after create');
      assert.deepEqual((await store.create([{ ...single, status: 'SUCCEEDED' }]))[0]?.created, false, 'an existing record is answered, not overwritten');
      await assertIndexExact(probe, webhookId, 'after a create that met an existing record');

      const version = async (id: string) => {
        const found = await store.get(id);
        assert.ok(found, id);
        return found;
      };
      const [, skipped, pending, failed, pending2] = batch as [Delivery, Delivery, Delivery, Delivery, Delivery, Delivery];
      // A first attempt fails for good: PENDING to FAILED, and an attempt recorded on a FAILED record.
      const toFailed = await store.replace([{ value: { ...pending, status: 'FAILED', attempts: 8, lastError: 'HTTP 503' }, etag: (await version(pending.id)).etag }]);
      assert.ok(toFailed[0]);
      const again = await store.replace([{ value: { ...pending, status: 'FAILED', attempts: 9, lastError: 'HTTP 503' }, etag: toFailed[0] }]);
      assert.ok(again[0], 'the version a replace answers is good for the next replace');
      await assertIndexExact(probe, webhookId, 'after PENDING to FAILED, then FAILED again');
      // Redeliver: FAILED back to PENDING, by the version `get` answers; SKIPPED becomes FAILED.
      const redelivered = await store.replace([
        { value: { ...single, status: 'PENDING', nextScheduleIndex: 0 }, etag: (await version(single.id)).etag },
        { value: { ...skipped, status: 'FAILED' }, etag: (await version(skipped.id)).etag },
        { value: { ...pending2, status: 'SKIPPED' }, etag: (await version(pending2.id)).etag },
      ]);
      assert.ok(redelivered.every((etag) => etag !== undefined), 'three records of one webhook in one call');
      await assertIndexExact(probe, webhookId, 'after a redeliver (FAILED to PENDING) and status changes');
      const failedVersion = (await version(failed.id)).etag;
      await store.replace([{ value: { ...failed, status: 'PENDING' }, etag: failedVersion }]);
      const stale = await store.replace([{ value: { ...failed, status: 'SUCCEEDED' }, etag: failedVersion }]);
      assert.deepEqual(stale, [undefined], 'a stale version loses');
      await assertIndexExact(probe, webhookId, 'after a stale replace');
      const listed = await store.list({ webhookId, status: 'FAILED', limit: 10 });
      assert.deepEqual(
        listed.deliveries,
        await Promise.all([batch[5], pending, skipped].map(async (record) => summary((await version(record?.id ?? '')).value))),
        'the FAILED listing answers each record as it stands',
      );

      // Retention, a few entities at a time: a record and its index row always go together.
      const cutoff = t0 + 2 * DAY;
      for (let runs = 0; ; runs += 1) {
        assert.ok(runs < 20, 'retention finishes');
        const result = await store.purgeBefore(cutoff, 3);
        await assertIndexExact(probe, webhookId, `after retention run ${runs + 1}`);
        if (result.done) break;
      }
      const left = await probe.raw(webhookId);
      assert.deepEqual(
        left.filter((row) => !row.rowKey.startsWith('~')).map((row) => row.status).sort(),
        ['FAILED', 'PENDING', 'PENDING'],
        'the record after the cutoff and the two still pending stay',
      );
    });

    it('lists FAILED and SKIPPED from the index alone: the rows it returns and one more', async () => {
      const { store } = probe;
      const webhookId = newWebhook();
      const t1 = Date.UTC(2002, 3, 1);
      const records = Array.from({ length: 200 }, (_, index) => delivery(webhookId, t1 + index * 1000, index % 40 === 7 ? 'FAILED' : index % 70 === 3 ? 'SKIPPED' : 'SUCCEEDED'));
      await store.create(records);
      const failed = newestFirst(records.filter((record) => record.status === 'FAILED'));
      const skipped = newestFirst(records.filter((record) => record.status === 'SKIPPED'));
      assert.deepEqual([failed.length, skipped.length], [5, 3]);

      let mark = resetCounts();
      const first = await store.list({ webhookId, status: 'FAILED', limit: 2 });
      assert.deepEqual(first.deliveries, failed.slice(0, 2).map(summary));
      assert.ok(first.nextPageToken);
      assert.deepEqual(probe.reads, { records: 0, indexRows: 3 }, 'two index rows and one to know more follow; no record');
      if (requestsSince(mark) !== undefined) assert.equal(requestsSince(mark), 1, 'one request');

      mark = resetCounts();
      const rest = await store.list({ webhookId, status: 'FAILED', pageToken: first.nextPageToken, limit: 10 });
      assert.deepEqual(rest.deliveries, failed.slice(2).map(summary));
      assert.equal(rest.nextPageToken, undefined);
      assert.deepEqual(probe.reads, { records: 0, indexRows: 3 });
      if (requestsSince(mark) !== undefined) assert.equal(requestsSince(mark), 1);

      mark = resetCounts();
      const since = await store.list({ webhookId, status: 'SKIPPED', sinceTimestamp: skipped[1]?.eventTimestamp ?? 0, limit: 100 });
      assert.deepEqual(since.deliveries, skipped.slice(0, 2).map(summary), 'since a time: the newer ones, that time included');
      assert.deepEqual(probe.reads, { records: 0, indexRows: 2 }, 'the time bound is a key bound: nothing older is read');
      if (requestsSince(mark) !== undefined) assert.equal(requestsSince(mark), 1);

      mark = resetCounts();
      const between = await store.list({ webhookId, status: 'FAILED', sinceTimestamp: failed[3]?.eventTimestamp ?? 0, untilTimestamp: failed[1]?.eventTimestamp ?? 0, limit: 100 });
      assert.deepEqual(between.deliveries, failed.slice(1, 4).map(summary), 'between two times, both included');
      assert.deepEqual(probe.reads, { records: 0, indexRows: 3 }, 'both time bounds are key bounds');
      if (requestsSince(mark) !== undefined) assert.equal(requestsSince(mark), 1);
      const paged = await store.list({ webhookId, status: 'FAILED', untilTimestamp: failed[1]?.eventTimestamp ?? 0, limit: 1 });
      const onward = await store.list({ webhookId, status: 'FAILED', untilTimestamp: failed[1]?.eventTimestamp ?? 0, pageToken: paged.nextPageToken, limit: 10 });
      assert.deepEqual([...paged.deliveries, ...onward.deliveries], failed.slice(1).map(summary), 'a page token goes on within the time bound');

      resetCounts();
      const plain = await store.list({ webhookId, limit: 1000 });
      assert.deepEqual(plain.deliveries, newestFirst(records).map(summary), 'a plain listing holds each record once, and no index row');
      assert.deepEqual(probe.reads, { records: 200, indexRows: 0 });
      resetCounts();
      const succeeded = await store.list({ webhookId, status: 'SUCCEEDED', limit: 1000 });
      assert.equal(succeeded.deliveries.length, 192);
      assert.equal(probe.reads.indexRows, 0);
    });

    it('lists across webhooks newest first, in pages, by status too, over days with gaps and a future day', async () => {
      const { store } = probe;
      const [a, b, c] = [newWebhook(), newWebhook(), newWebhook()];
      const day = Date.UTC(2003, 5, 20, 10);
      const records = [
        delivery(a, day, 'FAILED'),
        delivery(b, day, 'SUCCEEDED'),
        delivery(a, day + 1000, 'SUCCEEDED'),
        delivery(b, day + 2000, 'FAILED'),
        delivery(a, day - DAY, 'SKIPPED'),
        delivery(b, day - DAY + 5, 'FAILED'),
        delivery(a, day - 5 * DAY, 'FAILED'),
        delivery(b, day - 5 * DAY, 'SUCCEEDED'),
        delivery(c, day - 40 * DAY, 'FAILED'),
        delivery(c, day - 40 * DAY + 1, 'PENDING'),
        delivery(c, Date.UTC(2100, 0, 1), 'FAILED'),
      ];
      await store.create(records);
      const pageThrough = async (status: 'FAILED' | undefined, count: number): Promise<DeliverySummary[]> => {
        const seen: DeliverySummary[] = [];
        let pageToken: string | undefined;
        for (let pages = 0; seen.length < count; pages += 1) {
          assert.ok(pages < 20);
          const page = await store.listAll({ ...(status ? { status } : {}), ...(pageToken ? { pageToken } : {}), limit: 3 });
          assert.ok(page.deliveries.length === 3 || !page.nextPageToken, 'every page but the last is full');
          seen.push(...page.deliveries);
          assert.ok(page.nextPageToken, 'older records (of earlier tests) follow');
          pageToken = page.nextPageToken;
        }
        return seen.slice(0, count);
      };
      assert.deepEqual(await pageThrough(undefined, records.length), newestFirst(records).map(summary));
      const failed = records.filter((record) => record.status === 'FAILED');
      assert.deepEqual(await pageThrough('FAILED', failed.length), newestFirst(failed).map(summary));
      resetCounts();
      await store.listAll({ status: 'FAILED', limit: 2 });
      assert.equal(probe.reads.records, 0, 'a FAILED listing across webhooks reads index rows only');
    });
  });
}

/** A table client that runs `before` once, just before its first transaction: a writer racing the caller. */
function racedBeforeFirstTransaction(table: TableClient, before: () => Promise<void>): TableClient {
  let raced = false;
  return new Proxy(table, {
    get(target, property) {
      if (property === 'submitTransaction') {
        return async (...args: Parameters<TableClient['submitTransaction']>) => {
          if (!raced) {
            raced = true;
            await before();
          }
          return target.submitTransaction(...args);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A table client whose listings count the rows they read: records, and index rows (row keys starting with `~`). */
function countingReads(table: TableClient, reads: Probe['reads']): TableClient {
  const count = (entity: { rowKey?: string }): void => {
    if (entity.rowKey?.startsWith('~')) reads.indexRows += 1;
    else reads.records += 1;
  };
  const counted = <T extends { rowKey?: string }>(source: AsyncIterableIterator<T[]>): AsyncIterableIterator<T[]> => ({
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      const result = await source.next();
      if (!result.done) result.value.forEach(count);
      return result;
    },
  });
  return new Proxy(table, {
    get(target, property) {
      if (property === 'listEntities') {
        return (...args: Parameters<TableClient['listEntities']>) => {
          const listing = target.listEntities(...args);
          return {
            async *[Symbol.asyncIterator]() {
              for await (const page of counted(listing.byPage())) yield* page;
            },
            byPage: (settings?: Parameters<typeof listing.byPage>[0]) => counted(listing.byPage(settings)),
          };
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe('status index on Azurite and in memory', async () => {
  const azurite = await testAzurite();
  const proxy = await startCountingProxy(azurite.endpoints);
  after(() => proxy.close());
  const counted = createStorageClients({ kind: 'connectionString', connectionString: azuriteConnectionString(proxy.endpoints) });

  statusIndexContract('memory', () => {
    const store = new MemoryDeliveryStore();
    return Promise.resolve({
      store,
      reads: store.reads,
      requests: () => undefined,
      raw: (webhookId) =>
        Promise.resolve(
          [...(store.partitions.get(webhookId) ?? new Map<string, never>())].map(([rowKey, row]) => {
            const held = row.kind === 'record' ? row.delivery : row.summary;
            return { rowKey, status: held.status, attempts: held.attempts };
          }),
        ),
    });
  });
  describe('retention racing a writer on the Table adapter', () => {
    const raw = azurite.clients.table(TABLES.deliveries);
    const days = azurite.clients.table(TABLES.deliveryDays);
    const writer = new TableDeliveryStore(raw, days, systemClock);
    const cutoff = Date.UTC(1995, 0, 10);
    const rawRows = async (webhookId: string): Promise<{ rowKey: string; status: string; attempts: number }[]> => {
      const rows: { rowKey: string; status: string; attempts: number }[] = [];
      for await (const entity of raw.listEntities<{ Status: string; Attempts: number }>({ queryOptions: { filter: `PartitionKey eq '${webhookId}'` } })) rows.push({ rowKey: entity.rowKey ?? '', status: entity.Status, attempts: entity.Attempts });
      return rows;
    };
    const probe: Probe = { store: writer, reads: { records: 0, indexRows: 0 }, requests: () => undefined, raw: rawRows };
    /** Retention whose first transaction comes just after `rewrite` changed the expired record it read. */
    const purgeRacing = async (record: Delivery, rewrite: (current: Delivery) => Delivery[]): Promise<void> => {
      const retention = new TableDeliveryStore(
        racedBeforeFirstTransaction(raw, async () => {
          for (const next of rewrite(record)) {
            const found = await writer.get(record.id);
            assert.ok(found);
            assert.ok((await writer.replace([{ value: next, etag: found.etag }]))[0], 'the racing write lands');
          }
        }),
        days,
        systemClock,
      );
      await retention.purgeBefore(cutoff, 1000);
    };

    for (const alone of [true, false]) {
      it(`keeps a FAILED record a redeliver set PENDING after retention read it (${alone ? 'alone' : 'in a transaction with others'})`, async () => {
        const webhookId = newWebhook();
        const [old, sibling] = [delivery(webhookId, cutoff - 5 * DAY, 'FAILED'), delivery(webhookId, cutoff - 5 * DAY + 1, 'SKIPPED')];
        await writer.create(alone ? [old] : [old, sibling]);
        await purgeRacing(old, (record) => [{ ...record, status: 'PENDING', nextScheduleIndex: 0 }]);
        assert.equal((await writer.get(old.id))?.value.status, 'PENDING', 'the redelivered record is still there, to be sent');
        assert.equal(await writer.get(sibling.id), undefined, 'the untouched expired record went');
        await assertIndexExact(probe, webhookId, 'after retention raced a redeliver');
      });
    }

    it('leaves no index row behind when the record changed status after retention read it', async () => {
      const webhookId = newWebhook();
      const old = delivery(webhookId, cutoff - 5 * DAY, 'SKIPPED');
      await writer.create([old]);
      // Replayed, then failed for good: SKIPPED, PENDING, FAILED, between retention's read and its delete.
      await purgeRacing(old, (record) => [{ ...record, status: 'PENDING' }, { ...record, status: 'FAILED', attempts: 8 }]);
      await assertIndexExact(probe, webhookId, 'after retention raced a status change');
      for (let runs = 0; (await rawRows(webhookId)).length > 0; runs += 1) {
        assert.ok(runs < 3, 'the next run removes the record and its index row');
        await writer.purgeBefore(cutoff, 1000);
        await assertIndexExact(probe, webhookId, `after the next run ${runs + 1}`);
      }
    });

    it('removes an index row left without its record once its day has no record left, then the day row', async () => {
      const webhookId = newWebhook();
      const [orphaned, kept] = [delivery(webhookId, cutoff - 20 * DAY, 'FAILED'), delivery(webhookId, cutoff - 20 * DAY + 10, 'SKIPPED')];
      await writer.create([orphaned, kept]);
      // What retention before this fix left behind: the record deleted, its index row not.
      await raw.deleteEntity(webhookId, orphaned.id.slice(webhookId.length + 1));
      await writer.purgeBefore(cutoff, 1000);
      assert.deepEqual(await rawRows(webhookId), [], 'the expired record with its index row, and the orphaned index row');
      const dayRows: string[] = [];
      for await (const entity of days.listEntities({ queryOptions: { filter: `RowKey eq '${webhookId}'` } })) dayRows.push(entity.partitionKey ?? '');
      assert.deepEqual(dayRows, [], 'and then the day row');
    });

    it('keeps the day row of a record written while retention was removing that empty day', async () => {
      const webhookId = newWebhook();
      const day = cutoff - 7 * DAY;
      await writer.create([delivery(webhookId, day, 'SUCCEEDED')]);
      const late = delivery(webhookId, day + 1000, 'SUCCEEDED');
      // Retention emptied the day and found it empty; the late record is written just before it removes the day row.
      let raced = false;
      const racedDays = new Proxy(days, {
        get(target, property) {
          if (property === 'deleteEntity') {
            return async (...args: Parameters<TableClient['deleteEntity']>) => {
              if (!raced) {
                raced = true;
                await writer.create([late]);
              }
              return target.deleteEntity(...args);
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });
      await new TableDeliveryStore(raw, racedDays, systemClock).purgeBefore(cutoff, 1000);
      assert.ok(raced, 'retention came to remove the day row');
      assert.ok(await writer.get(late.id), 'the late record is there');
      const dayRows: string[] = [];
      for await (const entity of days.listEntities({ queryOptions: { filter: `RowKey eq '${webhookId}'` } })) dayRows.push(entity.partitionKey ?? '');
      assert.equal(dayRows.length, 1, 'and so is its day row, or retention and the admin listing never find it');
      await writer.purgeBefore(cutoff, 1000);
      assert.equal(await writer.get(late.id), undefined, 'the next run removes it');
    });

    it('writes the day row again for a record of a day it wrote long ago, once retention may have removed it', async () => {
      const webhookId = newWebhook();
      const day = Date.now() - 10 * DAY;
      const longLived = new TableDeliveryStore(raw, days, systemClock);
      mock.timers.enable({ apis: ['Date'], now: day });
      try {
        await longLived.create([delivery(webhookId, day, 'SUCCEEDED')]);
      } finally {
        mock.timers.reset();
      }
      // Ten days on, retention empties that day and removes its row; then a late event of that day arrives.
      await writer.purgeBefore(Date.now() - 2 * DAY, 1000);
      const late = delivery(webhookId, day + 1000, 'FAILED');
      await longLived.create([late]);
      const listed = await writer.listAll({ status: 'FAILED', limit: 1000 });
      assert.ok(
        listed.deliveries.some((found) => found.id === late.id),
        'the cross-webhook listing finds it',
      );
      await writer.purgeBefore(Date.now() - 2 * DAY, 1000);
      assert.equal(await writer.get(late.id), undefined, 'and retention removes it');
    });
  });
  it('a record whose index row is missing can still be written, and is back in step after', async () => {
    const store = new TableDeliveryStore(azurite.clients.table(TABLES.deliveries), azurite.clients.table(TABLES.deliveryDays), systemClock);
    const webhookId = newWebhook();
    const failed = delivery(webhookId, Date.UTC(1996, 1, 1), 'FAILED');
    await store.create([failed]);
    const rowKey = failed.id.slice(webhookId.length + 1);
    await azurite.clients.table(TABLES.deliveries).deleteEntity(webhookId, `~FAILED_${rowKey}`);
    const found = await store.get(failed.id);
    assert.ok(found);
    const [written] = await store.replace([{ value: { ...found.value, status: 'PENDING', nextScheduleIndex: 0 }, etag: found.etag }]);
    assert.ok(written, 'a redeliver writes it (else it re-reads and retries forever)');
    assert.equal((await store.get(failed.id))?.value.status, 'PENDING');
    const [again] = await store.replace([{ value: { ...found.value, status: 'SUCCEEDED' }, etag: found.etag }]);
    assert.equal(again, undefined, 'a stale version still loses');
    const rows: string[] = [];
    for await (const entity of azurite.clients.table(TABLES.deliveries).listEntities({ queryOptions: { filter: `PartitionKey eq '${webhookId}'` } })) rows.push(entity.rowKey ?? '');
    assert.deepEqual(rows, [rowKey], 'the record alone, no index row');
  });
  it('a version naming no etag loses as a stale one does, never writing over the record', async () => {
    const store = new TableDeliveryStore(azurite.clients.table(TABLES.deliveries), azurite.clients.table(TABLES.deliveryDays), systemClock);
    const webhookId = newWebhook();
    for (const version of ['', '*', 'FAILED:', 'FAILED:*', 'SKIPPED:']) {
      const failed = delivery(webhookId, Date.UTC(1997, 1, 1) + version.length, 'FAILED');
      await store.create([failed]);
      assert.deepEqual(await store.replace([{ value: { ...failed, status: 'SUCCEEDED' }, etag: version }]), [undefined], JSON.stringify(version));
      assert.equal((await store.get(failed.id))?.value.status, 'FAILED', `${JSON.stringify(version)}: the record is as it was`);
    }
  });
  it('refuses a page token that is not one, even with nothing to list (Table adapter and memory alike)', async () => {
    const suffix = randomBytes(4).toString('hex');
    const [records, days] = [azurite.clients.table(`emptydeliveries${suffix}`), azurite.clients.table(`emptydays${suffix}`)];
    await Promise.all([records.createTable(), days.createTable()]);
    const garbage = Buffer.from('not json at all').toString('base64url');
    for (const store of [new TableDeliveryStore(records, days, systemClock), new MemoryDeliveryStore()]) {
      await assert.rejects(store.listAll({ pageToken: garbage, limit: 10 }), (error: Error) => /'page_token'/.test(error.message), store.constructor.name);
      assert.deepEqual(await store.listAll({ limit: 10 }), { deliveries: [] }, `${store.constructor.name}: nothing to list`);
    }
  });
  it('reads about a page across many webhooks of one day, not a page per webhook', async () => {
    const suffix = randomBytes(4).toString('hex');
    const [records, days] = [azurite.clients.table(`manydeliveries${suffix}`), azurite.clients.table(`manydays${suffix}`)];
    await Promise.all([records.createTable(), days.createTable()]);
    const reads = { records: 0, indexRows: 0 };
    const store = new TableDeliveryStore(countingReads(records, reads), days, systemClock);
    const day = Date.UTC(2005, 2, 3, 8);
    const webhooks = Array.from({ length: 12 }, newWebhook);
    // One webhook busy, the others a few records each, interleaved in time.
    const seeded = webhooks.flatMap((webhookId, w) =>
      Array.from({ length: w === 0 ? 60 : 8 }, (_, n) => delivery(webhookId, day + (w === 0 ? n * 100 : n * 700 + w), n % 3 === 1 ? 'FAILED' : 'SUCCEEDED')),
    );
    await store.create(seeded);
    for (const [status, limit] of [[undefined, 10], ['FAILED', 4]] as const) {
      const expected = newestFirst(seeded.filter((record) => status === undefined || record.status === status)).map(summary);
      reads.records = reads.indexRows = 0;
      const first = await store.listAll({ ...(status ? { status } : {}), limit });
      assert.deepEqual(first.deliveries, expected.slice(0, limit), `${status ?? 'all'}: the newest page`);
      const read = reads.records + reads.indexRows;
      assert.ok(read <= limit + 1 + webhooks.length, `${status ?? 'all'}: ${read} rows read for a page of ${limit} over ${webhooks.length} webhooks`);
      const seen = [...first.deliveries];
      for (let token = first.nextPageToken, pages = 0; token !== undefined; pages += 1) {
        assert.ok(pages < 100);
        const page = await store.listAll({ ...(status ? { status } : {}), pageToken: token, limit });
        seen.push(...page.deliveries);
        token = page.nextPageToken;
      }
      assert.deepEqual(seen, expected, `${status ?? 'all'}: paging through answers every record once, newest first`);
    }
  });
  statusIndexContract('table', () => {
    const reads = { records: 0, indexRows: 0 };
    const store = new TableDeliveryStore(countingReads(counted.table(TABLES.deliveries), reads), counted.table(TABLES.deliveryDays), systemClock);
    return Promise.resolve({
      store,
      reads,
      requests: () => proxy.counts.table,
      raw: async (webhookId) => {
        const rows: { rowKey: string; status: string; attempts: number }[] = [];
        const listing = azurite.clients.table(TABLES.deliveries).listEntities<{ Status: string; Attempts: number }>({ queryOptions: { filter: `PartitionKey eq '${webhookId}'` } });
        for await (const entity of listing) rows.push({ rowKey: entity.rowKey ?? '', status: entity.Status, attempts: entity.Attempts });
        return rows;
      },
    });
  });
});
