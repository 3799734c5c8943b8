import { odata, type TableClient } from '@azure/data-tables';
import { sha256Hex } from '../ids.js';
import { dayKeyOf } from './key-encoding.js';
import { purgeWhere, type PurgeResult } from './purge.js';
import { isConflict, isPreconditionFailed, readOrUndefined } from './rest-errors.js';

export const DEDUP_WINDOW_MS = 24 * 3_600_000;

/**
 * Who first processed an event id. Re-publishing an event id within 24 h is dropped; the same queue message
 * processed again (after a crash or a failed attempt) keeps its claim, so a retry is never mistaken for a
 * duplicate.
 */
export interface EventClaims {
  /** True when this claimant may process the event. */
  claim(eventId: string, claimant: string, now: number): Promise<boolean>;
}

interface ClaimEntity {
  partitionKey: string;
  rowKey: string;
  EventId: string;
  Claimant: string;
  ClaimedAt: number;
}

/**
 * Claims are partitioned by the UTC day they were made and a shard (`20261128_a`), the row key a hash of the
 * event id. An id is looked for in yesterday's partition (one read) and claimed in today's, so a claim is
 * seen for its whole 24 h; retention then drops every partition older than yesterday, a key range.
 */
export class TableEventClaims implements EventClaims {
  constructor(private readonly table: TableClient) {}

  async claim(eventId: string, claimant: string, now: number): Promise<boolean> {
    const hash = sha256Hex(eventId).slice(0, 40);
    const shard = hash.slice(0, 1);
    const earlier = await readOrUndefined(() => this.table.getEntity<ClaimEntity>(`${dayKeyOf(now - DEDUP_WINDOW_MS)}_${shard}`, hash));
    if (earlier && now - earlier.ClaimedAt < DEDUP_WINDOW_MS) return earlier.Claimant === claimant;
    const entity: ClaimEntity = { partitionKey: `${dayKeyOf(now)}_${shard}`, rowKey: hash, EventId: eventId, Claimant: claimant, ClaimedAt: now };
    try {
      await this.table.createEntity(entity);
      return true;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    const existing = await this.table.getEntity<ClaimEntity>(entity.partitionKey, entity.rowKey);
    if (existing.Claimant === claimant) return true;
    if (now - existing.ClaimedAt < DEDUP_WINDOW_MS) return false;
    try {
      await this.table.updateEntity(entity, 'Replace', { etag: existing.etag });
      return true;
    } catch (error) {
      if (isPreconditionFailed(error)) return false;
      throw error;
    }
  }

  /** Deletes the claims of every UTC day before the cutoff's (the cutoff is now less the dedup window). */
  purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    return purgeWhere(this.table, odata`PartitionKey lt ${dayKeyOf(cutoff)}`, budget);
  }
}
