import type { AllDeliveriesQuery, CreateResult, DeliveryPage, DeliveryQuery, DeliveryStore } from '../../src/pipeline/delivery-store.js';
import { listingCursorOf, listingToken } from '../../src/storage/delivery-listing.js';
import { INDEXED_STATUSES, isIndexedStatus, type IndexedStatus } from '../../src/storage/status-index.js';
import { tallyHours, type CountStream, type DeliveryCountQuery, type DeliveryCounts, type HourlyCounts } from '../../src/pipeline/delivery-counts.js';
import { dayKeyOf, scopeKeyOf } from '../../src/storage/key-encoding.js';
import type { PurgeResult } from '../../src/pipeline/retention.js';
import { newestFirstTime, webhookIdOfDelivery, type Delivery, type DeliveryStatus, type DeliverySummary } from '../../src/pipeline/delivery.js';
import type { AuditEntry, AuditLog } from '../../src/webhooks/audit-log.js';
import { EVENT_CLAIM_LEASE_MS, judgeClaim, type ClaimAnswer, type EventClaims } from '../../src/pipeline/event-claims.js';
import type { HeldMessage, MessageQueue } from '../../src/pipeline/queues.js';
import { cursorOf, encodePageToken, type Cursor } from '../../src/storage/page-token.js';
import { ConcurrentUpdateError, matchesQuery, ScopeFullError, type ScopePage, type Versioned, type WebhookPage, type WebhookQuery, type WebhookStore } from '../../src/webhooks/webhook-store.js';
import { isServiceDisabled, type ServiceDisable, type Webhook, type WebhookStatus } from '../../src/webhooks/webhook.js';

