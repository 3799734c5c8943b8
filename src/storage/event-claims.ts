import type { TableClient } from '@azure/data-tables';
import { sha256Hex } from '../ids.js';
import { isConflict, isPreconditionFailed } from './rest-errors.js';

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

export class TableEventClaims implements EventClaims {
  constructor(private readonly table: TableClient) {}

  async claim(eventId: string, claimant: string, now: number): Promise<boolean> {
    const entity: ClaimEntity = { partitionKey: sha256Hex(eventId).slice(0, 40), rowKey: '', EventId: eventId, Claimant: claimant, ClaimedAt: now };
    try {
      await this.table.createEntity(entity);
      return true;
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    const existing = await this.table.getEntity<ClaimEntity>(entity.partitionKey, '');
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
}
