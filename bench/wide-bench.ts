/**
 * The wide scenario of `npm run bench` (`--events N`, 0 skips it): one publish of N events (default 100, the most one call
 * takes) for a model with 100 model webhooks, plus 1,000 registry-wide webhooks: N × 1,100 deliveries. Prints
 * the time to the last delivery, peak RSS of the runtime's process tree and of Azurite (separately), peak open
 * file descriptors of the runtime (/proc/<pid>/fd), storage requests per delivery, the slowest /api/health
 * answer while it ran, and lost/duplicate deliveries. Linux only (reads /proc).
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { startAzurite } from '../src/local/azurite.js';
import { azuriteConnectionString } from '../src/storage/azure-clients.js';
import { spawnRuntime, type TestRuntime } from '../test/support/spawn-runtime.js';
import { API, BENCH_TOKEN, cpuMs, profileOptions, rssMb, stopScenario, treeOf, type Sink } from './bench-kit.js';
import { startCountingProxy } from './storage-proxy.js';

const MODEL_WEBHOOKS = 100;
const REGISTRY_WIDE_WEBHOOKS = 1000;

export interface WideFigures {
  deliveries: number;
  lost: number;
  seconds: number;
  peakRssMb: number;
  text: string;
}

function fds(pids: number[]): number {
  return pids.reduce((sum, pid) => {
    try {
      return sum + readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      return sum;
    }
  }, 0);
}

async function createMany(runtime: TestRuntime, bodies: Record<string, unknown>[], concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const response = await runtime.api('POST', `${API}/create`, { body });
      if (response.status !== 200) throw new Error(`create answered ${response.status}: ${response.text}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

export async function wideScenario(options: {
  events: number;
  env: (connectionString: string) => Record<string, string>;
  runtimeArgs: string[];
  sink: Sink;
  latencyMs: number;
  timeoutMs: number;
}): Promise<WideFigures> {
  const { events, sink } = options;
  const azurite = await startAzurite();
  const proxy = await startCountingProxy(azurite.endpoints, { latencyMs: options.latencyMs });
  const runtime = await spawnRuntime(options.env(azuriteConnectionString(proxy.endpoints)), {
    defaultToken: BENCH_TOKEN,
    runtimeArgs: options.runtimeArgs,
    ...profileOptions('wide'),
  });
  const model = 'bench-wide';
  try {
    // Webhook n goes to receiver n mod the sink's receivers: one origin each, as different teams' receivers are.
    const hook = (index: number, modelName?: string) => ({
      ...(modelName ? { model_name: modelName } : {}),
      events: ['MODEL_VERSION_CREATED'],
      http_url_spec: { url: sink.urls[index % sink.urls.length] },
    });
    await createMany(runtime, [
      ...Array.from({ length: MODEL_WEBHOOKS }, (_, index) => hook(index, model)),
      ...Array.from({ length: REGISTRY_WIDE_WEBHOOKS }, (_, index) => hook(MODEL_WEBHOOKS + index)),
    ]);
    const expected = events * (MODEL_WEBHOOKS + REGISTRY_WIDE_WEBHOOKS);
    const before = sink.received.size;
    const duplicatesBefore = sink.duplicates;
    proxy.reset();
    const runtimePid = runtime.process.pid ?? 0;
    const azuritePid = azurite.process?.pid ?? 0;
    const peak = { runtimeRss: 0, azuriteRss: 0, fds: 0, healthMs: 0, healthFailures: 0 };
    let running = true;
    const sampler = (async () => {
      while (running) {
        const tree = treeOf(runtimePid);
        peak.runtimeRss = Math.max(peak.runtimeRss, rssMb(tree));
        peak.azuriteRss = Math.max(peak.azuriteRss, rssMb(treeOf(azuritePid)));
        peak.fds = Math.max(peak.fds, fds(tree));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const health = (async () => {
      while (running) {
        const started = Date.now();
        const answer = await runtime.api('GET', '/api/health', { token: null }).catch(() => undefined);
        peak.healthMs = Math.max(peak.healthMs, Date.now() - started);
        if (answer?.status !== 200) peak.healthFailures += 1;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    const cpuBefore = { runtime: cpuMs(runtimePid), azurite: cpuMs(azuritePid), bench: process.cpuUsage() };
    const started = Date.now();
    const published = await runtime.api('POST', `${API}/publish`, {
      body: { events: Array.from({ length: events }, (_, index) => ({ event: 'MODEL_VERSION_CREATED', model_name: model, version: String(index + 1) })) },
    });
    if (published.status !== 202) throw new Error(`publish answered ${published.status}: ${published.text}`);
    const deadline = started + options.timeoutMs;
    while (sink.received.size - before < expected && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    // A little longer, so late duplicates are counted too.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    running = false;
    await Promise.all([sampler, health]);
    // Who used the machine's CPU meanwhile: the runtime, Azurite, and this process (sink, storage proxy, health probe).
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    const cpuSeconds = {
      runtime: (cpuMs(runtimePid) - cpuBefore.runtime) / 1000,
      azurite: (cpuMs(azuritePid) - cpuBefore.azurite) / 1000,
      bench: (benchCpu.user + benchCpu.system) / 1e6,
    };
    const delivered = sink.received.size - before;
    const { table, queue } = proxy.counts;
    const seconds = (sink.lastAt - started) / 1000;
    const text = [
      `wide fan-out: ${events} events × ${MODEL_WEBHOOKS + REGISTRY_WIDE_WEBHOOKS} webhooks (${MODEL_WEBHOOKS} model, ${REGISTRY_WIDE_WEBHOOKS} registry-wide) on ${sink.urls.length} receiver origin${sink.urls.length === 1 ? '' : 's'} = ${expected} deliveries`,
      `delivered ${delivered}, lost ${expected - delivered}, duplicates ${sink.duplicates - duplicatesBefore}`,
      `last delivery after ${seconds.toFixed(1)} s (${(delivered / seconds).toFixed(0)} deliveries/s)`,
      `peak RSS: runtime ${peak.runtimeRss.toFixed(0)} MB, Azurite ${peak.azuriteRss.toFixed(0)} MB`,
      `peak open fds of the runtime ${peak.fds}`,
      `${((table + queue) / Math.max(1, delivered)).toFixed(2)} storage requests/delivery (table ${(table / Math.max(1, delivered)).toFixed(2)}, queue ${(queue / Math.max(1, delivered)).toFixed(2)})`,
      `/api/health slowest ${peak.healthMs} ms, not 200 ${peak.healthFailures} times`,
      `CPU meanwhile: runtime ${cpuSeconds.runtime.toFixed(1)} s (${((cpuSeconds.runtime * 1000) / Math.max(1, delivered)).toFixed(2)} ms/delivery), Azurite ${cpuSeconds.azurite.toFixed(1)} s, bench (sink, proxy) ${cpuSeconds.bench.toFixed(1)} s, over ${((sink.lastAt - started) / 1000 + 3).toFixed(1)} s on ${availableParallelism()} cores`,
    ].join(' | ');
    return { deliveries: delivered, lost: expected - delivered, seconds, peakRssMb: peak.runtimeRss, text };
  } finally {
    await stopScenario(runtime, proxy, azurite);
  }
}
