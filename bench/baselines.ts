/**
 * The same-run baselines `npm run bench` divides by, so figures compare across runs on a shared machine:
 *   - the HTTP ceiling: raw undici POSTs of a delivery-sized body to the sink, at the pipeline's concurrency;
 *   - the storage floor: raw Table batch writes to the same Azurite, as many entities per delivery as the
 *     pipeline writes (its record created, its record settled, its audit entry).
 */
import { randomUUID } from 'node:crypto';
import type { TransactionAction } from '@azure/data-tables';
import { Pool } from 'undici';
import { createStorageClients } from '../src/storage/azure-clients.js';

/** Entities the pipeline writes per delivery: the record created, the record settled, the audit entry. */
export const ENTITIES_PER_DELIVERY = 3;
/** Entities per Table transaction (the service's limit, all in one partition). */
const BATCH = 100;

/** POSTs per second a plain client gets from the sink, `concurrency` requests in flight for `seconds`. */
export async function httpCeiling(sinkUrl: string, concurrency: number, seconds: number): Promise<number> {
  const url = new URL(sinkUrl);
  const pool = new Pool(url.origin, { connections: concurrency });
  const until = Date.now() + seconds * 1000;
  let done = 0;
  let version = 0;
  const started = Date.now();
  const worker = async () => {
    while (Date.now() < until) {
      const body = JSON.stringify({
        event: 'MODEL_VERSION_CREATED',
        webhook_id: 'ceiling0000000000000000000000000',
        event_timestamp: Date.now(),
        model_name: 'http-ceiling',
        version: String(++version),
        text: "Registered model 'http-ceiling' version 1 was created.",
      });
      const response = await pool.request({ path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': randomUUID() }, body });
      await response.body.text();
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (Date.now() - started) / 1000;
  await pool.close();
  return done / elapsed;
}

/**
 * Deliveries per second the storage could record at best: Table transactions of 100 entities of a record's size
 * (`concurrency` in flight for `seconds`), entities per second divided by ENTITIES_PER_DELIVERY.
 */
export async function storageFloor(connectionString: string, concurrency: number, seconds: number): Promise<number> {
  const table = createStorageClients({ kind: 'connectionString', connectionString }).table('benchfloor');
  await table.createTable();
  const payload = 'x'.repeat(600);
  const until = Date.now() + seconds * 1000;
  let entities = 0;
  let partition = 0;
  const started = Date.now();
  const worker = async () => {
    while (Date.now() < until) {
      const partitionKey = `p${++partition}`;
      const actions: TransactionAction[] = Array.from({ length: BATCH }, (_, index) => [
        'create',
        { partitionKey, rowKey: String(index).padStart(4, '0'), Status: 'PENDING', Attempts: 0, Payload: payload, CreatedTimestamp: Date.now() },
      ]);
      await table.submitTransaction(actions);
      entities += BATCH;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (Date.now() - started) / 1000;
  await table.deleteTable();
  return entities / elapsed / ENTITIES_PER_DELIVERY;
}
