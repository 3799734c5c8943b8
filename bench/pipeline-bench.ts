/**
 * `npm run bench`: the event pipeline under load, on this machine, end to end. It starts an in-memory Azurite,
 * the local runtime (a child process, as `npm start`), and a sink HTTP server, creates 1 or 10 webhooks that
 * point at the sink, and for each fan-out:
 *   1. saturates: publishers post batches of events for a fixed time as fast as the pipeline takes them (at
 *      most --window deliveries outstanding), then the run drains; prints events/s, deliveries/s (first
 *      publish to last receipt), latency p50/p99, and CPU per delivery of each process;
 *   2. runs paced at half the saturated event rate, for latency without a backlog;
 *   3. repeats the paced run through a proxy that counts Azurite requests, for storage requests per event.
 * Then the retention scenario (bench/retention-bench.ts): one retention run's time and storage requests on
 * --retention N expired delivery records (default 100000; 0 skips it).
 * Each fan-out's deliveries/s is also printed as a ratio of two baselines measured in the same run on the same
 * sink and Azurite (bench/baselines.ts): the HTTP ceiling and the storage floor.
 * Options: --seconds N (default 15), --batch N events per publish call (default 25), --publishers N (4),
 * --fanouts 1,10, --window N (2000), --retention N (100000).
 * `--scenario wide [--events N]` runs the wide fan-out instead (bench/wide-bench.ts).
 * `--scenario unity-catalog [--models N]` runs the Unity Catalog poller's cost instead (bench/unity-catalog-bench.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startAzurite } from '../src/local/azurite.js';
import { azuriteConnectionString } from '../src/storage/azure-clients.js';
import { spawnRuntime, type TestRuntime } from '../test/support/spawn-runtime.js';
import { FAN_OUT_WAVES_IN_FLIGHT } from '../src/composition/services.js';
import { ENTITIES_PER_DELIVERY, httpCeiling, storageFloor } from './baselines.js';
import { retentionScenario } from './retention-bench.js';
import { wideScenario } from './wide-bench.js';
import { unityCatalogScenario } from './unity-catalog-bench.js';
import { startCountingProxy } from './storage-proxy.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    batch: { type: 'string', default: '25' },
    publishers: { type: 'string', default: '4' },
    fanouts: { type: 'string', default: '1,10' },
    window: { type: 'string', default: '2000' },
    retention: { type: 'string', default: '100000' },
    scenario: { type: 'string', default: 'pipeline' },
    events: { type: 'string', default: '100' },
    models: { type: 'string', default: '1000' },
  },
});
const SECONDS = Number(values.seconds);
const BATCH = Number(values.batch);
const PUBLISHERS = Number(values.publishers);
const FANOUTS = values.fanouts.split(',').map(Number);
/** Deliveries that may be outstanding at saturation. */
const WINDOW = Number(values.window);
const TOKEN = 'bench-admin-token-0123456789abcdef';
/** First attempts the pipeline has in flight at most per process: its waves in flight times 64 attempts each. */
const SEND_CONCURRENCY = FAN_OUT_WAVES_IN_FLIGHT * 64;
const API = '/api/2.0/mlflow/registry-webhooks';

interface Sink {
  url: string;
  received: Map<string, number>;
  latencies: number[];
  duplicates: number;
  lastAt: number;
  reset(): void;
  close(): Promise<void>;
}

