import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startCountingProxy, type CountingProxy } from '../../bench/storage-proxy.js';
import { QUEUES } from '../../src/pipeline/queues.js';
import { azuriteConnectionString, createStorageClients, type AzuriteEndpoints } from '../../src/storage/azure-clients.js';
import { queuesDrained } from './azurite.js';
import type { TestRuntime } from './spawn-runtime.js';

const API = '/api/2.0/mlflow/registry-webhooks';
/** Three models whose events go to 1, 4 and 10 webhooks: one registry-wide webhook plus 0, 3 and 9 of the model's own. */
const MODELS = [
  { name: 'many-one', ownHooks: 0 },
  { name: 'many-four', ownHooks: 3 },
  { name: 'many-ten', ownHooks: 9 },
] as const;
const FAN_OUT_SUM = MODELS.reduce((sum, model) => sum + model.ownHooks + 1, 0);
const EVENTS_PER_CALL = 10;
/** Events published twice, through two processes, with the same event_id: each must be delivered once per webhook. */
const REPEATED_EVENTS_PER_MODEL = 5;

interface Receipt {
  webhookId: string;
  at: number;
  status: number;
}

/** The first attempt of every tenth version of this model is answered 503, so retries go through the queue. */
const FLAKY_MODEL = 'many-four';
const isFlaky = (model: string, version: string, receipts: readonly Receipt[]): boolean => model === FLAKY_MODEL && Number(version) % 10 === 0 && receipts.length === 0;

