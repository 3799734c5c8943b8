import type { TableClient } from '@azure/data-tables';
import type { SharedRateSlots } from '../pipeline/rate-slots.js';
import { isConflict, isPreconditionFailed, readOrUndefined } from './rest-errors.js';

interface RateSlotEntity {
  partitionKey: string;
  rowKey: string;
  /** When the webhook's next send slot is free (ms since the epoch). */
  FreeAt: number;
}

const ATTEMPTS = 10;
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A webhook's send slots in one row of the `rateslots` table, booked by a write at the row's ETag. */
export class TableRateSlots implements SharedRateSlots {
  constructor(private readonly table: TableClient) {}

  async reserve(webhookId: string, intervalMs: number, count: number, now: number): Promise<number> {
    for (let attempt = 1; ; attempt += 1) {
      const row = await readOrUndefined(() => this.table.getEntity<RateSlotEntity>(webhookId, ''));
      const first = Math.max(now, typeof row?.FreeAt === 'number' ? row.FreeAt : 0);
      const next: RateSlotEntity = { partitionKey: webhookId, rowKey: '', FreeAt: first + count * intervalMs };
      try {
        if (row) await this.table.updateEntity(next, 'Replace', { etag: row.etag });
        else await this.table.createEntity(next);
        return first;
      } catch (error) {
        if (!(isPreconditionFailed(error) || isConflict(error)) || attempt >= ATTEMPTS) throw error;
        await pause(Math.random() * 10 * attempt);
      }
    }
  }
}
