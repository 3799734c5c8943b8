import { createHash, randomBytes } from 'node:crypto';
import { odata, type TableClient, type TransactionAction } from '@azure/data-tables';
import { dayKeyOf, invertedTimestamp } from './key-encoding.js';
import { purgeWhere, transactionChunks, type PurgeResult } from './purge.js';
import type { AuditEntry, AuditLog } from '../webhooks/audit-log.js';
import { definedOnly } from '../shared/defined.js';

/**
 * An append's partition: its UTC day and a hex shard of the first entry (`20261128_a`), so a day spreads over 16
 * partitions while one call's entries share one transaction.
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
        ...definedOnly({ Grant: entry.grant }),
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
