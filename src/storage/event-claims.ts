import { odata, type TableClient } from '@azure/data-tables';
import { sha256Hex } from '../shared/ids.js';
import { dayKeyOf } from './key-encoding.js';
import { purgeWhere, type PurgeResult } from './purge.js';
import { DEDUP_WINDOW_MS, EVENT_CLAIM_LEASE_MS, judgeClaim, type ClaimAnswer, type EventClaims } from '../pipeline/event-claims.js';
import { isConflict, isPreconditionFailed, readOrUndefined } from './rest-errors.js';

interface ClaimEntity {
  partitionKey: string;
  rowKey: string;
  EventId: string;
  Claimant: string;
  ExpiresAt: number;
  FinishedAt?: number;
}

/**
 * Claims are partitioned by UTC day and shard: an id is looked for in yesterday's partition and claimed in today's,
 * so it is seen for its whole 24 h and older partitions can be dropped.
 */
export class TableEventClaims implements EventClaims {
  constructor(private readonly table: TableClient) {}

  async claim(eventId: string, claimant: string, now: number): Promise<ClaimAnswer> {
    const hash = sha256Hex(eventId).slice(0, 40);
    const shard = hash.slice(0, 1);
    const earlier = await readOrUndefined(() => this.table.getEntity<ClaimEntity>(`${dayKeyOf(now - DEDUP_WINDOW_MS)}_${shard}`, hash));
    const judged = earlier ? judgeClaim(earlier, claimant, now) : 'take';
    if (judged !== 'take') return judged;
    const entity: ClaimEntity = { partitionKey: `${dayKeyOf(now)}_${shard}`, rowKey: hash, EventId: eventId, Claimant: claimant, ExpiresAt: now + EVENT_CLAIM_LEASE_MS };
    for (let tries = 0; tries < 3; tries += 1) {
      const existing = await readOrUndefined(() => this.table.getEntity<ClaimEntity>(entity.partitionKey, entity.rowKey));
      try {
        if (!existing) {
          await this.table.createEntity(entity);
          return { kind: 'mine' };
        }
        const answer = judgeClaim(existing, claimant, now);
        if (answer !== 'take') return answer;
        await this.table.updateEntity(entity, 'Replace', { etag: existing.etag });
        return { kind: 'mine' };
      } catch (error) {
        if (!isConflict(error) && !isPreconditionFailed(error)) throw error;
      }
    }
    return { kind: 'held', until: now + 1000 };
  }

  async finish(eventId: string, claimant: string, now: number): Promise<void> {
    const hash = sha256Hex(eventId).slice(0, 40);
    const entity: ClaimEntity = { partitionKey: `${dayKeyOf(now)}_${hash.slice(0, 1)}`, rowKey: hash, EventId: eventId, Claimant: claimant, ExpiresAt: now, FinishedAt: now };
    await this.table.upsertEntity(entity, 'Replace');
  }

  /** Deletes the claims of every UTC day before the cutoff's (the cutoff is now less the dedup window). */
  purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    return purgeWhere(this.table, odata`PartitionKey lt ${dayKeyOf(cutoff)}`, budget);
  }
}
