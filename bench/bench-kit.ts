/**
 * What the bench scenarios share: a sink that records each event's first delivery, CPU and RSS readings from
 * /proc (Linux), percentiles, and publishing at a pace or flat out.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'undici';
import type { RunningAzurite } from '../src/local/azurite.js';
import type { TestRuntime } from '../test/support/spawn-runtime.js';
import type { CountingProxy } from './storage-proxy.js';

export const API = '/api/2.0/mlflow/registry-webhooks';
export const BENCH_TOKEN = 'bench-admin-token-0123456789abcdef';

export interface Sink {
  /** The first receiver's URL. */
  url: string;
  /**
   * One URL per receiver (`startSink(n)`: n servers, n origins), so webhooks can be spread the way a registry's
   * teams' receivers are: the per-origin concurrency the service keeps to (docs/delivery.md) then applies to each.
   */
  urls: string[];
  /** model:version:webhook → receipt time; a key seen again counts as a duplicate. */
  received: Map<string, number>;
  /** Every receipt's webhook-id header, to tell duplicates of one attempt from two attempts. */
  webhookIds: Map<string, number>;
  /** model:version → first receipt of that event by any webhook, minus when it was published. */
  firstDelivery: Map<string, number>;
  duplicates: number;
  lastAt: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startSink(receivers = 1): Promise<Sink> {
  const state = { received: new Map<string, number>(), webhookIds: new Map<string, number>(), firstDelivery: new Map<string, number>(), duplicates: 0, lastAt: 0 };
  const receive = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      outgoing.writeHead(200).end('OK');
      const now = Date.now();
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { webhook_id: string; version: string; event_timestamp: number; model_name: string };
      const webhookId = String(incoming.headers['webhook-id'] ?? '');
      state.webhookIds.set(webhookId, (state.webhookIds.get(webhookId) ?? 0) + 1);
      const event = `${payload.model_name}:${payload.version}`;
      const key = `${event}:${payload.webhook_id}`;
      if (state.received.has(key)) {
        state.duplicates += 1;
        return;
      }
      state.received.set(key, now);
      if (!state.firstDelivery.has(event)) state.firstDelivery.set(event, now - payload.event_timestamp);
      state.lastAt = now;
    });
  };
  const servers: Server[] = [];
  for (let index = 0; index < Math.max(1, receivers); index += 1) {
    const server = createServer(receive);
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const urls = servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/sink`);
  return Object.assign(state, {
    url: urls[0] as string,
    urls,
    reset: () => {
      state.received.clear();
      state.webhookIds.clear();
      state.firstDelivery.clear();
      state.duplicates = 0;
      state.lastAt = 0;
    },
    close: async () => {
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc. */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/** The process and its descendants. */
export function treeOf(pid: number): number[] {
  try {
    const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
    return [pid, ...children.flatMap(treeOf)];
  } catch {
    return [];
  }
}

export function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb / 1024;
}

export const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

let versionCounter = 1;

export interface LoadOptions {
  model: string;
  batch: number;
  publishers: number;
  until: number;
  /** Events per second; without it the publishers run flat out, at most `window` deliveries outstanding. */
  pace?: number;
  outstanding: () => number;
  window: number;
}

/** Publishes batches until `until`; answers the events sent. */
export async function publishLoad(pool: Pool, options: LoadOptions, onSent: (count: number) => void): Promise<number> {
  const { batch, pace, until } = options;
  let sent = 0;
  const started = Date.now();
  const publisher = async () => {
    while (Date.now() < until) {
      while (!pace && options.outstanding() + batch > options.window && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
      if (pace) {
        const due = started + (sent / pace) * 1000;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        if (Date.now() >= until) break;
      }
      const events = Array.from({ length: batch }, () => ({ event: 'MODEL_VERSION_CREATED', model_name: options.model, version: String(versionCounter++), event_timestamp: Date.now() }));
      sent += events.length;
      onSent(events.length);
      const response = await pool.request({ path: `${API}/publish`, method: 'POST', headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }) });
      await response.body.text();
      if (response.statusCode !== 202) throw new Error(`publish answered ${response.statusCode}`);
    }
  };
  await Promise.all(Array.from({ length: pace ? 1 : options.publishers }, publisher));
  return sent;
}

export async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

/** The settings every bench runtime gets: HTTP targets on 127.0.0.1, no rate limit. */
export const benchEnv = (connectionString: string, extra: Record<string, string> = {}): Record<string, string> => ({
  AzureWebJobsStorage: connectionString,
  WEBHOOKS_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
  WEBHOOKS_AUTH_TOKENS: `admin:${BENCH_TOKEN}`,
  WEBHOOKS_ALLOW_HTTP_TARGETS: 'true',
  WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
  WEBHOOKS_RATE_LIMIT: '0',
  ...extra,
});

/** With BENCH_PROFILE=DIR, the runtime's Node options that write its CPU profile there as `<name>.cpuprofile`. */
export const profileOptions = (name: string): { nodeArgs?: string[] } =>
  process.env.BENCH_PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`, `--cpu-prof-name=${name}.cpuprofile`] } : {};

/** Stops a scenario's runtime, proxy and Azurite; with BENCH_PROFILE, lets the runtime exit on its own first, as the profile is written at exit. */
export async function stopScenario(runtime: TestRuntime, proxy: CountingProxy, azurite: Pick<RunningAzurite, 'stop'>): Promise<void> {
  if (process.env.BENCH_PROFILE) {
    runtime.process.kill('SIGTERM');
    await new Promise((resolve) => runtime.process.once('exit', resolve));
  }
  await runtime.stop();
  await proxy.close();
  await azurite.stop();
}
