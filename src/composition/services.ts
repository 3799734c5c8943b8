import { ChainAuthenticator, StaticTokenAuthenticator } from '../auth/static-tokens.js';
import { OidcAuthenticator } from '../auth/oidc.js';
import type { Authenticator } from '../auth/principal.js';
import type { Config } from '../config/config.js';
import { AutoDisableWatch } from '../pipeline/auto-disable.js';
import type { AttemptDeps } from '../pipeline/attempts.js';
import type { DeliveriesApiDeps } from '../pipeline/deliveries-api.js';
import type { SummaryDeps } from '../pipeline/deliveries-summary.js';
import type { TestCallDeps } from '../pipeline/test-webhook.js';
import { processEventMessage, type FanOutDeps } from '../pipeline/fan-out.js';
import { GuardedHttpClient } from '../outbound/http-client.js';
import { JobTargetSender } from '../outbound/job-target-sender.js';
import { EntraTokens } from '../outbound/entra-tokens.js';
import { OAuth2Tokens } from '../outbound/oauth2-tokens.js';
import { OriginGate, refusedRetryBudgetOf } from '../outbound/origin-gate.js';
import { INLINE_FAN_OUTS, InlineFanOut, type PublishDeps } from '../pipeline/publish-events.js';
import { SubscriberLookup } from '../pipeline/subscriber-lookup.js';
import { RateSlots } from '../pipeline/rate-slots.js';
import { TableRateSlots } from '../storage/table-rate-slots.js';
import { systemResolver, type Resolver, type TargetPolicy } from '../webhooks/target-policy.js';
import { HttpTargetSender, TargetSenders } from '../outbound/target-sender.js';
import { RateLimiter } from '../http/rate-limiter.js';
import { Semaphore } from '../shared/limit.js';
import { randomHexId, systemClock, type Clock } from '../shared/ids.js';
import { processLogger, silentLogger } from '../telemetry/logger.js';
import { DEFAULT_RETENTION_BUDGET, type RetentionDeps } from '../pipeline/retention.js';
import type { CountableQueue } from '../pipeline/poison-queues.js';
import type { ServiceStatusDeps } from '../pipeline/service-status.js';
import { queueGauge } from '../storage/queue-gauge.js';
import { noopMetrics, type Metrics } from '../telemetry/metrics.js';
import { TableAuditLog } from '../storage/audit-log.js';
import { createStorageClients, type StorageClients } from '../storage/azure-clients.js';
import { TableDeliveryCounts } from '../storage/delivery-counts.js';
import { DayIndex } from '../storage/day-index.js';
import { TableDeliveryStore } from '../storage/delivery-store.js';
import { DEDUP_WINDOW_MS } from '../pipeline/event-claims.js';
import { poisonQueueOf, QUEUES, type MessageQueue } from '../pipeline/queues.js';
import { TableEventClaims } from '../storage/event-claims.js';
import { StorageMessageQueue } from '../storage/message-queue.js';
import { TABLES } from '../storage/names.js';
import { SecretBox } from '../storage/secret-box.js';
import { TableWebhookStore } from '../storage/table-webhook-store.js';
import { UnreadableWebhooks } from '../storage/unreadable-webhooks.js';
import { DEFAULT_WEBHOOK_LIMITS, type WebhookDeps } from '../webhooks/webhook-service.js';
import { errorMessage } from '../shared/errors.js';
import { buildUnityCatalog, type UnityCatalogServices } from './unity-catalog.js';
import type { UnreadableWebhookList } from '../webhooks/webhook-store.js';

/** Bytes of a target's response that are read: the test call answers up to 1 MiB of it. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Sockets per target origin and instance. */
export const CONNECTIONS_PER_ORIGIN = 64;

/** A client may fail authentication this many times less often than it may call. */
export const AUTH_FAILURE_SHARE = 10;
/**
 * First attempts the fan-out has in flight per process, across every message (four full waves of 64): with the
 * host's bound on concurrent messages, this bounds sockets, storage requests and memory. A wave holds one per
 * delivery, so many small fan-outs (one event to ten webhooks) run side by side where few large ones would.
 */
export const FIRST_ATTEMPTS_IN_FLIGHT = 256;

/** How long a claimed attempt is held: longer than a job target's two calls, so a live holder is never overtaken. */
export const claimLeaseOf = (deliveryTimeoutMs: number): number => 2 * deliveryTimeoutMs + 15_000;

