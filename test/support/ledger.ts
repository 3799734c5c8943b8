import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after } from 'node:test';
import type { Behaviour, ReceivedRequest } from './receiver.js';

/**
 * Accounts for a fault scenario: which (event, webhook) deliveries are owed, and which arrived, under which
 * `webhook-id`. An event is keyed by its `version` (unique per scenario), a delivery by event and webhook.
 */
export class Ledger {
  private readonly owed = new Set<string>();
  private readonly arrived = new Map<string, string[]>();
  published = 0;

  expect(version: string, webhookIds: readonly string[]): void {
    this.published += 1;
    for (const webhookId of webhookIds) this.owed.add(`${version}|${webhookId}`);
  }

  /** Call when a receiver accepts a request (answers 2xx). */
  record(request: ReceivedRequest): void {
    const payload = JSON.parse(request.body) as { version: string; webhook_id: string };
    this.recordArrival(payload.version, payload.webhook_id, request.headers['webhook-id'] ?? '');
  }

  /** An arrival seen some other way (a job run started): `sameAs` is what duplicates must share (webhook-id, token). */
  recordArrival(version: string, webhookId: string, sameAs: string): void {
    const key = `${version}|${webhookId}`;
    this.arrived.set(key, [...(this.arrived.get(key) ?? []), sameAs]);
  }

  get complete(): boolean {
    return [...this.owed].every((key) => this.arrived.has(key));
  }

  report(name: string) {
    const delivered = [...this.owed].filter((key) => this.arrived.has(key)).length;
    const duplicates = [...this.arrived.values()].reduce((sum, ids) => sum + ids.length - 1, 0);
    const mixedIds = [...this.arrived.values()].filter((ids) => new Set(ids).size > 1).length;
    return { name, published: this.published, expected: this.owed.size, delivered, duplicates, lost: this.owed.size - delivered, mixedIds };
  }
}

/** A receiver behaviour that answers 200, and records the delivery, unless `fault` takes the request. */
export const accepting =
  (ledger: Ledger, fault: () => Behaviour | undefined): Behaviour =>
  (request, n, response: ServerResponse, socket) => {
    const current = fault();
    if (current) return current(request, n, response, socket);
    ledger.record(request);
    response.writeHead(200).end('OK');
  };

export function printReport(rows: ReturnType<Ledger['report']>[]): void {
  console.log('fault                         published  expected  delivered  duplicates  lost');
  for (const row of rows) {
    console.log(`${row.name.padEnd(30)}${String(row.published).padStart(9)}${String(row.expected).padStart(10)}${String(row.delivered).padStart(11)}${String(row.duplicates).padStart(12)}${String(row.lost).padStart(6)}`);
  }
}

export type LedgerRow = ReturnType<Ledger['report']>;

/**
 * For a fault file: answers `settleRow`, which reports a scenario's ledger, asserts that nothing was lost and
 * that duplicates share their webhook-id, and keeps the row for the table printed when the file ends.
 */
export function ledgerTable(): (ledger: Ledger, name: string) => LedgerRow {
  const rows: LedgerRow[] = [];
  after(() => printReport(rows));
  return (ledger, name) => {
    const row = ledger.report(name);
    rows.push(row);
    assert.equal(row.lost, 0, `${name}: nothing lost`);
    assert.equal(row.mixedIds, 0, `${name}: duplicates carry the same webhook-id`);
    return row;
  };
}
