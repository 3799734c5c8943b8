import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { TableClient, type TransactionAction } from '@azure/data-tables';
import { startCountingProxy } from '../../bench/storage-proxy.js';
import { azuriteConnectionString } from '../../src/storage/azure-clients.js';
import { PartitionBatcher } from '../../src/storage/partition-batcher.js';
import { isConflict, isStorageTrouble, statusCodeOf } from '../../src/storage/rest-errors.js';
import { testAzurite } from '../support/azurite.js';

const azurite = await testAzurite();
const proxy = await startCountingProxy(azurite.endpoints);
after(() => proxy.close());
// No client retries, so the proxy counts exactly the requests the batcher makes.
const table = TableClient.fromConnectionString(azuriteConnectionString(proxy.endpoints), 'batcherfaults', { allowInsecureConnection: true, retryOptions: { maxRetries: 0 } });
await table.createTable();

const partition = () => randomBytes(8).toString('hex');
type Row = { partitionKey: string; rowKey: string; Value?: string };
const create = (partitionKey: string, rowKey: string, value = 'v'): TransactionAction => ['create', { partitionKey, rowKey, Value: value }];
const update = (partitionKey: string, rowKey: string, etag: string, value: string): TransactionAction => ['update', { partitionKey, rowKey, Value: value }, 'Replace', { etag }];
const valueOf = async (key: string, row: string) => (await table.getEntity<Row>(key, row)).Value;

describe('partition batcher: each caller answered its own rows', () => {
  it('callers of different sizes mixing create, update, upsert and delete get the etags of their own rows', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    const etags = new Map<string, string>();
    for (const row of ['u1', 'u2', 'gone1', 'gone2']) etags.set(row, (await table.createEntity({ partitionKey: key, rowKey: row, Value: 'old' })).etag ?? '');
    const callers: TransactionAction[][] = [
      [update(key, 'u1', etags.get('u1') ?? '', 'new-u1'), ['upsert', { partitionKey: key, rowKey: 'u1-index', Value: 'i' }, 'Replace'], ['delete', { partitionKey: key, rowKey: 'gone1' }]],
      [create(key, 'c1', 'new-c1')],
      [['delete', { partitionKey: key, rowKey: 'gone2' }], update(key, 'u2', etags.get('u2') ?? '', 'new-u2')],
      [['upsert', { partitionKey: key, rowKey: 'c2-index', Value: 'i' }, 'Replace'], create(key, 'c2', 'new-c2'), create(key, 'c3', 'new-c3')],
    ];
    proxy.reset();
    const answers = await Promise.all(callers.map((actions) => batcher.submit(actions)));
    assert.equal(proxy.counts.table, 1, 'the four callers shared one transaction');
    answers.forEach((answer, n) => assert.equal(answer.length, callers[n]?.length, `caller ${n} gets one sub-response per action`));
    // Each etag answered must be its row's current version: a conditional write with it succeeds.
    const owned: [string, string | undefined][] = [
      ['u1', answers[0]?.[0]?.etag],
      ['u1-index', answers[0]?.[1]?.etag],
      ['c1', answers[1]?.[0]?.etag],
      ['u2', answers[2]?.[1]?.etag],
      ['c2-index', answers[3]?.[0]?.etag],
      ['c2', answers[3]?.[1]?.etag],
      ['c3', answers[3]?.[2]?.etag],
    ];
    for (const [row, etag] of owned) {
      assert.ok(etag, `an etag for ${row}`);
      await table.updateEntity({ partitionKey: key, rowKey: row, Value: 'after' }, 'Replace', { etag });
    }
    assert.equal(answers[1]?.[0]?.rowKey, 'c1');
    assert.equal(answers[3]?.[2]?.rowKey, 'c3');
    assert.equal(await valueOf(key, 'gone1').catch(statusCodeOf), 404);
    assert.equal(await valueOf(key, 'gone2').catch(statusCodeOf), 404);
  });

  it('a create then a conditional update of the same row from another async path: the update sees the create, never a later version', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    const others = Array.from({ length: 5 }, (_, n) => batcher.submit([create(key, `other${n}`)]));
    const [created] = await batcher.submit([create(key, 'same', 'one')]);
    const updated = batcher.submit([update(key, 'same', created?.etag ?? '', 'two')]);
    const racer = batcher.submit([update(key, 'same', created?.etag ?? '', 'three')]);
    const [first, second] = await Promise.allSettled([updated, racer]);
    await Promise.all(others);
    assert.equal(first?.status, 'fulfilled', 'the first update, submitted first, wins');
    assert.ok(second?.status === 'rejected' && statusCodeOf(second.reason) === 412, 'the second one is stale');
    const etag = first.status === 'fulfilled' ? first.value[0]?.etag : undefined;
    assert.ok(etag);
    await table.updateEntity({ partitionKey: key, rowKey: 'same', Value: 'four' }, 'Replace', { etag });
    assert.equal(await valueOf(key, 'same'), 'four');
  });
});

describe('partition batcher: failures', () => {
  it('storage busy: every caller is answered the 503, and the batcher does not multiply requests to a throttling service', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    proxy.reset();
    proxy.busy = true;
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, n) => batcher.submit([create(key, `r${n}`)]))).finally(() => (proxy.busy = false));
    assert.ok(results.every((result) => result.status === 'rejected' && isStorageTrouble(result.reason)));
    assert.equal(proxy.counts.table, 1, 'one request for ten callers, as when it succeeds: not one more per caller');
  });

  it('one caller with an entity storage refuses (a property over 64 KiB, a key with a slash) fails alone: the others are written and answered', async () => {
    const batcher = new PartitionBatcher(table);
    const key = partition();
    const results = await Promise.allSettled([
      batcher.submit([create(key, 'a'), create(key, 'a-index')]),
      batcher.submit([create(key, 'big', 'x'.repeat(40_000))]),
      batcher.submit([create(key, 'b')]),
      batcher.submit([create(key, 'bad/key')]),
      batcher.submit([create(key, 'a')]),
    ]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected'],
    );
    assert.ok(results[4]?.status === 'rejected' && isConflict(results[4].reason), 'the same row again waits for the first and conflicts');
    assert.equal(await valueOf(key, 'big').catch(statusCodeOf), 404, 'nothing of a refused caller is written');
    for (const row of ['a', 'a-index', 'b']) assert.equal(await valueOf(key, row), 'v');
  });
});
