import { odata, type TableClient, type TableEntityResult, type TransactionAction } from '@azure/data-tables';
import type { ServiceDisable, Webhook, WebhookStatus } from '../webhooks/webhook.js';
import { fromWebhookEntity, sealContext, SEALED_FIELDS, serviceDisableFields, toWebhookEntity, type Opener, type SealedField, type Sealer, type WebhookEntity } from './webhook-entity.js';
import { scopeKeyOf } from './key-encoding.js';
import { cursorOf, encodePageToken, type Cursor } from './page-token.js';
import { readUpTo } from './read-up-to.js';
import { isConflict, isNotFound, isPreconditionFailed, readOrUndefined } from './rest-errors.js';
import type { SecretBox } from './secret-box.js';
import { ConcurrentUpdateError, matchesQuery, ScopeFullError, type ScopePage, type Versioned, type WebhookPage, type WebhookQuery, type WebhookStore } from '../webhooks/webhook-store.js';
import { errorMessage } from '../shared/errors.js';

interface IdIndexEntity {
  partitionKey: string;
  rowKey: string;
  Scope: string;
}

/**
 * A scope's counter row (sorts after every id). Inserts and removes change it in the webhook row's transaction, at
 * its ETag: that holds the per-scope cap across instances.
 */
export const COUNTER_ROW = '~count';

type CounterEntity = {
  partitionKey: string;
  rowKey: string;
  Count: number;
};

/** Attempts of one insert or remove against concurrent writers of the same scope, before giving up. */
const COUNTER_ATTEMPTS = 20;

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));


/**
 * Webhooks in Table Storage. `webhooks` is partitioned by scope (a model's encoded name, or registry-wide);
 * `webhookids` maps an id to its partition, because update, delete and test arrive with the id alone.
 */
export interface TableWebhookStoreOptions {
  /**
   * Written once into job webhooks stored before each kept its own workspace URL, when they are first read,
   * so that a later change of the setting never sends their token elsewhere.
   */
  defaultWorkspaceUrl?: string | undefined;
  /**
   * Told about each row that cannot be read (a secret no configured key opens, a field that does not parse).
   * Such a row is skipped wherever rows are read, so it never fails the reading of the others.
   */
  onUnreadable?: (webhookId: string, reason: string) => void;
}

export class TableWebhookStore implements WebhookStore {
  constructor(
    private readonly webhooks: TableClient,
    private readonly ids: TableClient,
    private readonly box: SecretBox,
    private readonly options: TableWebhookStoreOptions = {},
  ) {}

  async insert(webhook: Webhook, maxInScope = Number.POSITIVE_INFINITY): Promise<void> {
    const scope = scopeKeyOf(webhook.modelName);
    // The index goes first: a webhook row is never unreachable by id. A crash in between leaves an index row
    // that points at nothing, which reads as "not found".
    await this.ids.upsertEntity<IdIndexEntity>({ partitionKey: webhook.id, rowKey: '', Scope: scope }, 'Replace');
    try {
      // Inserts of one scope in this instance queue up, so that only other instances contend for the counter.
      await this.oneAtATime(scope, () => this.insertCounted(scope, webhook, maxInScope));
    } catch (error) {
      await readOrUndefined(() => this.ids.deleteEntity(webhook.id, ''));
      throw error;
    }
  }

