import type { Principal } from '../auth/principal.js';
import { invalidParameter } from '../shared/errors.js';
import { parseWith } from '../http/validate.js';
import { requireRole } from '../webhooks/permissions.js';
import { idOnlySchema, isWellFormedWebhookId } from '../webhooks/schemas.js';
import { findManagedWebhook } from '../webhooks/webhook-service.js';
import type { Clock } from '../shared/ids.js';
import type { WebhookStore } from '../webhooks/webhook-store.js';
import type { DeliveryStore } from './delivery-store.js';
import { deriveHealth, HEALTH_RECORDS, toApiHealth, type ApiHealth } from './endpoint-health.js';

/**
 * `GET webhooks/health?id=`: the endpoint health of one webhook, for those who may read its deliveries (an
 * admin, or a manager of its model). Derived from its newest HEALTH_RECORDS delivery records: one read.
 */
export async function getEndpointHealth(deps: { webhooks: WebhookStore; deliveries: DeliveryStore; clock: Clock }, principal: Principal, input: unknown): Promise<{ health: ApiHealth }> {
  requireRole(principal, ['admin', 'manager'], 'read endpoint health');
  const { id } = parseWith(idOnlySchema, input);
  if (!isWellFormedWebhookId(id)) throw invalidParameter(`Invalid parameter 'id': '${id}' is not a webhook id (32 hexadecimal digits)`);
  const { value: webhook } = await findManagedWebhook(deps.webhooks, principal, id, 'read endpoint health');
  const { deliveries } = await deps.deliveries.list({ webhookId: webhook.id, limit: HEALTH_RECORDS });
  return { health: toApiHealth(deriveHealth(webhook, deliveries, deps.clock())) };
}
