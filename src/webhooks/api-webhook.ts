import { z } from 'zod';
import { EVENT_NAMES } from './events.js';
import { FILTER_OPS, PAYLOAD_FORMATS, WEBHOOK_STATUSES, type HttpTarget, type Webhook } from './webhook.js';
import { definedOnly } from '../shared/defined.js';

// Apart from webhook.ts, which the console's bundle imports: zod stays out of the browser.

/** The new fields appear only when set, so a webhook without them lists exactly as a Databricks one. */
export const apiHttpUrlSpecSchema = z.strictObject({
  url: z.string(),
  enable_ssl_verification: z.boolean(),
  format: z.enum(PAYLOAD_FORMATS).optional(),
  azure_ad_audience: z.string().optional(),
  oauth2: z.strictObject({ token_url: z.string(), client_id: z.string(), scope: z.string().optional() }).optional(),
  max_requests_per_second: z.number().optional(),
});
export type ApiHttpUrlSpec = z.output<typeof apiHttpUrlSpecSchema>;

/** The webhook as the API returns it: write-only fields left out. The OpenAPI document is generated from it. */
export const apiWebhookSchema = z.strictObject({
  id: z.string(),
  creation_timestamp: z.int(),
  last_updated_timestamp: z.int(),
  status: z.enum(WEBHOOK_STATUSES),
  events: z.array(z.enum(EVENT_NAMES)),
  model_name: z.string().optional(),
  description: z.string().optional(),
  http_url_spec: apiHttpUrlSpecSchema.optional(),
  job_spec: z.strictObject({ job_id: z.string(), workspace_url: z.string().optional() }).optional(),
  filter: z.array(z.strictObject({ field: z.string(), op: z.enum(FILTER_OPS), values: z.array(z.string()).optional() })).optional(),
});
export type ApiWebhook = z.output<typeof apiWebhookSchema>;

function toApiHttpUrlSpec(target: HttpTarget): ApiHttpUrlSpec {
  const { oauth2 } = target;
  return {
    url: target.url,
    enable_ssl_verification: target.enableSslVerification,
    ...definedOnly({ format: target.format }),
    ...definedOnly({ azure_ad_audience: target.azureAdAudience }),
    ...(oauth2 ? { oauth2: { token_url: oauth2.tokenUrl, client_id: oauth2.clientId, ...definedOnly({ scope: oauth2.scope }) } } : {}),
    ...definedOnly({ max_requests_per_second: target.maxRequestsPerSecond }),
  };
}

export function toApiWebhook(webhook: Webhook): ApiWebhook {
  const { target } = webhook;
  return {
    id: webhook.id,
    creation_timestamp: webhook.creationTimestamp,
    last_updated_timestamp: webhook.lastUpdatedTimestamp,
    status: webhook.status,
    events: [...webhook.events],
    ...definedOnly({ model_name: webhook.modelName }),
    ...definedOnly({ description: webhook.description }),
    ...(target.kind === 'http'
      ? { http_url_spec: toApiHttpUrlSpec(target) }
      : { job_spec: { job_id: target.jobId, ...(target.workspaceUrl ? { workspace_url: target.workspaceUrl } : {}) } }),
    ...(webhook.filter && webhook.filter.length > 0 ? { filter: webhook.filter.map((condition) => ({ ...condition })) } : {}),
  };
}
