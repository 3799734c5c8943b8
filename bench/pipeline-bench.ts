/**
 * `npm run bench`: the event pipeline end to end on this machine, as Azure will see it: the local runtime (a child
 * process, as `npm start`) polls its queues as the host does (an enqueue does not wake it), and with
 * `--storage-latency 8ms` every storage request of every scenario goes through a proxy that adds that latency
 * (±25%) in front of an in-memory Azurite. Scenarios (each on a fresh Azurite): fan-out 1 with one event per
 * publish call, fan-out 10 with one, fan-out 10 with 25. For each it prints:
 *   - publish → first delivery p50/p99 at one publish call per second (idle-ish) and at half load;
 *   - deliveries/s at saturation, and as a ratio of the raw-POST ceiling measured in the same run;
 *   - the runtime's CPU ms per delivery (user + system of its process, saturated);
 *   - Table and Queue requests and function executions per delivery (at half load);
 *   - the cost per million deliveries on Azure from those figures (bench/azure-prices.ts).
 * Then the wide scenario (one publish of --events events to 1,100 webhooks) and, with --instances N, N deliveries
 * over three runtime processes, one killed mid-run (bench/instances-bench.ts).
 * Options: --storage-latency DURATION (0), --seconds N saturated (10), --idle-seconds N (20), --events N (wide, 100;
 * 0 skips), --instances N (0 skips), --publishers N (4), --receivers N (16 receiver origins the webhooks are spread over), --window N (2000), --retention N (0), --only fanout1|fanout10|batch25|wide,
 * --wake-on-enqueue and --max-polling-interval TIMESPAN (to compare with the dev shortcut and other intervals),
 * --json (ends with one `BENCH_JSON {...}` line), --storage-kinds (storage requests per delivery by kind). BENCH_PROFILE=DIR writes the runtime's --cpu-prof there.
 * `--scenario unity-catalog [--models N]` runs the Unity Catalog poller's cost instead (bench/unity-catalog-bench.ts).
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { parseDuration } from '../src/config/duration.js';
import { FIRST_ATTEMPTS_IN_FLIGHT } from '../src/composition/services.js';
import { startAzurite } from '../src/local/azurite.js';
import { azuriteConnectionString } from '../src/storage/azure-clients.js';
import { spawnRuntime, type TestRuntime } from '../test/support/spawn-runtime.js';
import { PRICES_AS_OF, PRICES_REGION, costPerMillionDeliveries, type CostPerMillion } from './azure-prices.js';
import { httpCeiling } from './baselines.js';
import { API, BENCH_TOKEN, benchEnv, cpuMs, loadAverage, percentile, profileOptions, publishLoad, startSink, stopScenario, waitUntil, type Sink } from './bench-kit.js';
import { instancesScenario, type InstancesFigures } from './instances-bench.js';
import { retentionScenario } from './retention-bench.js';
import { startCountingProxy, type CountingProxy } from './storage-proxy.js';
import { wideScenario, type WideFigures } from './wide-bench.js';
import { unityCatalogScenario } from './unity-catalog-bench.js';

const { values } = parseArgs({
  options: {
    'storage-latency': { type: 'string', default: '0ms' },
    seconds: { type: 'string', default: '10' },
    'idle-seconds': { type: 'string', default: '20' },
    events: { type: 'string', default: '100' },
    instances: { type: 'string', default: '0' },
    publishers: { type: 'string', default: '4' },
    receivers: { type: 'string', default: '16' },
    window: { type: 'string', default: '2000' },
    retention: { type: 'string', default: '0' },
    only: { type: 'string' },
    'wake-on-enqueue': { type: 'boolean', default: false },
    'max-polling-interval': { type: 'string' },
    json: { type: 'boolean', default: false },
    'storage-kinds': { type: 'boolean', default: false },
    scenario: { type: 'string' },
    models: { type: 'string', default: '1000' },
  },
});
const LATENCY_MS = parseDuration(values['storage-latency'], '--storage-latency');
const SECONDS = Number(values.seconds);
const IDLE_SECONDS = Number(values['idle-seconds']);
const PUBLISHERS = Number(values.publishers);
/** Receiver origins the webhooks are spread over (1: every webhook to one origin, capped by its per-origin concurrency). */
const RECEIVERS = Number(values.receivers);
const WINDOW = Number(values.window);
/** First attempts the pipeline has in flight at most per process. */
const SEND_CONCURRENCY = FIRST_ATTEMPTS_IN_FLIGHT;
const EXTRA_ENV: Record<string, string> = values['max-polling-interval'] ? { AzureFunctionsJobHost__extensions__queues__maxPollingInterval: values['max-polling-interval'] } : {};
const RUNTIME_ARGS = values['wake-on-enqueue'] ? ['--wake-on-enqueue'] : [];

