import { isEventName } from '../webhooks/events.js';
import { WEBHOOK_STATUSES, type ServiceDisable, type WebhookStatus } from '../webhooks/webhook.js';

/** A webhook's row in the `webhooks` table, as written and read. */
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

/** Throws, naming the field, for a row this code cannot serve as a webhook. */
export function assertWellFormed(entity: WebhookEntity): void {
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
  if (typeof entity.CreatedAt !== 'number' || typeof entity.UpdatedAt !== 'number') problem('timestamps');
  // Typed as written, but read from storage: anything may be there.
  const kind: string = entity.TargetKind;
  if (kind === 'http') {
    if (typeof entity.Url !== 'string' || entity.Url === '') problem('Url');
  } else if (kind === 'job') {
    if (typeof entity.JobId !== 'string' || !/^\d+$/.test(entity.JobId) || !entity.AccessToken) problem('job target');
  } else {
    problem('TargetKind');
  }
}
