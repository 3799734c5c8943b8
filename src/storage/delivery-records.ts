import type { TableClient, TransactionAction } from '@azure/data-tables';
import type { Delivery } from '../pipeline/delivery.js';
import type { CreateResult } from '../pipeline/delivery-store.js';
import { mapWithLimit } from '../shared/limit.js';
import type { Versioned } from '../webhooks/webhook-store.js';
import type { DayIndex } from './day-index.js';
import { fromEntity, idOf, keysOf, toEntity, type DeliveryEntity, type IndexEntity } from './delivery-entity.js';
import { transactionChunks } from './purge.js';
import { isConflict, isNotFound, isPreconditionFailed, readOrUndefined } from './rest-errors.js';
import { indexedOf, indexRowKey, parseIndexedVersion, indexedVersion, type IndexedStatus } from './status-index.js';
import { PartitionBatcher } from './partition-batcher.js';

function indexEntityOf(record: DeliveryEntity, status: IndexedStatus): IndexEntity {
  const { Payload: _payload, Indexed: _indexed, ...summary } = record;
  return { ...summary, rowKey: indexRowKey(status, record.rowKey) };
}

/** The operations that write one record: the record, then its index row written or removed with it. */
interface RecordWrite {
  record: DeliveryEntity;
  /** Its position in the caller's input. */
  index: number;
  /** The rest of the transaction: the index row upserted, the index row of its previous status deleted. */
  companions: TransactionAction[];
}

const indexUpsert = (record: DeliveryEntity): TransactionAction[] => (record.Indexed ? [['upsert', indexEntityOf(record, record.Indexed), 'Replace']] : []);
const indexDelete = (record: DeliveryEntity, previous: IndexedStatus | undefined): TransactionAction[] =>
  previous && previous !== record.Indexed ? [['delete', { partitionKey: record.partitionKey, rowKey: indexRowKey(previous, record.rowKey) }]] : [];

/** Storage requests one store call keeps in flight when it falls back to one request per record. */
const STORAGE_CONCURRENCY = 8;

/**
 * Reads and writes delivery records, each with its status-index row in the same transaction, and notes their
 * days in the day index.
 */
export class DeliveryRecords {
  /** Every write of a record goes through it, so concurrent writes to one webhook's partition share requests. */
  private readonly batcher: PartitionBatcher;

  constructor(
    private readonly table: TableClient,
    private readonly days: DayIndex,
  ) {
    this.batcher = new PartitionBatcher(table);
  }

  async get(id: string): Promise<Versioned<Delivery> | undefined> {
    const key = keysOf(id);
    if (!key) return undefined;
    const entity = await readOrUndefined(() => this.table.getEntity<DeliveryEntity>(key.partitionKey, key.rowKey));
    return entity ? { value: fromEntity(entity), etag: indexedVersion(entity.etag, indexedOf(entity.Indexed)) } : undefined;
  }

  /**
   * One transaction per webhook and hundred operations (a record and its index row are two); a transaction
   * that meets an existing row is redone record by record.
   */
  async create(deliveries: readonly Delivery[]): Promise<CreateResult[]> {
    const oldDays = await this.days.indexDays(deliveries);
    const results = new Array<CreateResult>(deliveries.length);
    const writes = deliveries.map((delivery, index): RecordWrite => {
      const record = toEntity(delivery);
      return { record, index, companions: indexUpsert(record) };
    });
    await mapWithLimit(transactionGroups(writes), STORAGE_CONCURRENCY, async (group) => {
      if (operationCount(group) > 1) {
        try {
          const { actions, positions } = actionsOf(group, (write) => ['create', write.record]);
          const subResponses = await this.batcher.submit(actions);
          await Promise.all(
            group.map(async (write, n) => {
              const etag = etagOf(subResponses, write.record.rowKey, positions[n] ?? 0) ?? (await this.etagNow(write.record));
              results[write.index] = { created: true, etag: indexedVersion(etag, write.record.Indexed) };
            }),
          );
          return;
        } catch (error) {
          if (!isConflict(error)) throw error;
        }
      }
      await mapWithLimit(group, STORAGE_CONCURRENCY, async (write) => {
        results[write.index] = await this.createOne(write);
      });
    });
    await this.days.rewriteDays(oldDays);
    return results;
  }

  /** The current etag of a row just written, for a service that did not answer it. */
  private async etagNow(entity: DeliveryEntity): Promise<string> {
    return (await this.table.getEntity(entity.partitionKey, entity.rowKey)).etag;
  }