interface Phase {
  events: number;
  deliveries: number;
  eventsPerSecond: number;
  deliveriesPerSecond: number;
  firstP50: number;
  firstP99: number;
  runtimeCpuMsPerDelivery: number;
  tablePerDelivery: number;
  queuePerDelivery: number;
  executionsPerDelivery: number;
  lost: number;
  duplicates: number;
}

interface Scenario {
  name: string;
  fanOut: number;
  batch: number;
  idle: Phase;
  saturated: Phase;
  half: Phase;
  halfPace: number;
  ceiling: number;
  cost: CostPerMillion;
}

async function runPhase(runtime: TestRuntime, proxy: CountingProxy, sink: Sink, scenario: { model: string; fanOut: number; batch: number }, seconds: number, pace?: number): Promise<Phase> {
  sink.reset();
  proxy.reset();
  const cpuBefore = cpuMs(runtime.process.pid);
  const pool = new Pool(runtime.baseUrl, { connections: PUBLISHERS + 1 });
  const start = Date.now();
  let published = 0;
  let calls = 0;
  const events = await publishLoad(
    pool,
    { model: scenario.model, batch: scenario.batch, publishers: PUBLISHERS, until: start + seconds * 1000, pace, outstanding: () => published * scenario.fanOut - sink.received.size, window: WINDOW },
    (count) => {
      published += count;
      calls += 1;
    },
  );
  const publishedFor = (Date.now() - start) / 1000;
  await waitUntil(() => sink.received.size >= events * scenario.fanOut, 120_000);
  await pool.close();
  const deliveries = Math.max(1, sink.received.size);
  const firsts = [...sink.firstDelivery.values()].sort((a, b) => a - b);
  const { table, queue } = proxy.counts;
  return {
    events,
    deliveries: sink.received.size,
    eventsPerSecond: events / publishedFor,
    deliveriesPerSecond: sink.received.size / ((sink.lastAt - start) / 1000),
    firstP50: percentile(firsts, 50),
    firstP99: percentile(firsts, 99),
    runtimeCpuMsPerDelivery: (cpuMs(runtime.process.pid) - cpuBefore) / deliveries,
    tablePerDelivery: table / deliveries,
    queuePerDelivery: queue / deliveries,
    executionsPerDelivery: (calls + proxy.dequeued) / deliveries,
    lost: events * scenario.fanOut - sink.received.size,
    duplicates: sink.duplicates,
  };
}

/** The scenario's webhooks, webhook n to receiver n mod the sink's receivers (one origin each). */
async function createWebhooks(runtime: TestRuntime, model: string, fanOut: number, urls: readonly string[]): Promise<void> {
  for (let index = 0; index < fanOut; index += 1) {
    const url = urls[index % urls.length];
    const response = await runtime.api('POST', `${API}/create`, { body: { model_name: model, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url, secret: `bench-secret-${index}` } } });
    if (response.status !== 200) throw new Error(response.text);
  }
}

async function runScenario(sink: Sink, name: string, fanOut: number, batch: number): Promise<Scenario> {
  // A fresh Azurite per scenario: its tables slow down as they grow, so one scenario's data must not weigh on the next.
  const azurite = await startAzurite();
  const proxy = await startCountingProxy(azurite.endpoints, { latencyMs: LATENCY_MS });
  const runtime = await spawnRuntime(benchEnv(azuriteConnectionString(proxy.endpoints), EXTRA_ENV), {
    defaultToken: BENCH_TOKEN,
    queueLease: '10m',
    runtimeArgs: RUNTIME_ARGS,
    ...profileOptions(name),
  });
  try {
    const shape = { model: `bench-${name}`, fanOut, batch };
    await createWebhooks(runtime, shape.model, fanOut, sink.urls);
    await runPhase(runtime, proxy, sink, shape, 2, batch * 5);
    const idle = await runPhase(runtime, proxy, sink, shape, IDLE_SECONDS, batch);
    const saturated = await runPhase(runtime, proxy, sink, shape, SECONDS);
    const ceiling = await httpCeiling(sink.url, SEND_CONCURRENCY, 3);
    const halfPace = Math.max(1, Math.round(saturated.eventsPerSecond / 2));
    const half = await runPhase(runtime, proxy, sink, shape, Math.max(5, SECONDS), halfPace);
    if (values['storage-kinds']) printStorageKinds(name, proxy, half.deliveries);
    const cost = costPerMillionDeliveries({
      runtimeCpuMsPerDelivery: saturated.runtimeCpuMsPerDelivery,
      executionsPerDelivery: half.executionsPerDelivery,
      tableRequestsPerDelivery: half.tablePerDelivery,
      queueRequestsPerDelivery: half.queuePerDelivery,
    });
    return { name, fanOut, batch, idle, saturated, half, halfPace, ceiling, cost };
  } finally {
    await stopScenario(runtime, proxy, azurite);
  }
}

