/**
 * The retention scenario of `npm run bench`: seeds an in-memory Azurite with expired delivery records (100
 * webhooks, over ten days, plus as many fresh ones to keep), then times one retention run through a proxy that
 * counts every storage request. Prints the records deleted, the run's time, its storage requests, and checks
 * that the fresh records are all still there.
 */
import { systemClock } from '../src/shared/ids.js';
import { randomBytes } from 'node:crypto';
import { deliveryIdOf, type Delivery } from '../src/pipeline/delivery.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { runRetention, DEFAULT_RETENTION_BUDGET } from '../src/pipeline/retention.js';
import { ensureStorage } from '../src/storage/provision.js';
import { startAzurite } from '../src/local/azurite.js';
import { TableAuditLog } from '../src/storage/audit-log.js';
import { azuriteConnectionString, createStorageClients } from '../src/storage/azure-clients.js';
import { TableDeliveryStore } from '../src/storage/delivery-store.js';
import { DEDUP_WINDOW_MS } from '../src/pipeline/event-claims.js';
import { TableEventClaims } from '../src/storage/event-claims.js';
import { TABLES } from '../src/storage/names.js';
import { startCountingProxy } from './storage-proxy.js';

const DAY = 86_400_000;
const WEBHOOKS = 100;

function record(webhookId: string, eventTimestamp: number, index: number): Delivery {
  const eventId = `bench-${eventTimestamp}-${index}`;
  return {
    id: deliveryIdOf(webhookId, eventTimestamp, 'M', eventId),
    webhookId,
    event: 'MODEL_VERSION_CREATED',
    eventId,
    eventTimestamp,
    status: 'SUCCEEDED',
    attempts: 1,
    createdTimestamp: eventTimestamp,
    payload: JSON.stringify({ event: 'MODEL_VERSION_CREATED', model_name: 'bench', version: String(index), padding: 'x'.repeat(400) }),
  };
}

export async function retentionScenario(expired: number): Promise<string> {
  const azurite = await startAzurite();
  const proxy = await startCountingProxy(azurite.endpoints);
  try {
    const direct = createStorageClients({ kind: 'connectionString', connectionString: azurite.connectionString });
    await ensureStorage(direct);
    const seed = new TableDeliveryStore(direct.table(TABLES.deliveries), direct.table(TABLES.deliveryDays), systemClock);
    const now = Date.now();
    const webhooks = Array.from({ length: WEBHOOKS }, () => randomBytes(16).toString('hex'));
    const perWebhook = Math.ceil(expired / WEBHOOKS);
    const fresh = Math.max(1, Math.round(perWebhook / 10));
    for (const [w, webhookId] of webhooks.entries()) {
      const records = Array.from({ length: perWebhook }, (_, index) => record(webhookId, now - (31 + (index % 10)) * DAY - index * 1000, index));
      const kept = Array.from({ length: fresh }, (_, index) => record(webhookId, now - DAY - index * 1000, index));
      await seed.putAll([...records, ...kept].slice(0, w === webhooks.length - 1 ? expired - perWebhook * (WEBHOOKS - 1) + fresh : undefined));
    }
    const counted = createStorageClients({ kind: 'connectionString', connectionString: azuriteConnectionString(proxy.endpoints) });
    proxy.reset();
    const started = performance.now();
    const report = await runRetention({
      deliveries: new TableDeliveryStore(counted.table(TABLES.deliveries), counted.table(TABLES.deliveryDays), systemClock),
      audit: new TableAuditLog(counted.table(TABLES.audit)),
      claims: new TableEventClaims(counted.table(TABLES.eventClaims)),
      clock: () => now,
      deliveryRetentionMs: 30 * DAY,
      auditRetentionMs: 400 * DAY,
      claimWindowMs: DEDUP_WINDOW_MS,
      budgetPerTable: DEFAULT_RETENTION_BUDGET,
      log: silentLogger,
    });
    const seconds = (performance.now() - started) / 1000;
    let left = 0;
    for await (const _ of direct.table(TABLES.deliveries).listEntities({ queryOptions: { select: ['RowKey'] } })) left += 1;
    const requests = proxy.counts.table + proxy.counts.queue;
    return [
      `retention: ${report.deliveries.deleted} expired delivery records of ${WEBHOOKS} webhooks deleted in ${seconds.toFixed(1)} s`,
      `${requests} storage requests (${(requests / Math.max(1, report.deliveries.deleted)).toFixed(4)} per record)`,
      `${left} fresh records left of ${fresh * WEBHOOKS}`,
      report.deliveries.done ? 'done in one run' : 'more left for the next run',
    ].join(' | ');
  } finally {
    await proxy.close();
    await azurite.stop();
  }
}
