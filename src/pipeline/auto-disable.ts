import { errorMessage } from '../shared/errors.js';
import { mapWithLimit } from '../shared/limit.js';
import type { AuditAction, AuditEntry } from '../webhooks/audit-log.js';
import type { Versioned } from '../webhooks/webhook-store.js';
import { describeTargetOrigin, type ServiceDisable, type Webhook } from '../webhooks/webhook.js';
import type { AttemptDeps } from './attempts.js';
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
  claimCheck(webhookId: string, now: number): boolean {
    if (this.afterMs <= 0) return false;
    const last = this.lastChecked.get(webhookId);
    if (last !== undefined && now - last < this.intervalMs) return false;
    if (this.lastChecked.size >= REMEMBERED_WEBHOOKS) this.lastChecked.clear();
    this.lastChecked.set(webhookId, now);
    return true;
  }
}

/**
 * Sets a webhook DISABLED with the service's mark, by a write at the version read (a user's update made meanwhile
 * wins), and audits it as `system`; answers whether it did.
 */
export async function disableByService(
  deps: Pick<AttemptDeps, 'webhooks' | 'audit' | 'clock' | 'defaultWorkspaceUrl'>,
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

/** For each webhook with a failed attempt just recorded, checks (throttled) whether to disable it; never throws. */
export async function watchFailures(deps: AttemptDeps, recorded: readonly Delivery[]): Promise<void> {
  const watch = deps.autoDisable;
  if (!watch) return;
  const failing = [...new Set(recorded.filter((delivery) => delivery.status === 'RETRYING' || delivery.status === 'FAILED').map((delivery) => delivery.webhookId))];
  const now = deps.clock();
  await mapWithLimit(
    failing.filter((webhookId) => watch.claimCheck(webhookId, now)),
    4,
    (webhookId) => disableIfFailingTooLong(deps, watch, webhookId),
  );
}

/**
 * Disables an ACTIVE webhook whose attempts have all failed for WEBHOOKS_AUTO_DISABLE_AFTER, by a write at the
 * version read so a user's concurrent update wins.
 */
async function disableIfFailingTooLong(deps: AttemptDeps, watch: AutoDisableWatch, webhookId: string): Promise<void> {
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
