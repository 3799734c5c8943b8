import { randomBytes } from 'node:crypto';
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { invertedTimestamp } from './key-encoding.js';

export type AuditAction = 'create' | 'update' | 'delete' | 'test' | 'deliver' | 'redeliver' | 'disable';

/** One audited act. It names the target (URL or job) but never holds a secret, token or authorization value. */
export interface AuditEntry {
  timestamp: number;
  principal: string;
  action: AuditAction;
  webhookId: string;
  target: Record<string, string | boolean>;
  details?: Record<string, string | number | boolean>;
}

export interface AuditLog {
  append(entries: readonly AuditEntry[]): Promise<void>;
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
const BATCH = 100;

/**
 * The audit table, one partition a UTC day (`20261128`), newest first within it. Entries of one call go in
 * as transactions of up to 100, so a fan-out to many webhooks costs one request per day and hundred.
 */
export class TableAuditLog implements AuditLog {
  constructor(private readonly table: TableClient) {}

  async append(entries: readonly AuditEntry[]): Promise<void> {
    const byDay = new Map<string, TransactionAction[]>();
    for (const entry of entries) {
      const day = dayOf(entry.timestamp);
      const entity = {
        partitionKey: day,
        rowKey: `${invertedTimestamp(entry.timestamp)}_${randomBytes(6).toString('hex')}`,
        Timestamp_ms: entry.timestamp,
        Principal: entry.principal,
        Action: entry.action,
        WebhookId: entry.webhookId,
        Target: JSON.stringify(entry.target),
        Details: JSON.stringify(entry.details ?? {}),
      };
      byDay.set(day, [...(byDay.get(day) ?? []), ['create', entity]]);
    }
    for (const actions of byDay.values()) {
      for (let start = 0; start < actions.length; start += BATCH) {
        const chunk = actions.slice(start, start + BATCH);
        if (chunk.length === 1 && chunk[0]) await this.table.createEntity(chunk[0][1]);
        else await this.table.submitTransaction(chunk);
      }
    }
  }
}
