import { DefaultAzureCredential } from '@azure/identity';
import { GuardedHttpClient } from '../outbound/http-client.js';
import type { PublishDeps } from '../pipeline/publish-events.js';
import type { Clock } from '../shared/ids.js';
import type { StorageClients } from '../storage/azure-clients.js';
import { TABLES } from '../storage/names.js';
import { TableSnapshotStore } from '../storage/unity-catalog-snapshots.js';
import { silentLogger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { UnityCatalogApi } from '../unity-catalog/api-client.js';
import { tokenSourceFor } from '../unity-catalog/credentials.js';
import type { PollerDeps } from '../unity-catalog/poller.js';
import type { UnityCatalogSource } from '../unity-catalog/settings.js';
import type { SnapshotStore } from '../unity-catalog/snapshot-store.js';
import type { Resolver, TargetPolicy } from '../webhooks/target-policy.js';

/** A Unity Catalog call may take this long: a page of 1,000 models is large and the workspace may be slow. */
const UNITY_CATALOG_TIMEOUT_MS = 30_000;
/** A page of 1,000 registered models with long comments stays under this. */
const UNITY_CATALOG_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface UnityCatalogServices {
  source: UnityCatalogSource;
  /** Present while the source is on. */
  poller?: PollerDeps;
  store?: SnapshotStore;
}

/** The source's parts, built only when its settings are good: its own HTTP client (same target policy), token source and store. */
export function buildUnityCatalog(source: UnityCatalogSource, deps: { storage: StorageClients; policy: TargetPolicy; resolve: Resolver; publish: PublishDeps; clock: Clock; metrics: Metrics }): UnityCatalogServices {
  if (source.kind !== 'on') return { source };
  const { settings } = source;
  const client = new GuardedHttpClient({
    policy: deps.policy,
    resolve: deps.resolve,
    timeoutMs: UNITY_CATALOG_TIMEOUT_MS,
    maxResponseBytes: UNITY_CATALOG_MAX_RESPONSE_BYTES,
    connectionsPerOrigin: 4,
    now: deps.clock,
  });
  const tokens = tokenSourceFor(settings.credential, { client, workspaceUrl: settings.workspaceUrl, clock: deps.clock, identity: () => new DefaultAzureCredential() });
  const store = new TableSnapshotStore(deps.storage.table(TABLES.unityCatalog), settings.workspaceUrl);
  return {
    source,
    store,
    poller: {
      settings,
      api: () => new UnityCatalogApi(client, settings.workspaceUrl, tokens, settings.requestBudget),
      store,
      publish: deps.publish,
      clock: deps.clock,
      log: silentLogger,
      metrics: deps.metrics,
    },
  };
}
