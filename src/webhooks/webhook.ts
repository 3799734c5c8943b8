import type { EventName } from './events.js';

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
  /** How the payload is put on the wire; absent is `databricks`. */
  format?: PayloadFormat;
  /** An Entra token for this audience, from the delivery identity, is the bearer. */
  azureAdAudience?: string;
  /** A client-credentials token from this server is the bearer. */
  oauth2?: OAuth2Client;
  /** Attempts above this rate wait (deferred, using no attempt). */
  maxRequestsPerSecond?: number;
}

export const FILTER_OPS = ['in', 'not_in', 'prefix', 'exists'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

/** One condition on an event field; `values` is absent exactly for `exists`. */
export interface FilterCondition {
  field: string;
  op: FilterOp;
  values?: string[];
}

export const PAYLOAD_FORMATS = ['databricks', 'slack', 'teams', 'github_dispatch', 'azure_devops_pipeline', 'cloudevents'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

export interface OAuth2Client {
  tokenUrl: string;
  clientId: string;
  /** Write-only. */
  clientSecret: string;
  scope?: string;
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
  /** Conditions on the event's fields, all of which must hold for it to be delivered; absent or empty: none. */
  filter?: FilterCondition[];
  /** Set when the service disabled the webhook (auto-disable, 410 Gone): events are recorded SKIPPED until a user sets a status. */
  serviceDisabled?: ServiceDisable;
  /**
   * The first failed attempt of the current run of failures: set by the first failure after a success, cleared
   * by a success, each written once per run at the version read (auto-disable and endpoint health read it).
   */
  failingSince?: number;
}

export const SERVICE_DISABLE_REASONS = ['auto_disable', 'gone'] as const;

export interface ServiceDisable {
  timestamp: number;
  reason: (typeof SERVICE_DISABLE_REASONS)[number];
}

/** Disabled by the service: events are recorded SKIPPED rather than sent or dropped. */
export const isServiceDisabled = (webhook: Webhook): boolean => webhook.status === 'DISABLED' && webhook.serviceDisabled !== undefined;

/** Whether an event reaches the webhook at all: sent while ACTIVE, recorded SKIPPED while the service has it disabled. */
export const receivesEvents = (webhook: Webhook): boolean => webhook.status === 'ACTIVE' || isServiceDisabled(webhook);

/**
 * The URL's origin, and the URL without its query (or fragment) as its endpoint: where attempts are counted and held,
 * and where a stored credential may follow a URL change (a new query, a rotated signature, is the same receiver).
 */
export const destinationOfUrl = (url: string): { origin: string; endpoint: string } => {
  if (!URL.canParse(url)) return { origin: url, endpoint: url };
  const { origin, pathname } = new URL(url);
  return { origin, endpoint: `${origin}${pathname}` };
};

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