/** `--storage-kinds`: the half-load phase's storage requests per delivery by method and path shape, most first. */
function printStorageKinds(name: string, proxy: CountingProxy, deliveries: number): void {
  const rows = [...proxy.byKind.entries()].sort((a, b) => b[1] - a[1]);
  console.log(`${name}: storage requests per delivery at half load, by kind`);
  for (const [kind, count] of rows) console.log(`  ${(count / Math.max(1, deliveries)).toFixed(3)}  ${kind}`);
}

const ms = (value: number) => `${Math.round(value)} ms`;

function describe(s: Scenario): string {
  return [
    `fan-out ${s.fanOut}, ${s.batch} event${s.batch > 1 ? 's' : ''}/call`,
    `first delivery p50 ${ms(s.idle.firstP50)} / p99 ${ms(s.idle.firstP99)} at 1 call/s (${s.idle.events} events), p50 ${ms(s.half.firstP50)} / p99 ${ms(s.half.firstP99)} at half load (${s.halfPace} events/s)`,
    `saturated ${s.saturated.eventsPerSecond.toFixed(0)} events/s, ${s.saturated.deliveriesPerSecond.toFixed(0)} deliveries/s = ${(s.saturated.deliveriesPerSecond / s.ceiling).toFixed(3)} of the raw-POST ceiling (${s.ceiling.toFixed(0)}/s at ${SEND_CONCURRENCY} in flight)`,
    `runtime CPU ${s.saturated.runtimeCpuMsPerDelivery.toFixed(2)} ms/delivery`,
    `per delivery at half load: Table ${s.half.tablePerDelivery.toFixed(2)}, Queue ${s.half.queuePerDelivery.toFixed(2)} requests, ${s.half.executionsPerDelivery.toFixed(2)} executions (saturated: Table ${s.saturated.tablePerDelivery.toFixed(2)}, Queue ${s.saturated.queuePerDelivery.toFixed(2)})`,
    `$${s.cost.total.toFixed(2)} per million deliveries (compute ≥ $${s.cost.compute.toFixed(2)}, executions $${s.cost.executions.toFixed(2)}, Table $${s.cost.table.toFixed(2)}, Queue $${s.cost.queue.toFixed(2)})`,
    `lost ${s.idle.lost + s.saturated.lost + s.half.lost}, duplicates ${s.idle.duplicates + s.saturated.duplicates + s.half.duplicates}`,
  ].join(' | ');
}

const SCENARIOS = [
  { name: 'fanout1', fanOut: 1, batch: 1 },
  { name: 'fanout10', fanOut: 10, batch: 1 },
  { name: 'batch25', fanOut: 10, batch: 25 },
] as const;

