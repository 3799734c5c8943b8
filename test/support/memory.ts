import type { CreateResult, DeliveryQuery, DeliveryStore } from '../../src/storage/delivery-store.js';
import { parseDeliveryId, type Delivery } from '../../src/pipeline/delivery.js';
import type { AuditEntry, AuditLog } from '../../src/storage/audit-log.js';
import { EVENT_CLAIM_LEASE_MS, judgeClaim, type ClaimAnswer, type EventClaims } from '../../src/storage/event-claims.js';
import { invertedTimestamp, scopeKeyOf } from '../../src/storage/key-encoding.js';
import type { MessageQueue } from '../../src/storage/message-queue.js';
import type { Cursor } from '../../src/storage/page-token.js';
import { ConcurrentUpdateError, matchesQuery, ScopeFullError, type ScopePage, type Versioned, type WebhookPage, type WebhookQuery, type WebhookStore } from '../../src/storage/webhook-store.js';
import { isServiceDisabled, type ServiceDisable, type Webhook, type WebhookStatus } from '../../src/webhooks/webhook.js';

const clone = <T>(value: T): T => structuredClone(value);
const compareKeys = (a: Cursor, b: Cursor): number => (a.p < b.p ? -1 : a.p > b.p ? 1 : a.r < b.r ? -1 : a.r > b.r ? 1 : 0);

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

  remove(webhook: Webhook): Promise<void> {
    this.rows.delete(webhook.id);
    return Promise.resolve();
  }

  list(query: WebhookQuery): Promise<WebhookPage> {
    const key = (webhook: Webhook): Cursor => ({ p: scopeKeyOf(webhook.modelName), r: webhook.id });
    const sorted = this.readAll()
      .filter((webhook) => query.scope === undefined || key(webhook).p === query.scope)
      .filter((webhook) => !query.after || compareKeys(key(webhook), query.after) > 0)
      .filter((webhook) => matchesQuery(webhook, query))
      .sort((a, b) => compareKeys(key(a), key(b)));
    const page = sorted.slice(0, query.limit).map(clone);
    const last = page[page.length - 1];
    return Promise.resolve({ webhooks: page, ...(sorted.length > query.limit && last ? { next: key(last) } : {}) });
  }

  listScope(scope: string, status: WebhookStatus, page: ScopePage = {}, options: { withServiceDisabled?: boolean } = {}): Promise<Webhook[]> {
    const { after } = page;
    const listed = (webhook: Webhook) => webhook.status === status || (options.withServiceDisabled === true && isServiceDisabled(webhook));
    return Promise.resolve(
      this.readAll()
        .map(clone)
        .filter((webhook) => scopeKeyOf(webhook.modelName) === scope && listed(webhook) && (after === undefined || webhook.id > after))
        .sort((a, b) => (a.id < b.id ? -1 : 1))
        .slice(0, page.limit ?? Infinity),
    );
  }

  countScope(scope: string): Promise<number> {
    return Promise.resolve([...this.rows.values()].filter((row) => scopeKeyOf(row.webhook.modelName) === scope).length);
  }
}

/** DeliveryStore in memory, with the Table adapter's conditional writes (a version per row). */
export class MemoryDeliveryStore implements DeliveryStore {
  readonly rowVersions = new Map<string, { delivery: Delivery; etag: string }>();
  private version = 0;
  writes = 0;

  /** The records as they stand (read-only view for assertions). */
  get rows(): Map<string, Delivery> {
    return new Map([...this.rowVersions].map(([id, row]) => [id, clone(row.delivery)]));
  }

  get(id: string): Promise<Versioned<Delivery> | undefined> {
    const row = this.rowVersions.get(id);
    return Promise.resolve(row ? { value: clone(row.delivery), etag: row.etag } : undefined);
  }

  /** Drops a record, as if it had never been written. */
  forget(id: string): void {
    this.rowVersions.delete(id);
  }

  private write(delivery: Delivery): string {
    this.writes += 1;
    const copy = clone(delivery);
    for (const key of Object.keys(copy) as (keyof Delivery)[]) if (copy[key] === undefined) delete copy[key];
    const etag = String(++this.version);
    this.rowVersions.set(delivery.id, { delivery: copy, etag });
    return etag;
  }

  create(deliveries: readonly Delivery[]): Promise<CreateResult[]> {
    return Promise.resolve(
      deliveries.map((delivery): CreateResult => {
        const row = this.rowVersions.get(delivery.id);
        return row ? { created: false, existing: { value: clone(row.delivery), etag: row.etag } } : { created: true, etag: this.write(delivery) };
      }),
    );
  }

  replace(updates: readonly Versioned<Delivery>[]): Promise<(string | undefined)[]> {
    return Promise.resolve(updates.map(({ value, etag }) => (this.rowVersions.get(value.id)?.etag === etag ? this.write(value) : undefined)));
  }

  list(query: DeliveryQuery): Promise<{ deliveries: Delivery[]; next?: Cursor }> {
    const rowKey = (delivery: Delivery) => parseDeliveryId(delivery.id)?.rowKey ?? '';
    const sorted = [...this.rowVersions.values()]
      .map((row) => row.delivery)
      .filter((delivery) => delivery.webhookId === query.webhookId)
      .filter((delivery) => !query.status || delivery.status === query.status)
      .filter((delivery) => !query.after || rowKey(delivery) > query.after.r)
      .filter((delivery) => query.sinceTimestamp === undefined || rowKey(delivery) < `${invertedTimestamp(query.sinceTimestamp)}~`)
      .sort((a, b) => (rowKey(a) < rowKey(b) ? -1 : 1));
    const page = sorted.slice(0, query.limit).map(clone);
    const last = page[page.length - 1];
    return Promise.resolve({ deliveries: page, ...(sorted.length > query.limit && last ? { next: { p: query.webhookId, r: rowKey(last) } } : {}) });
  }
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
