/**
 * `npm run bench -- --scenario unity-catalog [--models N]`: the Unity Catalog poller against the fake workspace of
 * test/support (on 127.0.0.1), snapshots in an in-memory Azurite, events onto its `registry-events` queue. N models
 * (default 1,000) in one schema, 3 READY versions and an alias each. Prints, for the baseline pass and for a pass
 * after 10 models changed: the runs a pass takes at the default budget, its Unity Catalog requests, storage
 * requests and time; then the time of one pass in a single run with a budget that covers it.
 */
import { ensureStorage } from '../src/storage/provision.js';
import { startAzurite } from '../src/local/azurite.js';
import { GuardedHttpClient } from '../src/outbound/http-client.js';
import { QUEUES } from '../src/pipeline/queues.js';
import { systemClock } from '../src/shared/ids.js';
import { azuriteConnectionString, createStorageClients } from '../src/storage/azure-clients.js';
import { StorageMessageQueue } from '../src/storage/message-queue.js';
import { TABLES } from '../src/storage/names.js';
import { TableSnapshotStore } from '../src/storage/unity-catalog-snapshots.js';
import { silentLogger } from '../src/telemetry/logger.js';
import { noopMetrics } from '../src/telemetry/metrics.js';
import { UnityCatalogApi } from '../src/unity-catalog/api-client.js';
import { tokenSourceFor } from '../src/unity-catalog/credentials.js';
import { pollUnityCatalog, type RunSummary } from '../src/unity-catalog/poller.js';
import { DEFAULT_UNITY_CATALOG_REQUEST_BUDGET, parseModelSelectors } from '../src/unity-catalog/settings.js';
import { systemResolver } from '../src/webhooks/target-policy.js';
import { startFakeUnityCatalog } from '../test/support/fake-unity-catalog.js';
import { startCountingProxy } from './storage-proxy.js';

const TOKEN = 'dapi-bench-token-0123456789';

export async function unityCatalogScenario(models: number): Promise<string> {
  const azurite = await startAzurite();
  const proxy = await startCountingProxy(azurite.endpoints);
  const fake = await startFakeUnityCatalog({}, { stopAfterTests: false });
  try {
    const storageRequests = () => proxy.counts.table + proxy.counts.queue;
    const storage = createStorageClients({ kind: 'connectionString', connectionString: azuriteConnectionString(proxy.endpoints) });
    await ensureStorage(storage);
    fake.personalTokens.add(TOKEN);
    fake.pageSizes = { models: 1000, versions: 1000 };
    fake.createSchema('main', 'ml');
    const names = Array.from({ length: models }, (_, index) => `main.ml.model_${String(index).padStart(5, '0')}`);
    for (const name of names) {
      fake.createModel(name);
      for (let version = 1; version <= 3; version += 1) fake.createVersion(name, 'READY');
      fake.setAlias(name, 'champion', 3);
    }
    const client = new GuardedHttpClient({ policy: { allowHttp: true, allowPrivate: true }, resolve: systemResolver, timeoutMs: 30_000, maxResponseBytes: 16 * 1024 * 1024, connectionsPerOrigin: 4, now: systemClock });
    const credential = { kind: 'token' as const, token: TOKEN };
    const tokens = tokenSourceFor(credential, { client, workspaceUrl: fake.url, clock: systemClock, identity: () => { throw new Error('not used'); } });
    const queue = new StorageMessageQueue(storage.queue(QUEUES.registryEvents));
    const store = new TableSnapshotStore(storage.table(TABLES.unityCatalog), fake.url);
    const poll = (budget: number) =>
      pollUnityCatalog({
        settings: { workspaceUrl: fake.url, models: parseModelSelectors('main.ml.*'), credential, requestBudget: budget, emitBaseline: false },
        api: () => new UnityCatalogApi(client, fake.url, tokens, budget),
        store,
        publish: { eventQueue: queue, clock: systemClock },
        clock: systemClock,
        log: silentLogger,
        metrics: noopMetrics,
      });
    /** Runs until a pass completes: its runs, Unity Catalog and storage requests, time, and slowest run. */
    const pass = async (budget: number) => {
      const ucBefore = fake.apiRequests().length;
      const storageBefore = storageRequests();
      const started = performance.now();
      const runs: { summary: RunSummary; ms: number }[] = [];
      do {
        const runStarted = performance.now();
        runs.push({ summary: await poll(budget), ms: performance.now() - runStarted });
      } while (runs.at(-1)?.summary.outcome !== 'pass-completed' && runs.length < 1000);
      const ms = performance.now() - started;
      const published = runs.reduce((sum, run) => sum + run.summary.published, 0);
      return {
        text: `${runs.length} runs, ${fake.apiRequests().length - ucBefore} Unity Catalog requests, ${storageRequests() - storageBefore} storage requests, ${(ms / 1000).toFixed(2)} s (slowest run ${(Math.max(...runs.map((run) => run.ms)) / 1000).toFixed(2)} s), ${published} events`,
      };
    };
    const budget = DEFAULT_UNITY_CATALOG_REQUEST_BUDGET;
    const baseline = await pass(budget);
    for (const name of names.slice(0, 10)) fake.setAlias(name, 'champion', fake.createVersion(name, 'READY'));
    const changed = await pass(budget);
    const single = await pass(4 * models + 100);
    return [
      `unity catalog, ${models} models (3 versions and an alias each), one schema:`,
      `  baseline pass at budget ${budget}:      ${baseline.text}`,
      `  pass after 10 models changed:      ${changed.text}`,
      `  one pass in a single run (no cap): ${single.text}`,
    ].join('\n');
  } finally {
    await fake.close();
    await proxy.close();
    await azurite.stop();
  }
}