/** Every delivery received: `model:version:webhook` → the webhook-id header and answer of each request. */
async function startLedger(): Promise<{ url: string; byDelivery: Map<string, Receipt[]>; count: () => number; close: () => Promise<void> }> {
  const byDelivery = new Map<string, Receipt[]>();
  const delivered = new Set<string>();
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { webhook_id: string; version: string; model_name: string };
      const key = `${payload.model_name}:${payload.version}:${payload.webhook_id}`;
      const receipts = byDelivery.get(key) ?? [];
      const status = isFlaky(payload.model_name, payload.version, receipts) ? 503 : 200;
      outgoing.writeHead(status).end(status === 200 ? 'OK' : 'busy');
      receipts.push({ webhookId: String(incoming.headers['webhook-id']), at: Date.now(), status });
      byDelivery.set(key, receipts);
      if (status === 200) delivered.add(key);
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/many`,
    byDelivery,
    count: () => delivered.size,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export interface ManyInstancesOptions {
  /** The one Azurite every process shares. */
  azurite: AzuriteEndpoints;
  /** Deliveries to make; rounded down to whole events of the three models. */
  deliveries: number;
  env: (connectionString: string) => Record<string, string>;
  /** Starts a runtime (each through its own proxy to the shared Azurite, which counts its storage requests). */
  spawn: (env: Record<string, string>) => Promise<TestRuntime>;
  latencyMs?: number;
  timeoutMs: number;
  /** Told the deliveries so far every 10 s. */
  progress?: (line: string) => void;
}

export interface ProcessWork {
  name: string;
  /** Queue messages its triggers received (publishing's own fan-outs are not counted). */
  queueExecutions: number;
  tableRequests: number;
  publishCalls: number;
}

export interface ManyInstancesResult {
  expected: number;
  delivered: number;
  lost: number;
  /** Deliveries received under more than one webhook-id: never allowed. */
  splitDeliveries: string[];
  /** Deliveries answered 200 more than once under their webhook-id (the planned 503s are retried, not duplicates). */
  duplicated: number;
  /** Of those, the ones whose first copy was not received before the kill (so not in flight in the killed process). */
  duplicatedNotAtKill: string[];
  /** Events published twice with one event_id that some webhook received under two webhook-ids. */
  repeatedEventsSplit: string[];
  work: ProcessWork[];
  seconds: number;
  text: string;
}

/** Queue messages its triggers received: each one an execution of a queue function. */
const queueExecutions = (proxy: CountingProxy): number => proxy.dequeued;

/**
 * Three runtime processes on one Azurite, mixed fan-out: events are published round-robin through them, the second
 * is SIGKILLed once a third of the deliveries arrived and a fourth is started. Answers what arrived and who worked.
 */
export async function runManyInstances(options: ManyInstancesOptions): Promise<ManyInstancesResult> {
  const eventsPerModel = Math.max(REPEATED_EVENTS_PER_MODEL, Math.floor(options.deliveries / FAN_OUT_SUM));
  const expected = eventsPerModel * FAN_OUT_SUM;
  const ledger = await startLedger();
  const processes: { name: string; runtime: TestRuntime; proxy: CountingProxy; publishCalls: number; calling: number; alive: boolean }[] = [];
  const start = async (name: string) => {
    const proxy = await startCountingProxy(options.azurite, { latencyMs: options.latencyMs ?? 0 });
    const runtime = await options.spawn(options.env(azuriteConnectionString(proxy.endpoints)));
    const entry = { name, runtime, proxy, publishCalls: 0, calling: 0, alive: true };
    processes.push(entry);
    return entry;
  };
  let ticker: NodeJS.Timeout | undefined;
  try {
    await Promise.all(['first', 'second', 'third'].map(start));
    processes.sort((a, b) => ['first', 'second', 'third'].indexOf(a.name) - ['first', 'second', 'third'].indexOf(b.name));
    const [first] = processes;
    if (!first) throw new Error('no runtime');
    const hooks = [{}, ...MODELS.flatMap((model) => Array.from({ length: model.ownHooks }, () => ({ model_name: model.name })))];
    for (const scope of hooks) {
      const created = await first.runtime.api('POST', `${API}/create`, { body: { ...scope, events: ['MODEL_VERSION_CREATED'], http_url_spec: { url: ledger.url } } });
      if (created.status !== 200) throw new Error(`create answered ${created.status}: ${created.text}`);
    }
    const calls: { events: Record<string, unknown>[] }[] = [];
    const repeats: { events: Record<string, unknown>[] }[] = [];
    for (const model of MODELS) {
      const events = Array.from({ length: eventsPerModel }, (_, index) => ({
        event: 'MODEL_VERSION_CREATED',
        model_name: model.name,
        version: String(index + 1),
        ...(index < REPEATED_EVENTS_PER_MODEL ? { event_id: `${model.name}-repeated-${index}` } : {}),
      }));
      for (let offset = 0; offset < events.length; offset += EVENTS_PER_CALL) calls.push({ events: events.slice(offset, offset + EVENTS_PER_CALL) });
      repeats.push({ events: events.slice(0, REPEATED_EVENTS_PER_MODEL) });
    }
    const started = Date.now();
    let next = 0;
    const publisher = (list: typeof calls) => async (lane: number) => {
      while (next < list.length) {
        const call = list[next++];
        const live = processes.filter((entry) => entry.alive);
        const target = live[(next + lane) % live.length];
        if (!call || !target) return;
        target.calling += 1;
        const answer = await target.runtime.api('POST', `${API}/publish`, { body: call }).finally(() => (target.calling -= 1));
        if (answer.status !== 202) throw new Error(`publish answered ${answer.status}: ${answer.text}`);
        target.publishCalls += 1;
      }
    };
    const publishing = Promise.all([0, 1, 2].map(publisher(calls)));
    ticker = setInterval(() => options.progress?.(`${Math.round((Date.now() - started) / 1000)} s: ${ledger.count()} of ${expected} delivered, ${next} of ${calls.length} publish calls`), 10_000);
    const deadline = started + options.timeoutMs;
    const waitFor = async (condition: () => boolean) => {
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${ledger.count()} of ${expected} deliveries`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    const victim = processes[1];
    if (!victim) throw new Error('no second runtime');
    await waitFor(() => ledger.count() >= expected / 3 && victim.publishCalls + queueExecutions(victim.proxy) > 0);
    // Taken out of the rotation first, as a load balancer drains an instance, so no publish call is cut off (its
    // caller could not tell whether it was taken); its own fan-outs and queue work are still running when it dies.
    victim.alive = false;
    await waitFor(() => victim.calling === 0);
    victim.runtime.kill();
    const killedAt = Date.now();
    await new Promise((resolve) => victim.runtime.process.once('exit', resolve));
    await start('fourth');
    await publishing;
    await waitFor(() => ledger.count() >= expected);
    const seconds = (Date.now() - started) / 1000;
    // What the killed process held comes back after its lease: wait until nothing is left, so late copies count.
    const clients = createStorageClients({ kind: 'connectionString', connectionString: azuriteConnectionString(options.azurite) });
    const drained = () => queuesDrained(clients, [QUEUES.registryEvents, QUEUES.deliveries], Math.max(30_000, deadline - Date.now()));
    await drained();
    // A publisher retrying: the same event_ids again, now that their fan-out finished, through whichever process.
    // (A copy arriving while the first is still fanning out waits for its claim, up to 10 minutes: not run here.)
    next = 0;
    await Promise.all([1, 2].map(publisher(repeats)));
    await drained();

    const receipts = [...ledger.byDelivery.entries()];
    const splitDeliveries = receipts.filter(([, list]) => new Set(list.map((receipt) => receipt.webhookId)).size > 1).map(([key]) => key);
    const duplicatedEntries = receipts.filter(([, list]) => list.filter((receipt) => receipt.status === 200).length > 1);
    const duplicatedNotAtKill = duplicatedEntries.filter(([, list]) => (list.find((receipt) => receipt.status === 200)?.at ?? Infinity) > killedAt + 1000).map(([key]) => key);
    const repeatedEventsSplit = MODELS.flatMap((model) =>
      receipts.filter(([key, list]) => key.startsWith(`${model.name}:`) && Number(key.split(':')[1]) <= REPEATED_EVENTS_PER_MODEL && new Set(list.map((receipt) => receipt.webhookId)).size > 1).map(([key]) => key),
    );
    const work = processes.map((entry) => ({ name: entry.name, queueExecutions: queueExecutions(entry.proxy), tableRequests: entry.proxy.counts.table, publishCalls: entry.publishCalls }));
    const delivered = ledger.count();
    const text = [
      `many instances: ${expected} deliveries (fan-out 1, 4 and 10) through 3 runtime processes on one Azurite, the second SIGKILLed after ${Math.round((killedAt - started) / 1000)} s and a fourth started`,
      `delivered ${delivered} in ${seconds.toFixed(1)} s (${(delivered / seconds).toFixed(0)} deliveries/s), lost ${expected - delivered}, received twice ${duplicatedEntries.length} (${duplicatedNotAtKill.length} not in flight at the kill), under two webhook-ids ${splitDeliveries.length}`,
      `work: ${work.map((entry) => `${entry.name} ${entry.publishCalls} publish calls (each fanning out), ${entry.queueExecutions} queue executions`).join(', ')}`,
    ].join(' | ');
    return { expected, delivered, lost: expected - delivered, splitDeliveries, duplicated: duplicatedEntries.length, duplicatedNotAtKill, repeatedEventsSplit, work, seconds, text };
  } finally {
    clearInterval(ticker);
    for (const entry of processes) {
      if (entry.alive) await entry.runtime.stop();
      await entry.proxy.close();
    }
    await ledger.close();
  }
}