async function main(): Promise<void> {
  if (values.scenario === 'unity-catalog') {
    console.log(await unityCatalogScenario(Number(values.models)));
    return;
  }
  const sink = await startSink(RECEIVERS);
  const load = { before: loadAverage() };
  const scenarios: Scenario[] = [];
  let wide: WideFigures | undefined;
  let instances: InstancesFigures | undefined;
  try {
    for (const { name, fanOut, batch } of SCENARIOS) {
      if (values.only && values.only !== name) continue;
      scenarios.push(await runScenario(sink, name, fanOut, batch));
      console.log(describe(scenarios[scenarios.length - 1] as Scenario));
    }
    const env = (connectionString: string) => benchEnv(connectionString, EXTRA_ENV);
    if (Number(values.events) > 0 && (!values.only || values.only === 'wide')) {
      wide = await wideScenario({ events: Number(values.events), env, runtimeArgs: RUNTIME_ARGS, sink, latencyMs: LATENCY_MS, timeoutMs: 15 * 60_000 });
      console.log(wide.text);
    }
    if (Number(values.instances) > 0) {
      instances = await instancesScenario({ deliveries: Number(values.instances), env, latencyMs: LATENCY_MS });
      console.log(instances.text);
    }
  } finally {
    await sink.close();
  }
  const retention = Number(values.retention) > 0 ? await retentionScenario(Number(values.retention)) : undefined;
  const polling = values['wake-on-enqueue'] ? 'woken on enqueue (dev shortcut, not the host)' : `host polling, maxPollingInterval ${values['max-polling-interval'] ?? 'from host.json'}`;
  console.log(
    `\nregistry-webhooks pipeline benchmark: storage latency ${LATENCY_MS} ms ±25%, ${polling}, webhooks over ${RECEIVERS} receiver origins, ${SECONDS} s saturated (≤ ${WINDOW} deliveries outstanding, ${PUBLISHERS} publishers), ${IDLE_SECONDS} s at 1 call/s; load average ${load.before} before, ${loadAverage()} after; ${process.platform} ${process.arch}, node ${process.version}; prices ${PRICES_REGION} as of ${PRICES_AS_OF}, runtime CPU as a lower bound of instance time`,
  );
  for (const scenario of scenarios) console.log(`  ${describe(scenario)}`);
  if (wide) console.log(`  ${wide.text}`);
  if (instances) console.log(`  ${instances.text}`);
  if (retention) console.log(`  ${retention}`);
  if (values.json) {
    const byName = (name: string) => scenarios.find((scenario) => scenario.name === name);
    const round = (value: number | undefined, digits = 3) => (value === undefined || !Number.isFinite(value) ? null : Number(value.toFixed(digits)));
    const fanout1 = byName('fanout1');
    const fanout10 = byName('fanout10');
    const batch25 = byName('batch25');
    const json = {
      storage_latency_ms: LATENCY_MS,
      polling: values['wake-on-enqueue'] ? 'wake-on-enqueue' : 'host',
      max_polling_interval: values['max-polling-interval'] ?? 'host.json',
      saturated_seconds: SECONDS,
      idle_seconds: IDLE_SECONDS,
      events: Number(values.events),
      receiver_origins: RECEIVERS,
      load_average_before: load.before,
      first_delivery_p50_ms: round(fanout1?.idle.firstP50, 0),
      first_delivery_p99_ms: round(fanout1?.idle.firstP99, 0),
      half_load_first_delivery_p50_ms_batch1: round(fanout10?.half.firstP50, 0),
      half_load_first_delivery_p99_ms_batch1: round(fanout10?.half.firstP99, 0),
      runtime_cpu_ms_per_delivery_batch1: round(fanout10?.saturated.runtimeCpuMsPerDelivery),
      runtime_cpu_ms_per_delivery_batch25: round(batch25?.saturated.runtimeCpuMsPerDelivery),
      table_requests_per_delivery_batch1: round(fanout10?.half.tablePerDelivery),
      queue_requests_per_delivery_batch1: round(fanout10?.half.queuePerDelivery),
      table_requests_per_delivery_batch1_saturated: round(fanout10?.saturated.tablePerDelivery),
      deliveries_per_second_batch1: round(fanout10?.saturated.deliveriesPerSecond, 0),
      deliveries_per_second_batch25: round(batch25?.saturated.deliveriesPerSecond, 0),
      ceiling_ratio_batch1: round(fanout10 ? fanout10.saturated.deliveriesPerSecond / fanout10.ceiling : undefined),
      ceiling_ratio_batch25: round(batch25 ? batch25.saturated.deliveriesPerSecond / batch25.ceiling : undefined),
      wide_deliveries: wide?.deliveries ?? null,
      wide_seconds: round(wide?.seconds, 1),
      wide_peak_rss_mb: round(wide?.peakRssMb, 0),
      instances_deliveries: instances?.deliveries ?? null,
      instances_lost: instances?.lost ?? null,
      cost_usd_per_million_deliveries: round(fanout10?.cost.total, 2),
      cost_basis: `fan-out 10, 1 event per call; ${PRICES_REGION} list prices as of ${PRICES_AS_OF}; runtime CPU as a lower bound of instance time`,
    };
    console.log(`BENCH_JSON ${JSON.stringify(json)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
