import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { PurgeResult } from '../pipeline/retention.js';
import { isNotFound, isPreconditionFailed } from './rest-errors.js';

export type { PurgeResult };

export const NOTHING_PURGED: PurgeResult = { deleted: 0, requests: 0, done: true };

export const addPurges = (a: PurgeResult, b: PurgeResult): PurgeResult => ({ deleted: a.deleted + b.deleted, requests: a.requests + b.requests, done: a.done && b.done });

/** Entity-group transactions hold at most 100 operations, all in one partition. */
export const TRANSACTION_LIMIT = 100;
const PAGE_SIZE = 1000;
const PARALLEL_TRANSACTIONS = 8;

type Key = { partitionKey: string; rowKey: string };

/**
 * One row to delete and the rows of its partition that go in the same transaction (its index rows); with an
 * etag, a delete of the row alone is made only while it is still at the version read.
 */
type Doomed = { key: Key; etag?: string; companions: Key[] };

/** What `purgeWhere` reads besides the keys, and the index rows each match takes with it. */
export interface PurgeCompanions {
  select: string[];
  of: (entity: Record<string, unknown> & Key) => Key[];
}

/**
 * Deletes what `filter` selects (expired keys only), a page at a time, with each row's `companions` in its transaction;
 * stops after `budget` and resumes on the next call (docs/operations.md, The status index).
 */
export async function purgeWhere(table: TableClient, filter: string, budget: number, companions?: PurgeCompanions): Promise<PurgeResult> {
  let deleted = 0;
  let requests = 0;
  const select = ['PartitionKey', 'RowKey', ...(companions?.select ?? [])];
  const pages = table.listEntities<Record<string, unknown> & Key>({ queryOptions: { filter, select } }).byPage({ maxPageSize: PAGE_SIZE });
  for await (const page of pages) {
    requests += 1;
    const doomed = page.map(
      (entity): Doomed => ({
        key: { partitionKey: entity.partitionKey, rowKey: entity.rowKey },
        ...(companions && typeof entity.etag === 'string' ? { etag: entity.etag } : {}),
        companions: companions?.of(entity) ?? [],
      }),
    );
    const allowed: Doomed[][] = [];
    let planned = deleted;
    for (const chunk of chunkByPartition(doomed)) {
      const part: Doomed[] = [];
      for (const item of chunk) {
        if (planned + 1 + item.companions.length > budget) break;
        part.push(item);
        planned += 1 + item.companions.length;
      }
      if (part.length > 0) allowed.push(part);
      if (part.length < chunk.length) break;
    }
    for (let start = 0; start < allowed.length; start += PARALLEL_TRANSACTIONS) {
      const counts = await Promise.all(allowed.slice(start, start + PARALLEL_TRANSACTIONS).map((chunk) => deleteChunk(table, chunk)));
      for (const count of counts) {
        requests += count.requests;
        deleted += count.deleted;
      }
    }
    if (deleted >= budget || allowed.flat().length < doomed.length) return { deleted, requests, done: false };
  }
  return { deleted, requests, done: true };
}

/** Whether anything matches `filter` (one request, at most one key read). */
export async function anyWhere(table: TableClient, filter: string): Promise<boolean> {
  const pages = table.listEntities<Key>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: 1 });
  for await (const page of pages) return page.length > 0;
  return false;
}

/** Items in order, in chunks of at most TRANSACTION_LIMIT operations, an item taking `size` of them. */
function chunkOperations<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let used = 0;
  for (const item of items) {
    if (chunk.length > 0 && used + size(item) > TRANSACTION_LIMIT) {
      chunks.push(chunk);
      chunk = [];
      used = 0;
    }
    chunk.push(item);
    used += size(item);
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

/** Items grouped by partition (in order of first appearance), each group in chunks that fit one transaction. */
export function transactionChunks<T>(items: readonly T[], partitionOf: (item: T) => string, size: (item: T) => number = () => 1): T[][] {
  const byPartition = new Map<string, T[]>();
  for (const item of items) {
    const group = byPartition.get(partitionOf(item));
    if (group) group.push(item);
    else byPartition.set(partitionOf(item), [item]);
  }
  return [...byPartition.values()].flatMap((group) => chunkOperations(group, size));
}

/** Rows by partition, in chunks whose rows and companions fill at most one transaction each. */
const chunkByPartition = (items: readonly Doomed[]): Doomed[][] => transactionChunks(items, (item) => item.key.partitionKey, (item) => 1 + item.companions.length);

const keysOf = (item: Doomed): Key[] => [item.key, ...item.companions];

/** An item's deletes. A transaction cannot make a delete conditional, so the companions are its guard. */
const deletesOf = (item: Doomed): TransactionAction[] => keysOf(item).map((key): TransactionAction => ['delete', key]);

/**
 * One transaction; if another writer got there first (another run deleted a row, or a row changed since it was
 * read), each item goes again on its own (see `deleteItem`).
 */
async function deleteChunk(table: TableClient, chunk: readonly Doomed[]): Promise<{ deleted: number; requests: number }> {
  const actions = chunk.flatMap(deletesOf);
  try {
    const [only] = chunk;
    if (actions.length === 1 && only) await table.deleteEntity(only.key.partitionKey, only.key.rowKey, only.etag ? { etag: only.etag } : {});
    else await table.submitTransaction(actions);
    return { deleted: actions.length, requests: 1 };
  } catch (error) {
    if (!isNotFound(error) && !isPreconditionFailed(error)) throw error;
  }
  let deleted = 0;
  let requests = 1;
  for (const item of chunk) {
    const count = await deleteItem(table, item);
    deleted += count.deleted;
    requests += count.requests;
  }
  return { deleted, requests };
}

/** One row after its chunk failed: changed rows stay for the next run; no step leaves an index row or record alone. */
async function deleteItem(table: TableClient, item: Doomed): Promise<{ deleted: number; requests: number }> {
  let requests = 0;
  const attempt = async (run: () => Promise<unknown>): Promise<'done' | 'missing' | 'changed'> => {
    requests += 1;
    try {
      await run();
      return 'done';
    } catch (error) {
      if (isNotFound(error)) return 'missing';
      if (isPreconditionFailed(error)) return 'changed';
      throw error;
    }
  };
  if (item.companions.length > 0) {
    const together = await attempt(() => table.submitTransaction(deletesOf(item)));
    if (together === 'done') return { deleted: 1 + item.companions.length, requests };
    if (together === 'changed') return { deleted: 0, requests };
  }
  const alone = await attempt(() => table.deleteEntity(item.key.partitionKey, item.key.rowKey, item.etag ? { etag: item.etag } : {}));
  if (alone === 'changed') return { deleted: 0, requests };
  let deleted = alone === 'done' ? 1 : 0;
  if (alone === 'missing') {
    for (const key of item.companions) if ((await attempt(() => table.deleteEntity(key.partitionKey, key.rowKey))) === 'done') deleted += 1;
  }
  return { deleted, requests };
}
