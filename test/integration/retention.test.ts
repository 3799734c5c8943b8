import assert from 'node:assert/strict';
import { systemClock } from '../../src/shared/ids.js';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { TableClient } from '@azure/data-tables';
import { deliveryIdOf, type Delivery } from '../../src/pipeline/delivery.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { runRetention, type RetentionDeps } from '../../src/pipeline/retention.js';
import { TableAuditLog } from '../../src/storage/audit-log.js';
import { TableDeliveryStore } from '../../src/storage/delivery-store.js';
import { DEDUP_WINDOW_MS } from '../../src/pipeline/event-claims.js';
import { TableEventClaims } from '../../src/storage/event-claims.js';
import { TABLES } from '../../src/storage/names.js';
import { testAzurite } from '../support/azurite.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 29, 12);
const webhookId = (): string => randomBytes(16).toString('hex');

function delivery(webhook: string, eventTimestamp: number, index: number, status: Delivery['status'] = 'SUCCEEDED'): Delivery {
  const eventId = `evt-${eventTimestamp}-${index}`;
  return {
    id: deliveryIdOf(webhook, eventTimestamp, 'M', eventId),
    webhookId: webhook,
    event: 'MODEL_VERSION_CREATED',
    eventId,
    eventTimestamp,
    status,
    attempts: 1,
    createdTimestamp: eventTimestamp,
    payload: '{}',
    ...(status === 'RETRYING' ? { nextScheduleIndex: 3, nextAttemptTimestamp: NOW + 3_600_000 } : {}),
  };
}

const many = (webhook: string, from: number, count: number, status: Delivery['status'] = 'SUCCEEDED'): Delivery[] =>
  Array.from({ length: count }, (_, index) => delivery(webhook, from + index * 1000, index, status));

