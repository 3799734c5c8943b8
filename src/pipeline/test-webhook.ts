import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { invalidParameter } from '../shared/errors.js';
import type { Clock, IdSource } from '../shared/ids.js';
import { parseWith } from '../http/validate.js';
import { requireRole } from '../webhooks/permissions.js';
import { testWebhookSchema } from '../webhooks/schemas.js';
import { audit, findManagedWebhook } from '../webhooks/webhook-service.js';
import type { AuditLog } from '../webhooks/audit-log.js';
import type { WebhookStore } from '../webhooks/webhook-store.js';
import type { OriginGate } from '../outbound/origin-gate.js';
import type { TargetSenders } from '../outbound/target-sender.js';
import { buildPayload } from '../outbound/payload.js';
import { redactSecrets } from '../outbound/redact.js';
import { sampleEvent } from './sample-event.js';
import { targetUnreachable } from '../webhooks/target-policy.js';

/** What the test call uses. */
export interface TestCallDeps {
  webhooks: WebhookStore;
  senders: TargetSenders;
  gate: OriginGate;
  audit: AuditLog;
  clock: Clock;
  newId: IdSource;
  defaultWorkspaceUrl?: string | undefined;
}

/** The target's answer: its status (as `status_code`, and `status` as Databricks' SDK reads it) and its body, secrets redacted. */
export const testCallResultSchema = z.strictObject({ status_code: z.int(), status: z.int(), body: z.string() });
export type TestCallResult = z.output<typeof testCallResultSchema>;

/** Sends a signed mock event to a webhook of any status and answers the target's status and body (unreachable: 502). */
export async function testWebhook(deps: TestCallDeps, principal: Principal, body: unknown): Promise<TestCallResult> {
  requireRole(principal, ['admin', 'manager'], 'test webhooks');
  const input = parseWith(testWebhookSchema, body);
  const { value: webhook } = await findManagedWebhook(deps.webhooks, principal, input.id, 'test webhooks');
  const eventName = input.event ?? webhook.events[0];
  if (eventName === undefined || !webhook.events.includes(eventName)) {
    throw invalidParameter(`Invalid parameter 'event': the webhook is not subscribed to ${input.event ?? 'any event'}; it has ${webhook.events.join(', ')}`);
  }
  const payload = buildPayload(sampleEvent(eventName, webhook.modelName, deps.clock(), `test_${deps.newId()}`), webhook.id, eventName);
  const sender = deps.senders.for(webhook);
  const result = await deps.gate.track(sender.destinationOf(webhook), () => sender.send(webhook, payload, `test_${deps.newId()}`));
  const field = webhook.target.kind === 'http' ? 'http_url_spec.url' : 'job_spec.workspace_url';
  await audit(deps, principal, 'test', webhook, {
    event: eventName,
    ...(result.kind === 'response' ? { status_code: result.status } : { error: result.error }),
  });
  if (result.kind === 'error') {
    if (!result.retryable) throw invalidParameter(`Invalid parameter '${field}': ${result.error}`);
    throw targetUnreachable(field, result.error);
  }
  return { status_code: result.status, status: result.status, body: redactSecrets(result.body, webhook.target) };
}