async function startSink(): Promise<Sink> {
  const sink = { received: new Map<string, number>(), latencies: [] as number[], duplicates: 0, lastAt: 0 };
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      outgoing.writeHead(200).end('OK');
      const now = Date.now();
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { webhook_id: string; version: string; event_timestamp: number; model_name: string };
      const key = `${payload.model_name}:${payload.version}:${payload.webhook_id}`;
      if (sink.received.has(key)) {
        sink.duplicates += 1;
        return;
      }
      sink.received.set(key, now);
      sink.latencies.push(now - payload.event_timestamp);
      sink.lastAt = now;
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sink`,
    get received() {
      return sink.received;
    },
    get latencies() {
      return sink.latencies;
    },
    get duplicates() {
      return sink.duplicates;
    },
    get lastAt() {
      return sink.lastAt;
    },
    reset: () => {
      sink.received.clear();
      sink.latencies.length = 0;
      sink.duplicates = 0;
      sink.lastAt = 0;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

let versionCounter = 1;

/**
 * Publishes batches until `until`. With `pace` (events/s) the calls are spaced; otherwise the publishers run
 * flat out, but never with more than `window` deliveries outstanding (published, not yet received), so the
 * run measures what the pipeline sustains instead of growing a backlog. Answers the events sent.
 */
async function publishLoad(
  pool: Pool,
  model: string,
  until: number,
  outstanding: () => number,
  window: number,
  pace: number | undefined,
  onSent: (count: number) => void,
): Promise<number> {
  let sent = 0;
  const started = Date.now();
  const publisher = async () => {
    while (Date.now() < until) {
      while (!pace && outstanding() + BATCH > window && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
      if (pace) {
        const due = started + (sent / pace) * 1000;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        if (Date.now() >= until) break;
      }
      const events = Array.from({ length: BATCH }, () => ({ event: 'MODEL_VERSION_CREATED', model_name: model, version: String(versionCounter++), event_timestamp: Date.now() }));
      sent += events.length;
      onSent(events.length);
      const response = await pool.request({ path: `${API}/publish`, method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      await response.body.text();
      if (response.statusCode !== 202) throw new Error(`publish answered ${response.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: pace ? 1 : PUBLISHERS }, publisher));
  return sent;
}

