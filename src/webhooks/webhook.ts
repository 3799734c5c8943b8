import { z } from 'zod';
import { EVENT_NAMES, type EventName } from './events.js';

export const WEBHOOK_STATUSES = ['ACTIVE', 'TEST_MODE', 'DISABLED'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

export interface HttpTarget {
  kind: 'http';
  url: string;
  /** Signs payloads. Write-only: never returned or logged. */
  secret?: string;
  /** Sent verbatim as the Authorization header. Write-only. */
  authorization?: string;
  enableSslVerification: boolean;
}

export interface JobTarget {
  kind: 'job';
  /** Digits, kept as a string so 16-digit ids survive. */
  jobId: string;
  /** Write-only. */
  accessToken: string;
  workspaceUrl?: string;
}

export type Target = HttpTarget | JobTarget;

export interface Webhook {
  id: string;
  modelName?: string;
  description?: string;
  events: EventName[];
  status: WebhookStatus;
  target: Target;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  /** Set when the service disabled the webhook (auto-disable, 410 Gone): events are recorded SKIPPED until a user sets a status. */
  serviceDisabled?: ServiceDisable;
}

export interface ServiceDisable {
  timestamp: number;
  reason: 'auto_disable' | 'gone';
}

/** Disabled by the service: events are recorded SKIPPED rather than sent or dropped. */
export const isServiceDisabled = (webhook: Webhook): boolean => webhook.status === 'DISABLED' && webhook.serviceDisabled !== undefined;

/** Whether an event reaches the webhook at all: sent while ACTIVE, recorded SKIPPED while the service has it disabled. */
export const receivesEvents = (webhook: Webhook): boolean => webhook.status === 'ACTIVE' || isServiceDisabled(webhook);

/** The webhook as the API returns it: write-only fields left out. The OpenAPI document is generated from it. */
export const apiWebhookSchema = z.strictObject({
  id: z.string(),
  creation_timestamp: z.int(),
  last_updated_timestamp: z.int(),
  status: z.enum(WEBHOOK_STATUSES),
  events: z.array(z.enum(EVENT_NAMES)),
  model_name: z.string().optional(),
  description: z.string().optional(),
  http_url_spec: z.strictObject({ url: z.string(), enable_ssl_verification: z.boolean() }).optional(),
  job_spec: z.strictObject({ job_id: z.string(), workspace_url: z.string().optional() }).optional(),
});
export type ApiWebhook = z.output<typeof apiWebhookSchema>;

export function toApiWebhook(webhook: Webhook): ApiWebhook {
  const { target } = webhook;
  return {
    id: webhook.id,
    creation_timestamp: webhook.creationTimestamp,
    last_updated_timestamp: webhook.lastUpdatedTimestamp,
    status: webhook.status,
    events: [...webhook.events],
    ...(webhook.modelName !== undefined ? { model_name: webhook.modelName } : {}),
    ...(webhook.description !== undefined ? { description: webhook.description } : {}),
    ...(target.kind === 'http'
      ? { http_url_spec: { url: target.url, enable_ssl_verification: target.enableSslVerification } }
      : { job_spec: { job_id: target.jobId, ...(target.workspaceUrl ? { workspace_url: target.workspaceUrl } : {}) } }),
  };
}

/**
 * What an audit entry for a delivery (triggered, redelivered, or a 410 disable) says about a target: the URL's
 * origin only, since some URLs (Slack's) carry a secret in their path and these entries are written often.
 */
export function describeTargetOrigin(target: Target, defaultWorkspaceUrl?: string): Record<string, string | boolean> {
  if (target.kind === 'job') return describeTarget(target, defaultWorkspaceUrl);
  let origin: string;
  try {
    origin = new URL(target.url).origin;
  } catch {
    origin = '';
  }
  return { origin, enable_ssl_verification: target.enableSslVerification };
}

/** What the audit log may say about a target for create, update, delete and test: never a secret. */
export function describeTarget(target: Target, defaultWorkspaceUrl?: string): Record<string, string | boolean> {
  return target.kind === 'http'
    ? { url: target.url, enable_ssl_verification: target.enableSslVerification }
    : { job_id: target.jobId, workspace_url: target.workspaceUrl ?? defaultWorkspaceUrl ?? '' };
}
