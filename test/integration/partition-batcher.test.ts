import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import type { TransactionAction } from '@azure/data-tables';
import { startCountingProxy } from '../../bench/storage-proxy.js';
import { azuriteConnectionString, createStorageClients } from '../../src/storage/azure-clients.js';
import { PartitionBatcher } from '../../src/storage/partition-batcher.js';
import { TableDeliveryStore } from '../../src/storage/delivery-store.js';
import { TABLES } from '../../src/storage/names.js';
import { systemClock } from '../../src/shared/ids.js';
import { deliveryIdOf, type Delivery } from '../../src/pipeline/delivery.js';
import { isConflict, isPreconditionFailed } from '../../src/storage/rest-errors.js';
import { testAzurite } from '../support/azurite.js';

const azurite = await testAzurite();
const proxy = await startCountingProxy(azurite.endpoints);
after(() => proxy.close());
const clients = createStorageClients({ kind: 'connectionString', connectionString: azuriteConnectionString(proxy.endpoints) });
const table = clients.table('batchertest');
await table.createTable();

const partition = () => randomBytes(8).toString('hex');
const create = (partitionKey: string, rowKey: string, value = 'v'): TransactionAction => ['create', { partitionKey, rowKey, Value: value }];

describe('partition batcher (group commit per partition)', () => {
  it('sends transactions submitted together for one partition as one request, answering each its own sub-responses', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    proxy.reset();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => batcher.submit([create(key, `r${index}`), create(key, `r${index}-index`)])));
    assert.equal(proxy.counts.table, 1, 'one request for twenty transactions of two operations');
    answers.forEach((answer, index) => {
      assert.equal(answer.length, 2);
      assert.equal(answer[0]?.rowKey, `r${index}`);
      assert.ok(answer[0]?.etag);
    });
    const rows = [];
    for await (const row of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${key}'` } })) rows.push(row.rowKey);
    assert.equal(rows.length, 40);
  });

  it('a transaction that would fail alone fails alone: the others it was sent with are written and answered', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    await table.createEntity({ partitionKey: key, rowKey: 'taken', Value: 'first' });
    const stale = await table.createEntity({ partitionKey: key, rowKey: 'changed', Value: 'old' });
    await table.updateEntity({ partitionKey: key, rowKey: 'changed', Value: 'newer' }, 'Replace');
    const results = await Promise.allSettled([
      batcher.submit([create(key, 'a')]),
      batcher.submit([create(key, 'taken', 'second')]),
      batcher.submit([['update', { partitionKey: key, rowKey: 'changed', Value: 'lost' }, 'Replace', { etag: stale.etag ?? '' }]]),
      batcher.submit([create(key, 'b')]),
    ]);
    assert.equal(results[0]?.status, 'fulfilled');
    assert.equal(results[3]?.status, 'fulfilled');
    assert.ok(results[1]?.status === 'rejected' && isConflict(results[1].reason), 'the existing row is a conflict for its own caller');
    assert.ok(results[2]?.status === 'rejected' && isPreconditionFailed(results[2].reason), 'the stale version fails for its own caller');
    assert.equal((await table.getEntity<{ Value: string }>(key, 'taken')).Value, 'first');
    assert.equal((await table.getEntity<{ Value: string }>(key, 'changed')).Value, 'newer');
    assert.equal((await table.getEntity(key, 'a')).rowKey, 'a');
    assert.equal((await table.getEntity(key, 'b')).rowKey, 'b');
  });

  it('two transactions on the same row never share a request: the second sees the first', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    const results = await Promise.allSettled([batcher.submit([create(key, 'same', 'one')]), batcher.submit([create(key, 'same', 'two')])]);
    assert.equal(results[0]?.status, 'fulfilled');
    assert.ok(results[1]?.status === 'rejected' && isConflict(results[1].reason));
    assert.equal((await table.getEntity<{ Value: string }>(key, 'same')).Value, 'one');
  });

  it('fills a request up to the 100 operations a transaction takes, then sends the rest in the next', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    proxy.reset();
    await Promise.all(Array.from({ length: 150 }, (_, index) => batcher.submit([create(key, `row${index}`)])));
    assert.equal(proxy.counts.table, 2);
    let count = 0;
    for await (const _ of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${key}'` } })) count += 1;
    assert.equal(count, 150);
  });

  it('partitions do not wait for each other', async () => {
    const batcher = new PartitionBatcher(table);
    proxy.reset();
    const keys = [partition(), partition(), partition()];
    await Promise.all(keys.map((key) => batcher.submit([create(key, 'x')])));
    assert.equal(proxy.counts.table, 3, 'a request per partition');
  });
});

describe('delivery records share requests per webhook partition', () => {
  const pending = (webhookId: string, eventTimestamp: number): Delivery => {
    const eventId = `e-${randomBytes(4).toString('hex')}`;
    return { id: deliveryIdOf(webhookId, eventTimestamp, 'M', eventId), webhookId, event: 'MODEL_VERSION_CREATED', eventId, eventTimestamp, status: 'PENDING', attempts: 0, createdTimestamp: eventTimestamp, payload: '{}' };
  };

  it('concurrent fan-outs creating and settling records of one webhook write them in shared transactions', async () => {
    const store = new TableDeliveryStore(clients.table(TABLES.deliveries), clients.table(TABLES.deliveryDays), systemClock);
    const webhookId = randomBytes(16).toString('hex');
    const now = Date.now();
    await store.create([pending(webhookId, now)]);
    proxy.reset();
    const drafts = Array.from({ length: 10 }, (_, index) => pending(webhookId, now + index));
    const created = await Promise.all(drafts.map((draft) => store.create([draft])));
    assert.equal(proxy.counts.table, 1, 'ten create calls (ten events fanned out at once) in one request');
    proxy.reset();
    const written = await Promise.all(
      drafts.map((draft, index) => {
        const result = created[index]?.[0];
        assert.ok(result?.created);
        return store.replace([{ value: { ...draft, status: 'SUCCEEDED', attempts: 1 }, etag: result.etag }]);
      }),
    );
    assert.equal(proxy.counts.table, 1, 'and their outcomes in one more');
    assert.ok(written.every(([etag]) => etag !== undefined));
    assert.equal((await store.get(drafts[3]?.id ?? ''))?.value.status, 'SUCCEEDED');
  });
});