async function drain(sink: Sink, expected: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (sink.received.size < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

interface Figures {
  /** CPU ms per delivery: the runtime, Azurite, and this process (publishers and sink). */
  cpu: { runtime: number; azurite: number; bench: number };
  events: number;
  eventsPerSecond: number;
  deliveriesPerSecond: number;
  p50: number;
  p99: number;
  lost: number;
  duplicates: number;
}

async function runPhase(runtime: TestRuntime, azuritePid: number | undefined, sink: Sink, model: string, fanOut: number, seconds: number, pace?: number): Promise<Figures> {
  sink.reset();
  const cpuBefore = { runtime: cpuMs(runtime.process.pid), azurite: cpuMs(azuritePid), bench: cpuMs(process.pid) };
  const pool = new Pool(runtime.baseUrl, { connections: PUBLISHERS + 1 });
  const start = Date.now();
  let published = 0;
  const outstanding = () => published * fanOut - sink.received.size;
  const events = await publishLoad(pool, model, start + seconds * 1000, outstanding, WINDOW, pace, (count) => (published += count));
  const publishedFor = (Date.now() - start) / 1000;
  await drain(sink, events * fanOut);
  await pool.close();
  const latencies = [...sink.latencies].sort((a, b) => a - b);
  const perDelivery = (before: number, after: number) => (after - before) / Math.max(1, sink.received.size);
  return {
    cpu: {
      runtime: perDelivery(cpuBefore.runtime, cpuMs(runtime.process.pid)),
      azurite: perDelivery(cpuBefore.azurite, cpuMs(azuritePid)),
      bench: perDelivery(cpuBefore.bench, cpuMs(process.pid)),
    },
    events,
    eventsPerSecond: events / publishedFor,
    deliveriesPerSecond: sink.received.size / ((sink.lastAt - start) / 1000),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    lost: events * fanOut - sink.received.size,
    duplicates: sink.duplicates,
  };
}

async function createWebhooks(runtime: TestRuntime, model: string, fanOut: number, url: string): Promise<void> {
  for (let index = 0; index < fanOut; index += 1) {
    const response = await runtime.api('POST', `${API}/create`, { body: { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url, secret: `bench-secret-${index}` } } });
    if (response.status !== 200) throw new Error(response.text);
  }
}

async function main(): Promise<void> {
  if (values.scenario === 'unity-catalog') {
    console.log(await unityCatalogScenario(Number(values.models)));
    return;
  }
  const sink = await startSink();
  const env = (connectionString: string) => ({
    AzureWebJobsStorage: connectionString,
    WEBHOOKS_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    WEBHOOKS_AUTH_TOKENS: `admin:${TOKEN}`,
    WEBHOOKS_ALLOW_HTTP_TARGETS: 'true',
    WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOKS_RATE_LIMIT: '0',
  });
  const rows: string[] = [];
  if (values.scenario === 'wide') {
    try {
      console.log(await wideScenario({ events: Number(values.events), token: TOKEN, env, sink, timeoutMs: 15 * 60_000 }));
    } finally {
      await sink.close();
    }
    return;
  }
  try {
    for (const fanOut of FANOUTS) {
      // A fresh Azurite per scenario: its tables slow down as they grow (see the README), so one scenario's
      // data must not weigh on the next.
      const azurite = await startAzurite();
      const proxy = await startCountingProxy(azurite.endpoints);
      const model = `bench-fanout-${fanOut}`;
      const direct = await spawnRuntime(env(azurite.connectionString), {
        defaultToken: TOKEN,
        queueLease: '10m',
        ...(process.env.BENCH_PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] } : {}),
      });
      await createWebhooks(direct, model, fanOut, sink.url);
      const pid = azurite.process?.pid;
      await runPhase(direct, pid, sink, model, fanOut, 2);
      const saturated = await runPhase(direct, pid, sink, model, fanOut, SECONDS);
      // Same run, same sink, same Azurite: what plain HTTP and plain Table batches reach here and now.
      const ceiling = await httpCeiling(sink.url, SEND_CONCURRENCY, 5);
      sink.reset();
      const floor = await storageFloor(azurite.connectionString, FAN_OUT_WAVES_IN_FLIGHT, 5);
      const pace = Math.max(1, Math.round(saturated.deliveriesPerSecond / fanOut / 2));
      const paced = await runPhase(direct, pid, sink, model, fanOut, Math.max(5, SECONDS / 2), pace);
      if (process.env.BENCH_PROFILE) {
        // The profile is written at exit: give the runtime all the time it needs to stop.
        direct.process.kill('SIGTERM');
        await new Promise((resolve) => direct.process.once('exit', resolve));
      }
      await direct.stop();

      const counted = await spawnRuntime(env(azuriteConnectionString(proxy.endpoints)), { defaultToken: TOKEN, queueLease: '10m' });
      await runPhase(counted, pid, sink, model, fanOut, 2, pace);
      proxy.reset();
      const countedRun = await runPhase(counted, pid, sink, model, fanOut, 5, pace);
      const { table, queue } = proxy.counts;
      if (process.env.BENCH_DETAIL) {
        for (const [kind, count] of [...proxy.byKind.entries()].sort((a, b) => b[1] - a[1])) console.log(`    ${(count / countedRun.events).toFixed(3)}/event  ${kind}`);
        console.log(counted.output().split('\n').filter((line) => /warn|error|defer/i.test(line)).slice(0, 10).join('\n'));
      }
      await counted.stop();

      rows.push(
        [
          `fan-out ${fanOut}`,
          `${saturated.eventsPerSecond.toFixed(0)} events/s`,
          `${saturated.deliveriesPerSecond.toFixed(0)} deliveries/s = ${(saturated.deliveriesPerSecond / ceiling).toFixed(3)} of the HTTP ceiling (${ceiling.toFixed(0)} POSTs/s at ${SEND_CONCURRENCY} in flight), ${(saturated.deliveriesPerSecond / floor).toFixed(3)} of the storage floor (${floor.toFixed(0)} deliveries/s of ${ENTITIES_PER_DELIVERY}-entity Table batches)`,
          `latency p50 ${paced.p50} ms / p99 ${paced.p99} ms at ${pace} events/s (half load)`,
          `p50 ${saturated.p50} ms / p99 ${saturated.p99} ms saturated`,
          `${((table + queue) / countedRun.events).toFixed(2)} storage requests/event (table ${(table / countedRun.events).toFixed(2)}, queue ${(queue / countedRun.events).toFixed(2)})`,
          `CPU per delivery: runtime ${saturated.cpu.runtime.toFixed(2)} ms, Azurite ${saturated.cpu.azurite.toFixed(2)} ms, publishers+sink ${saturated.cpu.bench.toFixed(2)} ms`,
          `lost ${saturated.lost + paced.lost + countedRun.lost}, duplicates ${saturated.duplicates + paced.duplicates + countedRun.duplicates}`,
        ].join(' | '),
      );
      console.log(rows[rows.length - 1]);
      await proxy.close();
      await azurite.stop();
    }
  } finally {
    await sink.close();
  }
  console.log(
    `\nregistry-webhooks pipeline benchmark (${SECONDS} s saturation with at most ${WINDOW} deliveries outstanding, ${BATCH} events per publish call, ${PUBLISHERS} publishers, in-memory Azurite, ${process.platform} ${process.arch}, node ${process.version})`,
  );
  for (const row of rows) console.log(`  ${row}`);
  if (Number(values.retention) > 0) console.log(`  ${await retentionScenario(Number(values.retention))}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
