/**
 * The same-run baseline `npm run bench` divides by, so figures compare across runs on a shared machine: the raw-POST
 * ceiling, undici POSTs of a delivery-sized body to the sink at the pipeline's concurrency.
 */
import { randomUUID } from 'node:crypto';
import { Pool } from 'undici';

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
