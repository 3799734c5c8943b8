import { createHash, randomBytes } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { dayKeyOf, invertedTimestamp } from './key-encoding.js';
import { purgeWhere, transactionChunks, type PurgeResult } from './purge.js';
import type { AuditEntry, AuditLog } from '../webhooks/audit-log.js';

/**
 * The partition of the entries of one append: their UTC day and a shard, one hex digit hashed from the first
 * entry (`20261128_a`). A day spreads over 16 partitions (a Table partition takes about 2,000 entities a
 * second), while the entries of one call, say the fan-out of one event to ten webhooks, share a partition and
 * go in as one transaction. A day is read as the key range `20261128_` to `20261128~`.
 */
export const auditPartitionOf = (timestamp: number, shardKey: string): string =>
  `${dayKeyOf(timestamp)}_${createHash('sha256').update(shardKey).digest('hex').slice(0, 1)}`;

/** The audit table, newest first within each partition; each call costs a request per day and hundred entries. */
export class TableAuditLog implements AuditLog {
  constructor(private readonly table: TableClient) {}

  async append(entries: readonly AuditEntry[]): Promise<void> {
    const first = entries[0];
    if (!first) return;
    const shardKey = `${first.webhookId}|${first.timestamp}`;
    const actions = entries.map((entry): TransactionAction => {
      const entity = {
        partitionKey: auditPartitionOf(entry.timestamp, shardKey),
        rowKey: `${invertedTimestamp(entry.timestamp)}_${randomBytes(6).toString('hex')}`,
        Timestamp_ms: entry.timestamp,
        Principal: entry.principal,
        ...(entry.grant !== undefined ? { Grant: entry.grant } : {}),
        Action: entry.action,
        WebhookId: entry.webhookId,
        Target: JSON.stringify(entry.target),
        Details: JSON.stringify(entry.details ?? {}),
      };
      return ['create', entity];
    });
    const chunks = transactionChunks(actions, ([, entity]) => entity.partitionKey);
    await Promise.all(chunks.map((chunk) => (chunk.length === 1 && chunk[0] ? this.table.createEntity(chunk[0][1]) : this.table.submitTransaction(chunk))));
  }

  /** Deletes the entries of every UTC day before the cutoff's: whole partitions, read as one key range. */
  purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    return purgeWhere(this.table, odata`PartitionKey lt ${dayKeyOf(cutoff)}`, budget);
  }
}
