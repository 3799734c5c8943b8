import { isEventName, type EventName } from '../webhooks/events.js';
import { filterSchema } from '../webhooks/filter-schema.js';
import { PAYLOAD_FORMATS, WEBHOOK_STATUSES, type HttpTarget, type PayloadFormat, type ServiceDisable, type Target, type Webhook, type WebhookStatus } from '../webhooks/webhook.js';
import { scopeKeyOf } from './key-encoding.js';
import { definedOnly } from '../shared/defined.js';

/** A webhook's row in the `webhooks` table. */
export type WebhookEntity = {
  partitionKey: string;
  rowKey: string;
  ModelName?: string;
  Description?: string;
  /** JSON list of event names. */
  Events: string;
  Status: WebhookStatus;
  TargetKind: 'http' | 'job';
  Url?: string;
  EnableSslVerification?: boolean;
  Secret?: string;
  Authorization?: string;
  JobId?: string;
  WorkspaceUrl?: string;
  AccessToken?: string;
  Format?: PayloadFormat;
  AzureAdAudience?: string;
  /** JSON `{token_url, client_id, scope}`; the client secret is sealed apart, in OAuth2ClientSecret. */
  OAuth2?: string;
  OAuth2ClientSecret?: string;
  MaxRequestsPerSecond?: number;
  /** JSON list of filter conditions. */
  Filter?: string;
  CreatedAt: number;
  UpdatedAt: number;
  /** `service` while the service holds the webhook DISABLED (auto-disable or 410); with when and why. */
  DisabledBy?: 'service';
  DisabledAt?: number;
  DisabledReason?: ServiceDisable['reason'];
  /** The start of the current run of failures; 0 when there is none (a merge cannot remove a property). */
  FailingSince?: number;
};

export const serviceDisableFields = (disable: ServiceDisable): Pick<WebhookEntity, 'DisabledBy' | 'DisabledAt' | 'DisabledReason'> => ({
  DisabledBy: 'service',
  DisabledAt: disable.timestamp,
  DisabledReason: disable.reason,
});

/** The fields that hold sealed secrets, for the rotation command and the no-plaintext test. */
export const SEALED_FIELDS = ['Secret', 'Authorization', 'AccessToken', 'OAuth2ClientSecret'] as const;
export type SealedField = (typeof SEALED_FIELDS)[number];

export const sealContext = (id: string, field: SealedField): string => `webhook/${id}/${field}`;

export type Sealer = (field: SealedField, plaintext: string) => string;
export type Opener = (field: SealedField) => string | undefined;

/** A webhook's row, its write-only fields sealed by `sealer`. */
export function toWebhookEntity(webhook: Webhook, sealer: Sealer): WebhookEntity {
  const seal = (field: SealedField, plaintext: string | undefined) => (plaintext === undefined || plaintext === '' ? {} : { [field]: sealer(field, plaintext) });
  const { target } = webhook;
  return {
    partitionKey: scopeKeyOf(webhook.modelName),
    rowKey: webhook.id,
    ...definedOnly({
      ModelName: webhook.modelName,
      Description: webhook.description,
    }),
    Events: JSON.stringify(webhook.events),
    Status: webhook.status,
    TargetKind: target.kind,
    ...(target.kind === 'http'
      ? {
          Url: target.url,
          EnableSslVerification: target.enableSslVerification,
          ...seal('Secret', target.secret),
          ...seal('Authorization', target.authorization),
          ...definedOnly({
            Format: target.format,
            AzureAdAudience: target.azureAdAudience,
          }),
          ...(target.oauth2
            ? {
                OAuth2: JSON.stringify({ token_url: target.oauth2.tokenUrl, client_id: target.oauth2.clientId, ...definedOnly({ scope: target.oauth2.scope }) }),
                ...seal('OAuth2ClientSecret', target.oauth2.clientSecret),
              }
            : {}),
          ...definedOnly({ MaxRequestsPerSecond: target.maxRequestsPerSecond }),
        }
      : { JobId: target.jobId, ...(target.workspaceUrl ? { WorkspaceUrl: target.workspaceUrl } : {}), ...seal('AccessToken', target.accessToken) }),
    ...(webhook.filter && webhook.filter.length > 0 ? { Filter: JSON.stringify(webhook.filter) } : {}),
    CreatedAt: webhook.creationTimestamp,
    UpdatedAt: webhook.lastUpdatedTimestamp,
    ...(webhook.serviceDisabled ? serviceDisableFields(webhook.serviceDisabled) : {}),
    ...definedOnly({ FailingSince: webhook.failingSince }),
  };
}