/** Everything the functions need, built once per process from the settings. */
export interface Services {
  config: Config;
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  /** Failed authentications per client: a tenth of the request budget (`WEBHOOKS_RATE_LIMIT`), then 429. */
  authFailures: RateLimiter;
  /** The webhook management calls. */
  webhookApi: WebhookDeps;
  testCall: TestCallDeps;
  /** The deliveries calls (list, get, redeliver) and endpoint health. */
  deliveriesApi: DeliveriesApiDeps;
  /** The deliveries summary (counts per hour). */
  summary: SummaryDeps;
  /** The `registry-events` worker: fan-out and first attempts. */
  fanOut: FanOutDeps;
  /** The `webhook-deliveries` worker: retries, redeliveries and deferred attempts. */
  deliverer: AttemptDeps;
  publish: PublishDeps;
  /** `azureml-events-poison`, where the Azure ML source puts what it cannot read. */
  azureMlPoison: MessageQueue;
  /** `webhook-deliveries-poison`, where a delivery message the host would misread goes. */
  deliveriesPoison: MessageQueue;
  /** Reads one webhook row and peeks the events queue; throws if storage does not answer. */
  checkStorage(abortSignal: AbortSignal): Promise<void>;
  /** Stored webhooks that cannot be read, listed for health. */
  unreadable: UnreadableWebhookList;
  metrics: Metrics;
  retention: RetentionDeps;
  poisonQueues: CountableQueue[];
  unityCatalog: UnityCatalogServices;
  /** The admin's service status: unreadable webhooks, queues, sources. */
  status: ServiceStatusDeps;
}

/**
 * The services with what only the local runtime and tests use: the Azure clients (the queue listeners poll
 * them). The functions see `Services`, and reach storage only through its ports.
 */
export interface AppServices extends Services {
  storage: StorageClients;
}

export interface ServiceOverrides {
  clock?: Clock;
  resolve?: Resolver;
  authenticators?: Authenticator[];
  metrics?: Metrics;
}

