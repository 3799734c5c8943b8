import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { PurgeResult } from '../pipeline/retention.js';
import { isNotFound } from './rest-errors.js';

export type { PurgeResult };

export const NOTHING_PURGED: PurgeResult = { deleted: 0, requests: 0, done: true };

export const addPurges = (a: PurgeResult, b: PurgeResult): PurgeResult => ({ deleted: a.deleted + b.deleted, requests: a.requests + b.requests, done: a.done && b.done });

/** Entity-group transactions hold at most 100 operations, all in one partition. */
export const TRANSACTION_LIMIT = 100;
const PAGE_SIZE = 1000;
const PARALLEL_TRANSACTIONS = 8;

type Key = { partitionKey: string; rowKey: string };

/**
 * Deletes what `filter` selects (a key range: the caller's filter must name only expired keys), reading keys
 * only, a page at a time, and deleting each page in transactions of up to 100 per partition. Stops once
 * `budget` entities are deleted; calling it again resumes, since what is gone no longer matches.
 */
export async function purgeWhere(table: TableClient, filter: string, budget: number): Promise<PurgeResult> {
  let deleted = 0;
  let requests = 0;
  const pages = table.listEntities<Key>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: PAGE_SIZE });
  for await (const page of pages) {
    requests += 1;
    const chunks = chunkByPartition(page.map((entity) => ({ partitionKey: entity.partitionKey, rowKey: entity.rowKey }))).slice(0);
    const allowed: Key[][] = [];
    let planned = deleted;
    for (const chunk of chunks) {
      if (planned >= budget) break;
      const part = chunk.slice(0, budget - planned);
      allowed.push(part);
      planned += part.length;
    }
    for (let start = 0; start < allowed.length; start += PARALLEL_TRANSACTIONS) {
      const counts = await Promise.all(allowed.slice(start, start + PARALLEL_TRANSACTIONS).map((chunk) => deleteChunk(table, chunk)));
      for (const count of counts) {
        requests += count.requests;
        deleted += count.deleted;
      }
    }
    if (deleted >= budget) return { deleted, requests, done: false };
  }
  return { deleted, requests, done: true };
}

/** Whether anything matches `filter` (one request, at most one key read). */
export async function anyWhere(table: TableClient, filter: string): Promise<boolean> {
  const pages = table.listEntities<Key>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: 1 });
  for await (const page of pages) return page.length > 0;
  return false;
}

function chunkByPartition(keys: readonly Key[]): Key[][] {
  const byPartition = new Map<string, Key[]>();
  for (const key of keys) byPartition.set(key.partitionKey, [...(byPartition.get(key.partitionKey) ?? []), key]);
  return [...byPartition.values()].flatMap((partition) => {
    const chunks: Key[][] = [];
    for (let start = 0; start < partition.length; start += TRANSACTION_LIMIT) chunks.push(partition.slice(start, start + TRANSACTION_LIMIT));
    return chunks;
  });
}

/** One transaction; if another run deleted one of its entities first, the rest are deleted one by one. */
async function deleteChunk(table: TableClient, chunk: readonly Key[]): Promise<{ deleted: number; requests: number }> {
  try {
    if (chunk.length === 1 && chunk[0]) await table.deleteEntity(chunk[0].partitionKey, chunk[0].rowKey);
    else await table.submitTransaction(chunk.map((key): TransactionAction => ['delete', key]));
    return { deleted: chunk.length, requests: 1 };
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  let deleted = 0;
  for (const key of chunk) {
    try {
      await table.deleteEntity(key.partitionKey, key.rowKey);
      deleted += 1;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return { deleted, requests: 1 + chunk.length };
}