const clone = <T>(value: T): T => structuredClone(value);
/** A page token's position, or the store's refusal of the token, as a rejected promise would carry it. */
function positionOf(read: () => Cursor | undefined): Cursor | undefined | Error {
  try {
    return read();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
const compareKeys = (a: Cursor, b: Cursor): number => (a.partition < b.partition ? -1 : a.partition > b.partition ? 1 : a.row < b.row ? -1 : a.row > b.row ? 1 : 0);

/** WebhookStore in memory, with the Table adapter's ordering (scope, then id) and etag checks. */
let version = 0;

export class MemoryWebhookStore implements WebhookStore {
  /** Stores made with the same `rows` share them, as Table adapters share a table. */
  constructor(
    private readonly options: { defaultWorkspaceUrl?: string; onUnreadable?: (webhookId: string, reason: string) => void } = {},
    readonly rows = new Map<string, { webhook: Webhook; etag: number; unreadable?: boolean }>(),
  ) {}

  /** Makes a row unreadable, as a corrupt row or one sealed with an unknown key is in Table storage. */
  spoil(id: string): void {
    const row = this.rows.get(id);
    if (row) row.unreadable = true;
  }

  /** Ids of the rows that cannot be read, sorted. */
  findUnreadable(): Promise<string[]> {
    return Promise.resolve([...this.rows].filter(([, row]) => row.unreadable).map(([id]) => id).sort());
  }

  /**
   * As the Table adapter: an unreadable row is skipped and reported; a job webhook without a workspace URL
   * gets the default written in on first read.
   */
  private read(id: string): { webhook: Webhook; etag: number } | undefined {
    const row = this.rows.get(id);
    if (row?.unreadable) {
      this.options.onUnreadable?.(id, 'the stored row is not valid');
      return undefined;
    }
    const workspaceUrl = this.options.defaultWorkspaceUrl;
    if (!row || row.webhook.target.kind !== 'job' || row.webhook.target.workspaceUrl !== undefined || !workspaceUrl) return row;
    const adopted = { webhook: { ...row.webhook, target: { ...row.webhook.target, workspaceUrl } }, etag: ++version };
    this.rows.set(id, adopted);
    return adopted;
  }

  private readAll(): Webhook[] {
    return [...this.rows.keys()].flatMap((id) => {
      const row = this.read(id);
      return row ? [row.webhook] : [];
    });
  }

  insert(webhook: Webhook, maxInScope = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.rows.has(webhook.id)) return Promise.reject(new Error('conflict'));
    const scope = scopeKeyOf(webhook.modelName);
    if ([...this.rows.values()].filter((row) => scopeKeyOf(row.webhook.modelName) === scope).length >= maxInScope) return Promise.reject(new ScopeFullError(maxInScope));
    this.rows.set(webhook.id, { webhook: clone(webhook), etag: ++version });
    return Promise.resolve();
  }

  get(id: string): Promise<Versioned<Webhook> | undefined> {
    const row = this.read(id);
    return Promise.resolve(row ? { value: clone(row.webhook), etag: String(row.etag) } : undefined);
  }

  replace(webhook: Webhook, etag: string): Promise<void> {
    const row = this.rows.get(webhook.id);
    if (!row || String(row.etag) !== etag) return Promise.reject(new ConcurrentUpdateError());
    this.rows.set(webhook.id, { webhook: clone(webhook), etag: ++version });
    return Promise.resolve();
  }

  setStatus(webhook: Webhook, status: WebhookStatus, now: number, options: { serviceDisabled?: ServiceDisable; etag?: string } = {}): Promise<boolean> {
    const row = this.rows.get(webhook.id);
    if (!row || (options.etag !== undefined && String(row.etag) !== options.etag)) return Promise.resolve(false);
    const serviceDisabled = options.serviceDisabled ?? row.webhook.serviceDisabled;
    this.rows.set(webhook.id, { webhook: { ...row.webhook, status, lastUpdatedTimestamp: now, ...(serviceDisabled ? { serviceDisabled } : {}) }, etag: ++version });
    return Promise.resolve(true);
  }

  setFailingSince(webhook: Webhook, failingSince: number | undefined, etag: string): Promise<boolean> {
    const row = this.rows.get(webhook.id);
    if (!row || String(row.etag) !== etag) return Promise.resolve(false);
    const { failingSince: _previous, ...rest } = row.webhook;
    this.rows.set(webhook.id, { webhook: { ...rest, ...(failingSince !== undefined ? { failingSince } : {}) }, etag: ++version });
    return Promise.resolve(true);
  }

  remove(webhook: Webhook): Promise<void> {
    this.rows.delete(webhook.id);
    return Promise.resolve();
  }

  list(query: WebhookQuery): Promise<WebhookPage> {
    const key = (webhook: Webhook): Cursor => ({ partition: scopeKeyOf(webhook.modelName), row: webhook.id });
    const scope = query.model === undefined ? undefined : scopeKeyOf(query.model);
    const after = positionOf(() => cursorOf(query.pageToken, scope, 'another model'));
    if (after instanceof Error) return Promise.reject(after);
    const sorted = this.readAll()
      .filter((webhook) => scope === undefined || key(webhook).partition === scope)
      .filter((webhook) => !after || compareKeys(key(webhook), after) > 0)
      .filter((webhook) => matchesQuery(webhook, query))
      .sort((a, b) => compareKeys(key(a), key(b)));
    const page = sorted.slice(0, query.limit).map(clone);
    const last = page[page.length - 1];
    return Promise.resolve({ webhooks: page, ...(sorted.length > query.limit && last ? { nextPageToken: encodePageToken(key(last)) } : {}) });
  }

  listScope(modelName: string | undefined, status: WebhookStatus, page: ScopePage = {}, options: { withServiceDisabled?: boolean } = {}): Promise<Webhook[]> {
    const { after } = page;
    const scope = scopeKeyOf(modelName);
    const listed = (webhook: Webhook) => webhook.status === status || (options.withServiceDisabled === true && isServiceDisabled(webhook));
    return Promise.resolve(
      this.readAll()
        .map(clone)
        .filter((webhook) => scopeKeyOf(webhook.modelName) === scope && listed(webhook) && (after === undefined || webhook.id > after))
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .slice(0, page.limit ?? Infinity),
    );
  }

  countScope(modelName: string | undefined): Promise<number> {
    const scope = scopeKeyOf(modelName);
    return Promise.resolve([...this.rows.values()].filter((row) => scopeKeyOf(row.webhook.modelName) === scope).length);
  }
}

/** One stored row of the delivery log: a record, or the status-index row of one. */
type DeliveryRow = { kind: 'record'; delivery: Delivery; etag: string } | { kind: 'index'; summary: DeliverySummary };

const summaryOf = (delivery: Delivery): DeliverySummary => {
  const { payload: _payload, ...summary } = clone(delivery);
  return summary;
};
/** As the Table adapter keys a record: its webhook's partition, the rest of its id the row key. */
function parseDeliveryId(id: string): { webhookId: string; rowKey: string } | undefined {
  const webhookId = webhookIdOfDelivery(id);
  return webhookId === undefined ? undefined : { webhookId, rowKey: id.slice(webhookId.length + 1) };
}
const recordKeyOf = (delivery: DeliverySummary): string => parseDeliveryId(delivery.id)?.rowKey ?? '';
const indexKeyOf = (status: IndexedStatus, recordKey: string): string => `~${status}_${recordKey}`;
/** Newest first across webhooks: record row key, then webhook id, as the Table adapter orders them. */
const byPosition = (a: DeliverySummary, b: DeliverySummary): number => compareKeys({ partition: '', row: recordKeyOf(a) }, { partition: '', row: recordKeyOf(b) }) || compareKeys({ partition: a.webhookId, row: '' }, { partition: b.webhookId, row: '' });

/**
 * DeliveryStore in memory, with the Table adapter's rows: a partition per webhook holding records under their
 * row keys and, for FAILED and SKIPPED records, an index row `~<status>_<row key>` written and removed with
 * the record; conditional writes (a version per record). `reads` counts the rows listings read, as the rows a
 * Table query answers.
 */
export class MemoryDeliveryStore implements DeliveryStore, DeliveryCounts {
  readonly partitions = new Map<string, Map<string, DeliveryRow>>();
  private version = 0;
  writes = 0;
  readonly reads = { records: 0, indexRows: 0 };

  private partition(webhookId: string): Map<string, DeliveryRow> {
    let rows = this.partitions.get(webhookId);
    if (!rows) this.partitions.set(webhookId, (rows = new Map<string, DeliveryRow>()));
    return rows;
  }

  private record(id: string): { delivery: Delivery; etag: string } | undefined {
    const key = parseDeliveryId(id);
    const row = key ? this.partitions.get(key.webhookId)?.get(key.rowKey) : undefined;
    return row?.kind === 'record' ? row : undefined;
  }

  /** The records as they stand (read-only view for assertions). */
  get rows(): Map<string, Delivery> {
    return new Map([...this.partitions.values()].flatMap((rows) => [...rows.values()].flatMap((row) => (row.kind === 'record' ? [[row.delivery.id, clone(row.delivery)] as const] : []))));
  }

  get(id: string): Promise<Versioned<Delivery> | undefined> {
    const row = this.record(id);
    return Promise.resolve(row ? { value: clone(row.delivery), etag: row.etag } : undefined);
  }

  /** Drops a record (and its index row), as if it had never been written. */
  forget(id: string): void {
    const key = parseDeliveryId(id);
    const row = this.record(id);
    if (!key || !row) return;
    const rows = this.partition(key.webhookId);
    rows.delete(key.rowKey);
    if (isIndexedStatus(row.delivery.status)) rows.delete(indexKeyOf(row.delivery.status, key.rowKey));
  }

  private readonly claimWaiters: { id: string; attempt: number; resolve: () => void }[] = [];

  /** Resolves once a write gives delivery `id` a claim for `attempt` (a deferred, not a timer). */
  claimWritten(id: string, attempt: number): Promise<void> {
    return new Promise((resolve) => this.claimWaiters.push({ id, attempt, resolve }));
  }

  private write(delivery: Delivery): string {
    this.writes += 1;
    for (const waiter of this.claimWaiters.filter((each) => each.id === delivery.id && each.attempt === delivery.claim?.attempt)) {
      this.claimWaiters.splice(this.claimWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
    const copy = clone(delivery);
    for (const key of Object.keys(copy) as (keyof Delivery)[]) if (copy[key] === undefined) delete copy[key];
    const key = parseDeliveryId(delivery.id);
    if (!key) throw new Error(`malformed delivery id ${delivery.id}`);
    const rows = this.partition(key.webhookId);
    const previous = rows.get(key.rowKey);
    if (previous?.kind === 'record' && isIndexedStatus(previous.delivery.status)) rows.delete(indexKeyOf(previous.delivery.status, key.rowKey));
    const etag = String(++this.version);
    rows.set(key.rowKey, { kind: 'record', delivery: copy, etag });
    if (isIndexedStatus(copy.status)) rows.set(indexKeyOf(copy.status, key.rowKey), { kind: 'index', summary: summaryOf(copy) });
    return etag;
  }

  create(deliveries: readonly Delivery[]): Promise<CreateResult[]> {
    return Promise.resolve(
      deliveries.map((delivery): CreateResult => {
        const row = this.record(delivery.id);
        return row ? { created: false, existing: { value: clone(row.delivery), etag: row.etag } } : { created: true, etag: this.write(delivery) };
      }),
    );
  }

  replace(updates: readonly Versioned<Delivery>[]): Promise<(string | undefined)[]> {
    return Promise.resolve(updates.map(({ value, etag }) => (this.record(value.id)?.etag === etag ? this.write(value) : undefined)));
  }

  /** One webhook's rows between two record row keys, newest first: its index rows for FAILED and SKIPPED. */
  private readRange(webhookId: string, status: DeliveryStatus | undefined, after: (recordKey: string) => boolean, before: (recordKey: string) => boolean, limit: number): DeliverySummary[] {
    const indexed = status && isIndexedStatus(status) ? status : undefined;
    const prefix = indexed ? indexKeyOf(indexed, '') : '';
    const found: DeliverySummary[] = [];
    const keys = [...(this.partitions.get(webhookId)?.keys() ?? [])].filter((key) => (indexed ? key.startsWith(prefix) : !key.startsWith('~'))).sort();
    for (const key of keys) {
      const recordKey = key.slice(prefix.length);
      if (!after(recordKey) || !before(recordKey)) continue;
      const row = this.partitions.get(webhookId)?.get(key);
      if (!row) continue;
      const summary = row.kind === 'record' ? summaryOf(row.delivery) : clone(row.summary);
      if (status && !indexed && summary.status !== status) continue;
      if (row.kind === 'record') this.reads.records += 1;
      else this.reads.indexRows += 1;
      found.push(summary);
      if (found.length === limit) break;
    }
    return found;
  }

  list(query: DeliveryQuery): Promise<DeliveryPage> {
    const after = positionOf(() => listingCursorOf(query.pageToken, query.webhookId, query.status));
    if (after instanceof Error) return Promise.reject(after);
    const since = query.sinceTimestamp !== undefined ? `${newestFirstTime(query.sinceTimestamp)}~` : undefined;
    const until = query.untilTimestamp !== undefined ? newestFirstTime(query.untilTimestamp) : undefined;
    const found = this.readRange(query.webhookId, query.status, (key) => (!after || key > after.row) && (until === undefined || key >= until), (key) => since === undefined || key < since, query.limit + 1);
    return Promise.resolve(pageOf(found, query.limit, query.webhookId, query.status));
  }

  listAll(query: AllDeliveriesQuery): Promise<DeliveryPage> {
    const after = positionOf(() => listingCursorOf(query.pageToken, undefined, query.status));
    if (after instanceof Error) return Promise.reject(after);
    const found = [...this.partitions.keys()]
      .flatMap((webhookId) => this.readRange(webhookId, query.status, (key) => !after || key > after.row || (key === after.row && webhookId > after.partition), () => true, Number.POSITIVE_INFINITY))
      .sort(byPosition)
      .slice(0, query.limit + 1);
    return Promise.resolve(pageOf(found, query.limit, undefined, query.status));
  }

  /** As the day index answers: webhooks with records on the UTC days the range touches. */
  webhooksWithDeliveries(sinceTimestamp: number, untilTimestamp: number): Promise<string[]> {
    const [first, last] = [dayKeyOf(sinceTimestamp), dayKeyOf(untilTimestamp)];
    const onDays = (rows: Map<string, DeliveryRow>) =>
      [...rows.values()].some((row) => row.kind === 'record' && dayKeyOf(row.delivery.eventTimestamp) >= first && dayKeyOf(row.delivery.eventTimestamp) <= last);
    return Promise.resolve([...this.partitions].filter(([, rows]) => onDays(rows)).map(([webhookId]) => webhookId).sort());
  }

  /** As the Table adapter: the records not indexed, then each index range, newest first, each up to `maxRows`. */
  countByHour(query: DeliveryCountQuery): Promise<HourlyCounts> {
    const [lower, upper] = [newestFirstTime(query.untilTimestamp), `${newestFirstTime(query.sinceTimestamp)}~`];
    const rows = this.partitions.get(query.webhookId) ?? new Map<string, DeliveryRow>();
    const keys = [...rows.keys()].sort();
    const stream = (prefix: string, counted: (row: DeliveryRow) => DeliveryStatus | undefined): CountStream => {
      const found: CountStream['rows'][number][] = [];
      for (const key of keys) {
        const recordKey = key.slice(prefix.length);
        const row = rows.get(key);
        const status = key.startsWith(prefix) && !recordKey.startsWith('~') && recordKey >= lower && recordKey < upper && row ? counted(row) : undefined;
        if (!row || status === undefined) continue;
        if (row.kind === 'record') this.reads.records += 1;
        else this.reads.indexRows += 1;
        found.push({ eventTimestamp: row.kind === 'record' ? row.delivery.eventTimestamp : row.summary.eventTimestamp, status });
        if (found.length > query.maxRows) break;
      }
      return { rows: found.slice(0, query.maxRows), cut: found.length > query.maxRows };
    };
    const records = stream('', (row) => (row.kind === 'record' && !isIndexedStatus(row.delivery.status) ? row.delivery.status : undefined));
    const indexes = INDEXED_STATUSES.map((status) => stream(indexKeyOf(status, ''), (row) => (row.kind === 'index' ? status : undefined)));
    return Promise.resolve(tallyHours([records, ...indexes]));
  }

  /** As the Table adapter's retention: settled records of events before `cutoff` go, each with its index row. */
  purgeBefore(cutoff: number, budget: number): Promise<PurgeResult> {
    let deleted = 0;
    for (const rows of this.partitions.values()) {
      for (const [key, row] of [...rows].sort(([a], [b]) => (a < b ? 1 : -1))) {
        if (row.kind !== 'record' || row.delivery.eventTimestamp >= cutoff || row.delivery.status === 'PENDING' || row.delivery.status === 'RETRYING') continue;
        const size = isIndexedStatus(row.delivery.status) ? 2 : 1;
        if (deleted + size > budget) return Promise.resolve({ deleted, requests: 0, done: false });
        rows.delete(key);
        if (isIndexedStatus(row.delivery.status)) rows.delete(indexKeyOf(row.delivery.status, key));
        deleted += size;
      }
    }
    return Promise.resolve({ deleted, requests: 0, done: true });
  }
}

function pageOf(found: DeliverySummary[], limit: number, webhookId: string | undefined, status: DeliveryStatus | undefined): DeliveryPage {
  const page = found.slice(0, limit);
  const last = page[page.length - 1];
  return { deliveries: page, ...(found.length > limit && last ? { nextPageToken: listingToken({ partition: last.webhookId, row: recordKeyOf(last) }, webhookId, status) } : {}) };
}

export class MemoryAuditLog implements AuditLog {
  readonly entries: AuditEntry[] = [];

  append(entries: readonly AuditEntry[]): Promise<void> {
    this.entries.push(...entries.map(clone));
    return Promise.resolve();
  }
}

export class MemoryEventClaims implements EventClaims {
  readonly rows = new Map<string, { Claimant: string; ExpiresAt: number; FinishedAt?: number }>();

  /** Event ids whose fan-out finished, and when. */
  get finished(): Map<string, number> {
    return new Map([...this.rows].flatMap(([id, row]) => (row.FinishedAt !== undefined ? [[id, row.FinishedAt] as const] : [])));
  }

  claim(eventId: string, claimant: string, now: number): Promise<ClaimAnswer> {
    const existing = this.rows.get(eventId);
    const answer = existing ? judgeClaim(existing, claimant, now) : 'take';
    if (answer !== 'take') return Promise.resolve(answer);
    this.rows.set(eventId, { Claimant: claimant, ExpiresAt: now + EVENT_CLAIM_LEASE_MS });
    return Promise.resolve({ kind: 'mine' });
  }

  finish(eventId: string, claimant: string, now: number): Promise<void> {
    this.rows.set(eventId, { Claimant: claimant, ExpiresAt: now, FinishedAt: now });
    return Promise.resolve();
  }
}

export class MemoryQueue implements MessageQueue {
  readonly messages: { id: string; body: unknown; text: string; delayMs: number }[] = [];
  private sent = 0;

  send(message: unknown, delayMs = 0): Promise<string> {
    const id = `message-${++this.sent}`;
    this.messages.push({ id, body: clone(message), text: JSON.stringify(message), delayMs });
    return Promise.resolve(id);
  }

  sendText(text: string, delayMs = 0): Promise<string> {
    const id = `message-${++this.sent}`;
    this.messages.push({ id, body: text, text, delayMs });
    return Promise.resolve(id);
  }

  sendHeld(message: unknown, holdMs: number): Promise<HeldMessage> {
    const id = `message-${++this.sent}`;
    const entry = { id, body: clone(message), text: JSON.stringify(message), delayMs: holdMs };
    this.messages.push(entry);
    return Promise.resolve({
      id,
      insertedAt: Date.now(),
      text: entry.text,
      extend: (ms: number) => {
        entry.delayMs = ms;
        return Promise.resolve();
      },
      remove: () => {
        const index = this.messages.indexOf(entry);
        if (index >= 0) this.messages.splice(index, 1);
        return Promise.resolve();
      },
    });
  }

  /** Takes every message off the queue. */
  drain(): { id: string; body: unknown; text: string; delayMs: number }[] {
    return this.messages.splice(0);
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(public now = 1_795_000_000_000) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}