  private async createOne(write: RecordWrite): Promise<CreateResult> {
    const { record } = write;
    for (let tries = 0; ; tries += 1) {
      try {
        const subResponses = await this.batcher.submit([['create', record], ...write.companions]);
        return { created: true, etag: indexedVersion(etagOf(subResponses, record.rowKey, 0) ?? (await this.etagNow(record)), record.Indexed) };
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
      const existing = await this.get(idOf(record));
      if (existing) return { created: false, existing };
      if (tries > 2) throw new Error(`delivery ${record.rowKey} kept appearing and vanishing`);
    }
  }


  /**
   * Unconditional bulk writes, for seeding and maintenance (never for attempts, which are claimed): each
   * record with its index row. For records not stored yet, or stored with the same status.
   */
  async putAll(deliveries: readonly Delivery[]): Promise<void> {
    const oldDays = await this.days.indexDays(deliveries);
    const writes = deliveries.map((delivery, index): RecordWrite => {
      const record = toEntity(delivery);
      return { record, index, companions: indexUpsert(record) };
    });
    await mapWithLimit(transactionGroups(writes), STORAGE_CONCURRENCY, (group) => this.table.submitTransaction(actionsOf(group, (write) => ['upsert', write.record, 'Replace']).actions));
    await this.days.rewriteDays(oldDays);
  }

  /**
   * One transaction per webhook and hundred operations: each record at its version, with its index row
   * written (an indexed status) or removed (it left one), so a record and its index never disagree.
   */
  async replace(updates: readonly Versioned<Delivery>[]): Promise<(string | undefined)[]> {
    const results = Array.from({ length: updates.length }, (): string | undefined => undefined);
    // A version with no etag (or the wildcard) names no version: storage would take it as "any", and write
    // over whatever is there. It loses, as a stale one does.
    const writes = updates.flatMap((update, index): (RecordWrite & { etag: string })[] => {
      const record = toEntity(update.value);
      const previous = parseIndexedVersion(update.etag);
      if (previous.etag === '' || previous.etag === '*') return [];
      return [{ record, index, etag: previous.etag, companions: [...indexUpsert(record), ...indexDelete(record, previous.indexed)] }];
    });
    const update = (write: RecordWrite & { etag: string }): TransactionAction => ['update', write.record, 'Replace', { etag: write.etag }];
    await mapWithLimit(transactionGroups(writes), STORAGE_CONCURRENCY, async (group) => {
      if (group.length > 1) {
        try {
          const { actions, positions } = actionsOf(group, update);
          const subResponses = await this.batcher.submit(actions);
          await Promise.all(
            group.map(async (write, n) => {
              const etag = etagOf(subResponses, write.record.rowKey, positions[n] ?? 0) ?? (await this.etagNow(write.record));
              results[write.index] = indexedVersion(etag, write.record.Indexed);
            }),
          );
          return;
        } catch (error) {
          if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
        }
      }
      await mapWithLimit(group, STORAGE_CONCURRENCY, async (write) => {
        results[write.index] = await this.replaceOne(write, update);
      });
    });
    return results;
  }

  /**
   * One record of `replace` on its own. On a 404 (record and index out of step) the record is written at its version
   * without the index delete, which puts them back in step instead of failing every later write to it.
   */
  private async replaceOne(write: RecordWrite & { etag: string }, update: (write: RecordWrite & { etag: string }) => TransactionAction): Promise<string | undefined> {
    const attempt = async (companions: readonly TransactionAction[]): Promise<string | undefined> => {
      try {
        const etag = etagOf(await this.batcher.submit([update(write), ...companions]), write.record.rowKey, 0);
        return indexedVersion(etag ?? (await this.etagNow(write.record)), write.record.Indexed);
      } catch (error) {
        if (isNotFound(error) && companions.some(([kind]) => kind === 'delete')) return attempt(companions.filter(([kind]) => kind !== 'delete'));
        if (!isPreconditionFailed(error) && !isNotFound(error)) throw error;
        return undefined;
      }
    };
    return attempt(write.companions);
  }
}

const operationCount = (group: readonly RecordWrite[]): number => group.reduce((sum, write) => sum + 1 + write.companions.length, 0);

/** A group's transaction: each record's own action, then its companions; and where each record's action sits. */
function actionsOf<W extends RecordWrite>(group: readonly W[], own: (write: W) => TransactionAction): { actions: TransactionAction[]; positions: number[] } {
  const actions: TransactionAction[] = [];
  const positions: number[] = [];
  for (const write of group) {
    positions.push(actions.length);
    actions.push(own(write), ...write.companions);
  }
  return { actions, positions };
}

/** Writes grouped for transactions: one partition (webhook) each, at most TRANSACTION_LIMIT operations. */
const transactionGroups = <W extends RecordWrite>(writes: readonly W[]): W[][] =>
  transactionChunks(writes, (write) => write.record.partitionKey, (write) => 1 + write.companions.length);

/** A transaction's etag of one entity: by row key (creates), else by position (updates answer none). */
function etagOf(subResponses: readonly { rowKey?: string; etag?: string }[], rowKey: string, position: number): string | undefined {
  return subResponses.find((sub) => sub.rowKey === rowKey)?.etag ?? (subResponses[position]?.rowKey === undefined ? subResponses[position]?.etag : undefined);
}
