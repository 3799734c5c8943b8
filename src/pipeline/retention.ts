import type { Clock } from '../shared/ids.js';
import type { Logger } from '../telemetry/logger.js';

/** What one purge did: entities deleted, storage requests made, and whether its expired range is now empty. */
export interface PurgeResult {
  deleted: number;
  requests: number;
  done: boolean;
}

/** A store that can delete what is older than a time, reading only the expired key range. */
export interface Purgeable {
  purgeBefore(cutoff: number, budget: number): Promise<PurgeResult>;
}

export interface RetentionDeps {
  deliveries: Purgeable;
  audit: Purgeable;
  claims: Purgeable;
  clock: Clock;
  deliveryRetentionMs: number;
  auditRetentionMs: number;
  /** How long an event claim is needed (the dedup window). */
  claimWindowMs: number;
  /** Most entities deleted per table and run; the next run resumes. */
  budgetPerTable: number;
  log: Logger;
}

/** Deletions per table and run: about 1,000 requests, a few minutes at most, well inside a timer's timeout. */
export const DEFAULT_RETENTION_BUDGET = 100_000;

export type RetentionReport = Record<'deliveries' | 'claims' | 'audit', PurgeResult>;

/** One retention run over delivery records, event claims and audit entries; bounded, and the next run finishes (docs/operations.md). */
export async function runRetention(deps: RetentionDeps): Promise<RetentionReport> {
  const now = deps.clock();
  const report: RetentionReport = {
    deliveries: await deps.deliveries.purgeBefore(now - deps.deliveryRetentionMs, deps.budgetPerTable),
    claims: await deps.claims.purgeBefore(now - deps.claimWindowMs, deps.budgetPerTable),
    audit: await deps.audit.purgeBefore(now - deps.auditRetentionMs, deps.budgetPerTable),
  };
  const summary = Object.entries(report)
    .map(([table, result]) => `${table}: ${result.deleted} deleted in ${result.requests} requests${result.done ? '' : ' (more left for the next run)'}`)
    .join('; ');
  deps.log.info(`retention: ${summary}`);
  return report;
}
