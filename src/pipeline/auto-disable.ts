import { errorMessage } from '../shared/errors.js';
import { mapWithLimit } from '../shared/limit.js';
import type { Clock } from '../shared/ids.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import type { AuditAction, AuditEntry, AuditLog } from '../webhooks/audit-log.js';
import type { Versioned, WebhookStore } from '../webhooks/webhook-store.js';
import { describeTargetOrigin, type ServiceDisable, type Webhook } from '../webhooks/webhook.js';
import type { DeliveryStore } from './delivery-store.js';
import type { Delivery } from './delivery.js';
import { autoDisableDue, HEALTH_RECORDS } from './endpoint-health.js';

/** The longest a failing webhook goes unchecked in one process: the check runs at most this often per webhook. */
export const MAX_CHECK_INTERVAL_MS = 60_000;
/** Webhooks whose last check this process remembers; forgotten all at once past this (a check then runs again). */
const REMEMBERED_WEBHOOKS = 10_000;

/** Looks at a failing webhook's health at most once per interval (a minute, or a tenth of the setting) per process. */
export class AutoDisableWatch {
  private readonly lastChecked = new Map<string, number>();
  readonly intervalMs: number;

  /** `afterMs` 0 turns auto-disable off. */
  constructor(readonly afterMs: number) {
    this.intervalMs = Math.min(MAX_CHECK_INTERVAL_MS, Math.max(100, Math.floor(afterMs / 10)));
  }

  /** Whether to check the webhook now; if so, the next check is an interval away. */
  isCheckDue(webhookId: string, now: number): boolean {
    if (this.afterMs <= 0) return false;
    const last = this.lastChecked.get(webhookId);
    if (last !== undefined && now - last < this.intervalMs) return false;
    if (this.lastChecked.size >= REMEMBERED_WEBHOOKS) this.lastChecked.clear();
    this.lastChecked.set(webhookId, now);
    return true;
  }
}

/** What disabling a webhook for the service, and watching failures for it, needs. */
export interface AutoDisableDeps {
  webhooks: WebhookStore;
  deliveries: DeliveryStore;
  audit: AuditLog;
  clock: Clock;
  defaultWorkspaceUrl?: string | undefined;
  log: Logger;
  metrics?: Metrics;
  /** Checks failing webhooks for auto-disable (WEBHOOKS_AUTO_DISABLE_AFTER); none when absent. */
  autoDisable?: AutoDisableWatch;
}

/**
 * Sets a webhook DISABLED with the service's mark, by a write at the version read (a user's update made meanwhile
 * wins), and audits it as `system`; answers whether it did.
 */
export async function disableByService(
  deps: Pick<AutoDisableDeps, 'webhooks' | 'audit' | 'clock' | 'defaultWorkspaceUrl'>,
  found: Versioned<Webhook>,
  reason: ServiceDisable['reason'],
  action: AuditAction,
  details: AuditEntry['details'],
): Promise<boolean> {
  const now = deps.clock();
  const webhook = found.value;
  if (!(await deps.webhooks.setStatus(webhook, 'DISABLED', now, { serviceDisabled: { timestamp: now, reason }, etag: found.etag }))) return false;
  await deps.audit.append([{ timestamp: now, principal: 'system', action, webhookId: webhook.id, target: describeTargetOrigin(webhook.target, deps.defaultWorkspaceUrl), details }]);
  return true;
}

const failed = (delivery: Delivery): boolean => delivery.status === 'RETRYING' || delivery.status === 'FAILED';

/**
 * After attempts were recorded (`webhooks` as read for them): notes where a webhook's run of failures starts or
 * ends, then, for each with a failed attempt, checks (throttled) whether to disable it; never throws.
 */
export async function checkFailingWebhooks(deps: AutoDisableDeps, recorded: readonly Delivery[], webhooks: readonly Webhook[]): Promise<void> {
  await mapWithLimit(webhooks.filter((webhook, index) => webhooks.findIndex((other) => other.id === webhook.id) === index), 4, (webhook) =>
    noteRunOfFailures(deps, webhook, recorded.filter((delivery) => delivery.webhookId === webhook.id && delivery.lastAttemptTimestamp !== undefined)),
  );
  const watch = deps.autoDisable;
  if (!watch) return;
  const failing = [...new Set(recorded.filter(failed).map((delivery) => delivery.webhookId))];
  const now = deps.clock();
  await mapWithLimit(
    failing.filter((webhookId) => watch.isCheckDue(webhookId, now)),
    4,
    (webhookId) => disableIfFailingTooLong(deps, watch, webhookId),
  );
}

/**
 * Keeps `failingSince` on the webhook row: the first failure after a success sets it, a success clears it. Only
 * a change from what the webhook read for the attempts showed is written, at the version read again, so a run
 * costs one write to start and one to end, whatever the volume.
 */
async function noteRunOfFailures(deps: AutoDisableDeps, webhook: Webhook, attempts: readonly Delivery[]): Promise<void> {
  const latest = attempts.reduce<Delivery | undefined>((newest, delivery) => ((newest?.lastAttemptTimestamp ?? -1) < (delivery.lastAttemptTimestamp ?? -1) ? delivery : newest), undefined);
  if (!latest || failed(latest) === (webhook.failingSince !== undefined)) return;
  const lastSuccess = Math.max(-1, ...attempts.filter((delivery) => !failed(delivery)).map((delivery) => delivery.lastAttemptTimestamp ?? -1));
  const start = failed(latest) ? Math.min(...attempts.filter((delivery) => failed(delivery) && (delivery.lastAttemptTimestamp ?? -1) > lastSuccess).map((delivery) => delivery.lastAttemptTimestamp ?? 0)) : undefined;
  try {
    const found = await deps.webhooks.get(webhook.id);
    if (!found || (found.value.failingSince !== undefined) === (start !== undefined)) return;
    await deps.webhooks.setFailingSince(found.value, start, found.etag);
  } catch (error) {
    deps.log.error(`noting the ${start === undefined ? 'end' : 'start'} of webhook ${webhook.id}'s failures failed: ${errorMessage(error)}`);
  }
}

/**
 * Disables an ACTIVE webhook whose attempts have all failed for WEBHOOKS_AUTO_DISABLE_AFTER, by a write at the
 * version read so a user's concurrent update wins.
 */
async function disableIfFailingTooLong(deps: AutoDisableDeps, watch: AutoDisableWatch, webhookId: string): Promise<void> {
  try {
    const found = await deps.webhooks.get(webhookId);
    if (!found || found.value.status !== 'ACTIVE') return;
    const { deliveries } = await deps.deliveries.list({ webhookId, limit: HEALTH_RECORDS });
    const now = deps.clock();
    if (!autoDisableDue(found.value, deliveries, now, watch.afterMs)) return;
    const details = { reason: `every attempt failed for at least ${watch.afterMs} ms`, auto_disable_after_ms: watch.afterMs };
    if (!(await disableByService(deps, found, 'auto_disable', 'AUTO_DISABLED', details))) return;
    deps.log.warn(`webhook ${webhookId} auto-disabled: every delivery attempt has failed for WEBHOOKS_AUTO_DISABLE_AFTER; its events are recorded as SKIPPED until a user sets it ACTIVE and redelivers`);
    deps.metrics?.webhookAutoDisabled();
  } catch (error) {
    deps.log.error(`checking webhook ${webhookId} for auto-disable failed: ${errorMessage(error)}`);
  }
}
