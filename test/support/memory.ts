import type { DeliveryQuery, DeliveryStore } from '../../src/storage/delivery-store.js';
import { parseDeliveryId, type Delivery } from '../../src/delivery/delivery.js';
import type { AuditEntry, AuditLog } from '../../src/storage/audit-log.js';
import type { EventClaims } from '../../src/storage/event-claims.js';
import { DEDUP_WINDOW_MS } from '../../src/storage/event-claims.js';
import { invertedTimestamp, scopeKeyOf } from '../../src/storage/key-encoding.js';
import type { MessageQueue } from '../../src/storage/message-queue.js';
import type { Cursor } from '../../src/storage/page-token.js';
import { ConcurrentUpdateError, matchesQuery, ScopeFullError, type Versioned, type WebhookPage, type WebhookQuery, type WebhookStore } from '../../src/storage/webhook-store.js';
import type { Webhook, WebhookStatus } from '../../src/webhooks/webhook.js';

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

  setStatus(webhook: Webhook, status: WebhookStatus, now: number): Promise<void> {
    const row = this.rows.get(webhook.id);
    if (row) this.rows.set(webhook.id, { webhook: { ...row.webhook, status, lastUpdatedTimestamp: now }, etag: ++version });
    return Promise.resolve();
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

  listScope(scope: string, status: WebhookStatus): Promise<Webhook[]> {
    return Promise.resolve(
      this.readAll().map(clone).filter((webhook) => scopeKeyOf(webhook.modelName) === scope && webhook.status === status),
    );
  }

  countScope(scope: string): Promise<number> {
    return Promise.resolve([...this.rows.values()].filter((row) => scopeKeyOf(row.webhook.modelName) === scope).length);
  }
}

export class MemoryDeliveryStore implements DeliveryStore {
  readonly rows = new Map<string, Delivery>();
  puts = 0;

  get(id: string): Promise<Delivery | undefined> {
    const row = this.rows.get(id);
    return Promise.resolve(row ? clone(row) : undefined);
  }

  put(delivery: Delivery): Promise<void> {
    this.puts += 1;
    const copy = clone(delivery);
    for (const key of Object.keys(copy) as (keyof Delivery)[]) if (copy[key] === undefined) delete copy[key];
    this.rows.set(delivery.id, copy);
    return Promise.resolve();
  }

  async putAll(deliveries: readonly Delivery[]): Promise<void> {
    for (const delivery of deliveries) await this.put(delivery);
  }

  list(query: DeliveryQuery): Promise<{ deliveries: Delivery[]; next?: Cursor }> {
    const rowKey = (delivery: Delivery) => parseDeliveryId(delivery.id)?.rowKey ?? '';
    const sorted = [...this.rows.values()]
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
  readonly claims = new Map<string, { claimant: string; at: number }>();

  claim(eventId: string, claimant: string, now: number): Promise<boolean> {
    const existing = this.claims.get(eventId);
    if (existing && existing.claimant !== claimant && now - existing.at < DEDUP_WINDOW_MS) return Promise.resolve(false);
    if (!existing || existing.claimant !== claimant) this.claims.set(eventId, { claimant, at: now });
    return Promise.resolve(true);
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