/** The webhook of a row, its sealed fields opened by `open`; throws, naming what is wrong, for a row this code cannot serve. */
export function fromWebhookEntity(entity: WebhookEntity, open: Opener): Webhook {
  assertWellFormed(entity);
  const target: Target =
    entity.TargetKind === 'http'
      ? httpTargetOf(entity, open)
      : { kind: 'job', jobId: entity.JobId ?? '', accessToken: open('AccessToken') ?? '', ...(entity.WorkspaceUrl ? { workspaceUrl: entity.WorkspaceUrl } : {}) };
  return {
    id: entity.rowKey,
    ...definedOnly({
      modelName: entity.ModelName,
      description: entity.Description,
    }),
    events: JSON.parse(entity.Events) as EventName[],
    status: entity.Status,
    target,
    creationTimestamp: entity.CreatedAt,
    lastUpdatedTimestamp: entity.UpdatedAt,
    ...(entity.Filter !== undefined ? { filter: filterSchema.parse(JSON.parse(entity.Filter)) } : {}),
    ...(entity.DisabledBy === 'service' && typeof entity.DisabledAt === 'number'
      ? { serviceDisabled: { timestamp: entity.DisabledAt, reason: entity.DisabledReason === 'gone' ? 'gone' : 'auto_disable' } }
      : {}),
    ...(typeof entity.FailingSince === 'number' && entity.FailingSince > 0 ? { failingSince: entity.FailingSince } : {}),
  };
}

/** An HTTP target's row, its sealed fields opened by `open`. */
function httpTargetOf(entity: WebhookEntity, open: (field: SealedField) => string | undefined): HttpTarget {
  const secret = open('Secret');
  const authorization = open('Authorization');
  const oauth2 = entity.OAuth2 !== undefined ? (JSON.parse(entity.OAuth2) as { token_url: string; client_id: string; scope?: string }) : undefined;
  return {
    kind: 'http',
    url: entity.Url ?? '',
    enableSslVerification: entity.EnableSslVerification ?? true,
    ...definedOnly({
      secret,
      authorization,
      format: entity.Format,
      azureAdAudience: entity.AzureAdAudience,
    }),
    ...(oauth2
      ? { oauth2: { tokenUrl: oauth2.token_url, clientId: oauth2.client_id, clientSecret: open('OAuth2ClientSecret') ?? '', ...definedOnly({ scope: oauth2.scope }) } }
      : {}),
    ...definedOnly({ maxRequestsPerSecond: entity.MaxRequestsPerSecond }),
  };
}

function assertWellFormed(entity: WebhookEntity): void {
  const problem = (what: string): never => {
    throw new Error(`the stored ${what} is not valid`);
  };
  let events: unknown;
  try {
    events = JSON.parse(entity.Events);
  } catch {
    problem('Events');
  }
  if (!Array.isArray(events) || events.length === 0 || !events.every((event) => typeof event === 'string' && isEventName(event))) problem('Events');
  if (!(WEBHOOK_STATUSES as readonly string[]).includes(entity.Status)) problem('Status');
  if (entity.Filter !== undefined && !isValidFilter(entity.Filter)) problem('Filter');
  if (typeof entity.CreatedAt !== 'number' || typeof entity.UpdatedAt !== 'number') problem('timestamps');
  // Typed as written, but read from storage: anything may be there.
  const kind: string = entity.TargetKind;
  if (kind === 'http') {
    if (typeof entity.Url !== 'string' || entity.Url === '') problem('Url');
    if (entity.Format !== undefined && !(PAYLOAD_FORMATS as readonly string[]).includes(entity.Format)) problem('Format');
    if (entity.OAuth2 !== undefined && (!isJsonObjectWith(entity.OAuth2, ['token_url', 'client_id']) || !entity.OAuth2ClientSecret)) problem('OAuth2');
    if (entity.MaxRequestsPerSecond !== undefined && !(typeof entity.MaxRequestsPerSecond === 'number' && entity.MaxRequestsPerSecond > 0)) problem('MaxRequestsPerSecond');
  } else if (kind === 'job') {
    if (typeof entity.JobId !== 'string' || !/^\d+$/.test(entity.JobId) || !entity.AccessToken) problem('job target');
  } else {
    problem('TargetKind');
  }
}

function isValidFilter(text: string): boolean {
  try {
    return filterSchema.safeParse(JSON.parse(text)).success;
  } catch {
    return false;
  }
}

function isJsonObjectWith(text: string, keys: readonly string[]): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && keys.every((key) => typeof (value as Record<string, unknown>)[key] === 'string');
  } catch {
    return false;
  }
}