  private async insertCounted(scope: string, webhook: Webhook, maxInScope: number): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const counter = await readOrUndefined(() => this.webhooks.getEntity<CounterEntity>(scope, COUNTER_ROW));
      // A scope written before the counter existed is counted once, and the counter created from that.
      const count = counter ? counter.Count : await this.countPartition(scope);
      if (count >= maxInScope) throw new ScopeFullError(maxInScope);
      const next: CounterEntity = { partitionKey: scope, rowKey: COUNTER_ROW, Count: count + 1 };
      const actions: TransactionAction[] = [counter ? ['update', next, 'Replace', { etag: counter.etag }] : ['create', next], ['create', toWebhookEntity(webhook, this.sealerFor(webhook.id))]];
      try {
        await this.webhooks.submitTransaction(actions);
        return;
      } catch (error) {
        if (!(isPreconditionFailed(error) || isConflict(error)) || attempt >= COUNTER_ATTEMPTS) throw error instanceof Error && (isPreconditionFailed(error) || isConflict(error)) ? new ConcurrentUpdateError() : error;
        await pause(Math.random() * 20 * Math.min(attempt, 5));
      }
    }
  }

  private readonly queues = new Map<string, Promise<unknown>>();

  private oneAtATime<T>(key: string, run: () => Promise<T>): Promise<T> {
    const turn = (this.queues.get(key) ?? Promise.resolve()).catch(() => undefined).then(run);
    this.queues.set(key, turn);
    void turn
      .finally(() => {
        if (this.queues.get(key) === turn) this.queues.delete(key);
      })
      .catch(() => undefined);
    return turn;
  }

  async get(id: string): Promise<Versioned<Webhook> | undefined> {
    const index = await readOrUndefined(() => this.ids.getEntity<IdIndexEntity>(id, ''));
    if (!index) return undefined;
    const entity = await readOrUndefined(() => this.webhooks.getEntity<WebhookEntity>(index.Scope, id));
    return entity ? this.readOrSkip(entity) : undefined;
  }

  async replace(webhook: Webhook, etag: string): Promise<void> {
    try {
      await this.webhooks.updateEntity(toWebhookEntity(webhook, this.sealerFor(webhook.id)), 'Replace', { etag });
    } catch (error) {
      // Changed meanwhile, or deleted meanwhile: the caller reads it again (and finds it gone).
      if (isPreconditionFailed(error) || isNotFound(error)) throw new ConcurrentUpdateError();
      throw error;
    }
  }

  async setStatus(webhook: Webhook, status: WebhookStatus, now: number, options: { serviceDisabled?: ServiceDisable; etag?: string } = {}): Promise<boolean> {
    const patch = {
      partitionKey: scopeKeyOf(webhook.modelName),
      rowKey: webhook.id,
      Status: status,
      UpdatedAt: now,
      ...(options.serviceDisabled ? serviceDisableFields(options.serviceDisabled) : {}),
    };
    return this.mergeAt(patch, options.etag ?? '*');
  }

  setFailingSince(webhook: Webhook, failingSince: number | undefined, etag: string): Promise<boolean> {
    return this.mergeAt({ partitionKey: scopeKeyOf(webhook.modelName), rowKey: webhook.id, FailingSince: failingSince ?? 0 }, etag);
  }

  /** Merges fields into a row at a version; answers false if it was deleted (a 410 racing a delete) or changed meanwhile (that write stands). */
  private async mergeAt(patch: Partial<WebhookEntity> & Pick<WebhookEntity, 'partitionKey' | 'rowKey'>, etag: string): Promise<boolean> {
    try {
      await this.webhooks.updateEntity(patch, 'Merge', { etag });
      return true;
    } catch (error) {
      if (isNotFound(error) || isPreconditionFailed(error)) return false;
      throw error;
    }
  }

  /** Deletes the row and lowers its scope's counter in one transaction; removing a removed webhook frees nothing. */
  async remove(webhook: Webhook): Promise<void> {
    const scope = scopeKeyOf(webhook.modelName);
    for (let attempt = 1; ; attempt += 1) {
      const counter = await readOrUndefined(() => this.webhooks.getEntity<CounterEntity>(scope, COUNTER_ROW));
      try {
        if (!counter) await readOrUndefined(() => this.webhooks.deleteEntity(scope, webhook.id));
        else {
          const lowered: CounterEntity = { partitionKey: scope, rowKey: COUNTER_ROW, Count: Math.max(0, counter.Count - 1) };
          await this.webhooks.submitTransaction([
            ['delete', { partitionKey: scope, rowKey: webhook.id }],
            ['update', lowered, 'Replace', { etag: counter.etag }],
          ]);
        }
        break;
      } catch (error) {
        if (isNotFound(error)) break;
        if (!isPreconditionFailed(error) || attempt >= COUNTER_ATTEMPTS) throw error;
        await pause(Math.random() * 20 * Math.min(attempt, 5));
      }
    }
    await readOrUndefined(() => this.ids.deleteEntity(webhook.id, ''));
  }

  async list(query: WebhookQuery): Promise<WebhookPage> {
    const scope = query.model === undefined ? undefined : scopeKeyOf(query.model);
    const filter = keysetFilter(scope, cursorOf(query.pageToken, scope, 'another model'));
    const pages = this.webhooks.listEntities<WebhookEntity>({ queryOptions: filter ? { filter } : {} }).byPage({ maxPageSize: 1000 });
    // One more than the page, to know whether another follows.
    const found = await readUpTo(pages, query.limit + 1, async (entity) => {
      // Rows of models the listing does not cover are skipped before their secrets are opened.
      if (entity.rowKey === COUNTER_ROW || (query.models && !query.models(entity.ModelName))) return undefined;
      const webhook = (await this.readOrSkip(entity))?.value;
      return webhook && matchesQuery(webhook, query) ? webhook : undefined;
    });
    const webhooks = found.slice(0, query.limit);
    const last = webhooks[webhooks.length - 1];
    return { webhooks, ...(found.length > query.limit && last ? { nextPageToken: encodePageToken({ partition: scopeKeyOf(last.modelName), row: last.id }) } : {}) };
  }

  async listScope(modelName: string | undefined, status: WebhookStatus, page: ScopePage = {}, options: { withServiceDisabled?: boolean } = {}): Promise<Webhook[]> {
    const scope = scopeKeyOf(modelName);
    const after = page.after !== undefined ? odata` and RowKey gt ${page.after}` : '';
    const statuses = options.withServiceDisabled ? odata`(Status eq ${status} or (Status eq 'DISABLED' and DisabledBy eq 'service'))` : odata`Status eq ${status}`;
    const filter = `${odata`PartitionKey eq ${scope}`} and ${statuses}${after}`;
    const limit = page.limit ?? Infinity;
    const pages = this.webhooks.listEntities<WebhookEntity>({ queryOptions: { filter } }).byPage({ maxPageSize: Math.min(1000, limit) });
    return readUpTo(pages, limit, async (entity) => (await this.readOrSkip(entity))?.value);
  }

  countScope(modelName: string | undefined): Promise<number> {
    return this.countPartition(scopeKeyOf(modelName));
  }

  private async countPartition(scope: string): Promise<number> {
    let count = 0;
    const filter = odata`PartitionKey eq ${scope}`;
    for await (const entity of this.webhooks.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) if (entity.rowKey !== COUNTER_ROW) count += 1;
    return count;
  }

  /** Re-seals secrets sealed with an old key, each row only if unchanged, so it is safe to re-run beside live traffic. */
  async resealSecrets(): Promise<{ scanned: number; resealed: number; unreadable: string[] }> {
    let scanned = 0;
    let resealed = 0;
    const unreadable: string[] = [];
    for await (const entity of this.webhooks.listEntities<WebhookEntity>()) {
      if (entity.rowKey === COUNTER_ROW) continue;
      scanned += 1;
      const patch: Partial<Record<SealedField, string>> = {};
      try {
        for (const field of SEALED_FIELDS) {
          const sealed = entity[field];
          if (sealed && this.box.isStale(sealed)) {
            patch[field] = this.box.seal(this.box.open(sealed, sealContext(entity.rowKey, field)), sealContext(entity.rowKey, field));
          }
        }
      } catch {
        unreadable.push(entity.rowKey);
        continue;
      }
      if (Object.keys(patch).length === 0) continue;
      try {
        await this.webhooks.updateEntity({ partitionKey: entity.partitionKey, rowKey: entity.rowKey, ...patch }, 'Merge', { etag: entity.etag });
        resealed += 1;
      } catch (error) {
        // Changed meanwhile: the writer sealed with the current key already.
        if (!isPreconditionFailed(error)) throw error;
      }
    }
    return { scanned, resealed, unreadable };
  }

  /** The ids of every row that cannot be read, sorted; a scan of the whole table, reporting nothing. */
  async findUnreadable(): Promise<string[]> {
    const unreadable: string[] = [];
    for await (const entity of this.webhooks.listEntities<WebhookEntity>()) {
      if (entity.rowKey === COUNTER_ROW) continue;
      try {
        fromWebhookEntity(entity, this.openerFor(entity));
      } catch {
        unreadable.push(entity.rowKey);
      }
    }
    return unreadable.sort();
  }

  private async readOrSkip(entity: TableEntityResult<WebhookEntity>): Promise<Versioned<Webhook> | undefined> {
    let webhook: Webhook;
    try {
      webhook = fromWebhookEntity(entity, this.openerFor(entity));
    } catch (error) {
      this.options.onUnreadable?.(entity.rowKey, errorMessage(error));
      return undefined;
    }
    return this.read(entity, webhook);
  }

  private sealerFor(id: string): Sealer {
    return (field, plaintext) => this.box.seal(plaintext, sealContext(id, field));
  }

  private openerFor(entity: WebhookEntity): Opener {
    return (field) => {
      const sealed = entity[field];
      return sealed ? this.box.open(sealed, sealContext(entity.rowKey, field)) : undefined;
    };
  }

  /** The webhook of a row; a job webhook stored without a workspace URL gets the default written into it. */
  private async read(entity: TableEntityResult<WebhookEntity>, webhook: Webhook): Promise<Versioned<Webhook>> {
    const workspaceUrl = this.options.defaultWorkspaceUrl;
    if (webhook.target.kind !== 'job' || webhook.target.workspaceUrl !== undefined || !workspaceUrl) return { value: webhook, etag: entity.etag };
    const adopted: Webhook = { ...webhook, target: { ...webhook.target, workspaceUrl } };
    try {
      const written = await this.webhooks.updateEntity({ partitionKey: entity.partitionKey, rowKey: entity.rowKey, WorkspaceUrl: workspaceUrl }, 'Merge', { etag: entity.etag });
      return { value: adopted, etag: written.etag ?? entity.etag };
    } catch (error) {
      // Changed or deleted meanwhile: the writer wrote what it read, which had the workspace URL filled in.
      if (isPreconditionFailed(error) || isNotFound(error)) return { value: adopted, etag: entity.etag };
      throw error;
    }
  }

}

/** Keyset pagination: rows after the cursor, within one partition or across the table. */
function keysetFilter(scope: string | undefined, after: Cursor | undefined): string | undefined {
  if (scope !== undefined) {
    return after ? odata`PartitionKey eq ${scope} and RowKey gt ${after.row}` : odata`PartitionKey eq ${scope}`;
  }
  return after ? odata`PartitionKey gt ${after.partition} or (PartitionKey eq ${after.partition} and RowKey gt ${after.row})` : undefined;
}