/** A table client that dies (as a killed process would) once `allowed` transactions have gone through. */
function dyingAfter(table: TableClient, allowed: number): TableClient {
  const started: Promise<unknown>[] = [];
  return new Proxy(table, {
    get(target, property) {
      if (property === 'submitTransaction') {
        return async (...args: Parameters<TableClient['submitTransaction']>) => {
          if (started.length >= allowed) {
            await Promise.allSettled(started);
            throw new Error('process killed');
          }
          const transaction = target.submitTransaction(...args);
          started.push(transaction);
          return transaction;
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

async function count(table: TableClient, filter: string): Promise<number> {
  let found = 0;
  for await (const _ of table.listEntities({ queryOptions: { filter, select: ['RowKey'] } })) found += 1;
  return found;
}

describe('retention on Azurite', async () => {
  const azurite = await testAzurite();
  const tables = {
    deliveries: azurite.clients.table(TABLES.deliveries),
    days: azurite.clients.table(TABLES.deliveryDays),
    audit: azurite.clients.table(TABLES.audit),
    claims: azurite.clients.table(TABLES.eventClaims),
  };
  const deps = (overrides: Partial<RetentionDeps> = {}): RetentionDeps => ({
    deliveries: new TableDeliveryStore(tables.deliveries, tables.days, systemClock),
    audit: new TableAuditLog(tables.audit),
    claims: new TableEventClaims(tables.claims),
    clock: () => NOW,
    deliveryRetentionMs: 30 * DAY,
    auditRetentionMs: 400 * DAY,
    claimWindowMs: DEDUP_WINDOW_MS,
    budgetPerTable: 100_000,
    log: silentLogger,
    ...overrides,
  });

  it('deletes only what expired (a deleted webhook’s records too); a run killed halfway loses nothing it should keep and the next run finishes', async () => {
    const live = webhookId();
    const deleted = webhookId();
    const store = new TableDeliveryStore(tables.deliveries, tables.days, systemClock);
    const cutoff = NOW - 30 * DAY;
    await store.putAll([
      ...many(live, NOW - 41 * DAY, 180),
      ...many(live, NOW - 40 * DAY, 70),
      ...many(deleted, NOW - 35 * DAY, 120),
      ...many(live, cutoff - 5000, 3),
    ]);
    const retrying = delivery(live, NOW - 33 * DAY, 0, 'RETRYING');
    const keep = [...many(live, cutoff + 1000, 10), ...many(live, NOW - DAY, 30), ...many(deleted, NOW - 2 * DAY, 5)];
    await store.putAll([retrying, ...keep]);
    const audit = new TableAuditLog(tables.audit);
    const entry = (timestamp: number, index: number) => ({ timestamp, principal: 'p', action: 'deliver' as const, webhookId: `w${index}`, target: { url: 'https://x.example' } });
    await audit.append(Array.from({ length: 150 }, (_, index) => entry(NOW - 401 * DAY + index, index)));
    await audit.append(Array.from({ length: 20 }, (_, index) => entry(NOW - 10 * DAY + index, index)));
    const claims = new TableEventClaims(tables.claims);
    assert.deepEqual(await claims.claim('e-old', 'm1', NOW - 3 * DAY), { kind: 'mine' });
    assert.deepEqual(await claims.claim('e-recent', 'm1', NOW - 20 * 3_600_000), { kind: 'mine' });
    await claims.finish('e-recent', 'm1', NOW - 20 * 3_600_000);

    const ofWebhook = (id: string) => `PartitionKey eq '${id}'`;
    const killed = deps({ deliveries: new TableDeliveryStore(dyingAfter(tables.deliveries, 2), tables.days, systemClock) });
    await assert.rejects(runRetention(killed), /process killed/);
    const afterKill = await count(tables.deliveries, `${ofWebhook(live)} or ${ofWebhook(deleted)}`);
    assert.ok(afterKill > keep.length + 1 && afterKill < 373 + keep.length + 1, `part of the expired records went (${afterKill} left)`);
    for (const kept of [retrying, ...keep]) assert.ok(await store.get(kept.id), `kept ${kept.id}`);

    const report = await runRetention(deps());
    assert.equal(report.deliveries.done, true);
    assert.equal(await count(tables.deliveries, `${ofWebhook(live)} or ${ofWebhook(deleted)}`), keep.length + 1, 'only the records to keep, and the one still retrying');
    for (const kept of [retrying, ...keep]) assert.deepEqual((await store.get(kept.id))?.value, kept);
    const days = await count(tables.days, `RowKey eq '${live}' or RowKey eq '${deleted}'`);
    assert.equal(days, 4, "the index keeps the retrying record's day, the cutoff's day and the recent days; emptied days are gone");

    assert.equal(await count(tables.audit, "PartitionKey lt '2025'"), 0, 'audit entries past AUDIT_RETENTION are gone');
    assert.equal(await count(tables.audit, `PartitionKey ge '202611'`), 20);
    assert.deepEqual(await claims.claim('e-recent', 'm2', NOW), { kind: 'finished' }, 'a finished fan-out inside the 24 h window still dedups');
    assert.equal(await count(tables.claims, `PartitionKey lt '20261127'`), 0, 'claims of days before the window are gone');
    assert.equal(await count(tables.claims, `PartitionKey ge '20261128'`), 1);
  });

  it('bounds the work of one run and resumes in the next', async () => {
    const webhook = webhookId();
    const store = new TableDeliveryStore(tables.deliveries, tables.days, systemClock);
    await store.putAll(many(webhook, NOW - 60 * DAY, 250));
    const first = await runRetention(deps({ budgetPerTable: 100 }));
    assert.ok(first.deliveries.deleted > 0 && first.deliveries.deleted <= 100, `deleted ${first.deliveries.deleted}`);
    assert.equal(first.deliveries.done, false);
    assert.equal(await count(tables.deliveries, `PartitionKey eq '${webhook}'`), 250 - first.deliveries.deleted);
    let runs = 1;
    for (let last = first; !last.deliveries.done && runs < 20; runs += 1) {
      last = await runRetention(deps({ budgetPerTable: 100 }));
      assert.ok(last.deliveries.deleted <= 100);
    }
    assert.ok(runs >= 3, 'at most 100 per run');
    assert.equal(await count(tables.deliveries, `PartitionKey eq '${webhook}'`), 0);
    assert.equal(await count(tables.days, `RowKey eq '${webhook}'`), 0);
  });
});