export function buildServices(config: Config, overrides: ServiceOverrides = {}): AppServices {
  const clock = overrides.clock ?? systemClock;
  const metrics = overrides.metrics ?? noopMetrics;
  const resolve = overrides.resolve ?? systemResolver;
  const storage = createStorageClients(config.storage);
  const policy: TargetPolicy = { allowHttp: config.allowHttpTargets, allowPrivate: config.allowPrivateTargets };
  const secretBox = new SecretBox(config.secretKey, config.previousSecretKey);
  const unreadable: UnreadableWebhooks = new UnreadableWebhooks({
    findUnreadable: () => webhookStore.findUnreadable(),
    metrics,
    log: (message) => console.error(message),
    clock,
  });
  const webhookStore = new TableWebhookStore(storage.table(TABLES.webhooks), storage.table(TABLES.webhookIds), secretBox, {
    defaultWorkspaceUrl: config.databricksWorkspaceUrl,
    onUnreadable: unreadable.report,
  });
  const audit = new TableAuditLog(storage.table(TABLES.audit));
  const deliveries = new TableDeliveryStore(storage.table(TABLES.deliveries), storage.table(TABLES.deliveryDays), clock);
  const claims = new TableEventClaims(storage.table(TABLES.eventClaims));
  const client = new GuardedHttpClient({
    policy,
    resolve,
    timeoutMs: config.deliveryTimeoutMs,
    maxResponseBytes: MAX_RESPONSE_BYTES,
    connectionsPerOrigin: CONNECTIONS_PER_ORIGIN,
    now: clock,
  });
  const senders = new TargetSenders({
    http: new HttpTargetSender(client, clock, { oauth2: new OAuth2Tokens(client, clock), entra: new EntraTokens(config.entra, clock) }),
    job: new JobTargetSender(client, { policy, defaultWorkspaceUrl: config.databricksWorkspaceUrl, clock }),
  });
  const eventQueue = new StorageMessageQueue(storage.queue(QUEUES.registryEvents));
  const delivererDeps: AttemptDeps = {
    webhooks: webhookStore,
    deliveries,
    audit,
    deliveryQueue: new StorageMessageQueue(storage.queue(QUEUES.deliveries)),
    senders,
    gate: new OriginGate(clock, { maxConcurrency: CONNECTIONS_PER_ORIGIN, circuit: { cooldownMs: config.circuitCooldownMs }, refusedRetryBudgetMs: refusedRetryBudgetOf(config.deliveryTimeoutMs) }),
    clock,
    random: Math.random,
    retryScheduleMs: config.retryScheduleMs,
    claimLeaseMs: claimLeaseOf(config.deliveryTimeoutMs),
    defaultWorkspaceUrl: config.databricksWorkspaceUrl,
    log: silentLogger,
    metrics,
    autoDisable: new AutoDisableWatch(config.autoDisableAfterMs),
    rates: new RateSlots(clock, new TableRateSlots(storage.table(TABLES.rateSlots)), silentLogger),
  };
  const fanOut: FanOutDeps = {
    ...delivererDeps,
    firstAttemptSlots: new Semaphore(FIRST_ATTEMPTS_IN_FLIGHT),
    claims,
    subscribers: new SubscriberLookup(webhookStore, clock),
    poison: new StorageMessageQueue(storage.queue(poisonQueueOf(QUEUES.registryEvents))),
    eventQueue,
  };
  // Publishing's own fan-out goes on after the call that started it answered, so it logs as the process: with the
  // silent default of these deps, a circuit it opened or its own failure would go unreported.
  const inlineFanOut: FanOutDeps = { ...fanOut, log: processLogger };
  const publish: PublishDeps = {
    eventQueue,
    clock,
    fanOutNow: new InlineFanOut(
      (body, meta) =>
        processEventMessage(inlineFanOut, body, meta).catch((error: unknown) => {
          inlineFanOut.log.warn(`publishing's own fan-out of ${meta.id} failed (the queue trigger takes it after the hold): ${errorMessage(error)}`);
          throw error;
        }),
      INLINE_FAN_OUTS,
    ),
  };
  return {
    config,
    authenticator: new ChainAuthenticator([
      new StaticTokenAuthenticator(config.authTokens),
      ...(config.oidc ? [new OidcAuthenticator(config.oidc)] : []),
      ...(overrides.authenticators ?? []),
    ]),
    rateLimiter: new RateLimiter(config.rateLimit.capacity, config.rateLimit.windowMs, clock),
    authFailures: new RateLimiter(Math.ceil(config.rateLimit.capacity / AUTH_FAILURE_SHARE), config.rateLimit.windowMs, clock),
    webhookApi: {
      store: webhookStore,
      audit,
      clock,
      newId: randomHexId,
      policy,
      resolve,
      entraAudiences: config.entra?.audiences ?? [],
      defaultWorkspaceUrl: config.databricksWorkspaceUrl,
      limits: DEFAULT_WEBHOOK_LIMITS,
    },
    testCall: { webhooks: webhookStore, senders, gate: delivererDeps.gate, audit, clock, newId: randomHexId, defaultWorkspaceUrl: config.databricksWorkspaceUrl },
    deliveriesApi: { webhooks: webhookStore, deliveries, deliveryQueue: delivererDeps.deliveryQueue, audit, clock, newId: randomHexId, defaultWorkspaceUrl: config.databricksWorkspaceUrl, deliveryRetentionMs: config.deliveryRetentionMs },
    summary: { webhooks: webhookStore, counts: new TableDeliveryCounts(storage.table(TABLES.deliveries), new DayIndex(storage.table(TABLES.deliveryDays), clock)), clock },
    fanOut,
    deliverer: delivererDeps,
    publish,
    azureMlPoison: new StorageMessageQueue(storage.queue(poisonQueueOf(QUEUES.azureMlEvents))),
    deliveriesPoison: new StorageMessageQueue(storage.queue(poisonQueueOf(QUEUES.deliveries))),
    checkStorage: async (abortSignal) => {
      await Promise.all([
        storage.table(TABLES.webhooks).listEntities({ queryOptions: { select: ['PartitionKey'] }, abortSignal }).byPage({ maxPageSize: 1 }).next(),
        storage.queue(QUEUES.registryEvents).peekMessages({ numberOfMessages: 1, abortSignal }),
      ]);
    },
    storage,
    unreadable,
    metrics,
    retention: {
      deliveries,
      audit,
      claims,
      clock,
      deliveryRetentionMs: config.deliveryRetentionMs,
      auditRetentionMs: config.auditRetentionMs,
      claimWindowMs: DEDUP_WINDOW_MS,
      budgetPerTable: DEFAULT_RETENTION_BUDGET,
      log: silentLogger,
    },
    poisonQueues: Object.values(QUEUES).map((queue) => queueGauge(storage.queue(poisonQueueOf(queue)))),
    status: {
      unreadableIds: () => unreadable.ids(),
      poisonQueues: Object.values(QUEUES).map((queue) => queueGauge(storage.queue(poisonQueueOf(queue)))),
      eventQueues: [QUEUES.registryEvents, QUEUES.azureMlEvents].map((queue) => queueGauge(storage.queue(queue))),
      sources: [
        { name: 'mlflow', configured: config.mlflow !== undefined },
        { name: 'azureml', configured: true, queue: QUEUES.azureMlEvents },
        { name: 'unity-catalog', configured: config.unityCatalog.kind === 'on' },
      ],
      clock,
    },
    unityCatalog: buildUnityCatalog(config.unityCatalog, { storage, policy, resolve, publish, clock, metrics }),
  };
}
