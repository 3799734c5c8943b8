import type { Principal } from '../../src/auth/principal.js';
import type { Resolver } from '../../src/webhooks/target-policy.js';
import { DEFAULT_WEBHOOK_LIMITS, type WebhookDeps } from '../../src/webhooks/webhook-service.js';
import { ManualClock, MemoryAuditLog, MemoryWebhookStore } from './memory.js';

export const admin: Principal = { id: 'token:admin:aaaaaaaa', roles: ['admin'] };
export const manager: Principal = { id: 'token:manager:bbbbbbbb', roles: ['manager'] };
export const publisher: Principal = { id: 'token:publisher:cccccccc', roles: ['publisher'] };

/** A resolver that answers from a table and fails for names not in it. */
export const fakeResolver =
  (table: Record<string, string[]>): Resolver =>
  (hostname) =>
    table[hostname] ? Promise.resolve(table[hostname]) : Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));

export const PUBLIC_RESOLVER = fakeResolver({ 'hooks.example.com': ['93.184.216.34'], 'adb-1.azuredatabricks.net': ['20.1.2.3'] });

export function webhookDeps(overrides: Partial<WebhookDeps> = {}) {
  const store = new MemoryWebhookStore();
  const audit = new MemoryAuditLog();
  const clock = new ManualClock();
  let next = 0;
  const deps: WebhookDeps = {
    store,
    audit,
    clock: clock.read,
    newId: () => (next++).toString(16).padStart(32, '0'),
    policy: { allowHttp: false, allowPrivate: false },
    entraAudiences: [{ audience: 'api://orders-receiver', origins: ['https://hooks.example.com'] }],
    resolve: PUBLIC_RESOLVER,
    limits: DEFAULT_WEBHOOK_LIMITS,
    ...overrides,
  };
  return { deps, store, audit, clock };
}
