import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import { ApiError, invalidParameter } from '../shared/errors.js';
import type { Clock, IdSource } from '../shared/ids.js';
import { checkWorkspaceUrl } from './target-policy.js';
import type { AuditAction, AuditLog } from './audit-log.js';
import { ConcurrentUpdateError, ScopeFullError, type WebhookStore } from './webhook-store.js';
import { parseWith } from '../http/validate.js';
import type { EventName } from './events.js';
import { describeGrant } from '../auth/grants.js';
import { grantFor, managedModels, requireRole, requireScopeAccess } from './permissions.js';
import {
  createWebhookSchema,
  DEFAULT_LIST_RESULTS,
  idOnlySchema,
  isWellFormedWebhookId,
  listWebhooksSchema,
  updateWebhookSchema,
  type CreateWebhookInput,
  type UpdateWebhookInput,
} from './schemas.js';
import { describeTarget, describeTargetOrigin, type JobTarget, type Target, type Webhook } from './webhook.js';
import { apiWebhookSchema, toApiWebhook } from './api-webhook.js';
import { credentialsMustBeResent, httpTargetFor, type HttpTargetDeps } from './http-target.js';
import { definedOnly } from '../shared/defined.js';

export interface WebhookLimits {
  perModel: number;
  registryWide: number;
}

export const DEFAULT_WEBHOOK_LIMITS: WebhookLimits = { perModel: 100, registryWide: 1000 };

/** What the management calls need; tests pass in-memory fakes, the app the Table-backed ones. */
export interface WebhookDeps extends HttpTargetDeps {
  store: WebhookStore;
  audit: AuditLog;
  clock: Clock;
  newId: IdSource;
  defaultWorkspaceUrl?: string | undefined;
  limits: WebhookLimits;
}

const MANAGE = ['admin', 'manager'] as const;

export const webhookAnswerSchema = z.strictObject({ webhook: apiWebhookSchema });
/** A page of webhooks; an empty page leaves `webhooks` out, as Databricks does. */
export const webhookPageSchema = z.strictObject({ webhooks: z.array(apiWebhookSchema).optional(), next_page_token: z.string().optional() });

export async function createWebhook(deps: WebhookDeps, principal: Principal, body: unknown): Promise<z.output<typeof webhookAnswerSchema>> {
  requireRole(principal, MANAGE, 'create webhooks');
  const input = parseWith(createWebhookSchema, body);
  requireScopeAccess(principal, input.model_name, 'create webhooks');
  assertEventsFitScope(input.events, input.model_name);
  const target = await targetForCreate(deps, input);
  const now = deps.clock();
  const webhook: Webhook = {
    id: deps.newId(),
    ...definedOnly({
      modelName: input.model_name,
      description: input.description,
    }),
    events: input.events,
    status: input.status ?? 'ACTIVE',
    target,
    ...(input.filter && input.filter.length > 0 ? { filter: input.filter } : {}),
    creationTimestamp: now,
    lastUpdatedTimestamp: now,
  };
  await insertBelowLimit(deps, webhook);
  await audit(deps, principal, 'create', webhook);
  return { webhook: toApiWebhook(webhook) };
}

export async function updateWebhook(deps: WebhookDeps, principal: Principal, body: unknown): Promise<z.output<typeof webhookAnswerSchema>> {
  requireRole(principal, MANAGE, 'update webhooks');
  const input = parseWith(updateWebhookSchema, body);
  if (input.http_url_spec && input.job_spec) throw invalidParameter("Only one of 'http_url_spec' or 'job_spec' may be set");
  for (let attempt = 1; ; attempt += 1) {
    const { value: existing, etag } = await findManagedWebhook(deps.store, principal, input.id, 'update webhooks');
    const updated = await applyUpdate(deps, existing, input);
    try {
      await deps.store.replace(updated, etag);
    } catch (error) {
      if (error instanceof ConcurrentUpdateError && attempt < 3) continue;
      throw error;
    }
    await audit(deps, principal, 'update', updated);
    return { webhook: toApiWebhook(updated) };
  }
}

export async function deleteWebhook(deps: WebhookDeps, principal: Principal, input: unknown): Promise<Record<string, never>> {
  requireRole(principal, MANAGE, 'delete webhooks');
  const { id } = parseWith(idOnlySchema, input);
  const { value: webhook } = await findManagedWebhook(deps.store, principal, id, 'delete webhooks');
  await deps.store.remove(webhook);
  await audit(deps, principal, 'delete', webhook);
  return {};
}

export async function listWebhooks(
  deps: WebhookDeps,
  principal: Principal,
  input: unknown,
): Promise<z.output<typeof webhookPageSchema>> {
  requireRole(principal, MANAGE, 'list webhooks');
  const query = parseWith(listWebhooksSchema, input);
  if (query.model_name !== undefined) requireScopeAccess(principal, query.model_name, 'list webhooks');
  // Without a model_name, a non-admin sees the webhooks of the models it manages; the store filters before it
  // pages, so no page is empty while another follows.
  const models = query.model_name === undefined ? managedModels(principal) : undefined;
  const page = await deps.store.list({
    ...definedOnly({ model: query.model_name }),
    ...(models ? { models } : {}),
    ...(query.events ? { events: query.events } : {}),
    ...definedOnly({ pageToken: query.page_token }),
    limit: query.max_results ?? DEFAULT_LIST_RESULTS,
  });
  return {
    ...(page.webhooks.length > 0 ? { webhooks: page.webhooks.map(toApiWebhook) } : {}),
    ...definedOnly({ next_page_token: page.nextPageToken }),
  };
}

const webhookNotFound = (id: string): ApiError => new ApiError('RESOURCE_DOES_NOT_EXIST', `Webhook with id '${id}' does not exist`);

/** The webhook with this id, or RESOURCE_DOES_NOT_EXIST. Ids that could never exist are not looked up. */
export async function findWebhook(store: Pick<WebhookStore, 'get'>, id: string): Promise<{ value: Webhook; etag: string }> {
  const found = isWellFormedWebhookId(id) ? await store.get(id) : undefined;
  if (!found) throw webhookNotFound(id);
  return found;
}

/** The webhook with this id, if the principal may manage it (else PERMISSION_DENIED naming its model, as Databricks answers). */
export async function findManagedWebhook(store: Pick<WebhookStore, 'get'>, principal: Principal, id: string, action: string): Promise<{ value: Webhook; etag: string }> {
  requireRole(principal, MANAGE, action);
  const found = await findWebhook(store, id);
  if (found.value.modelName === undefined && !grantFor(principal, 'manage', undefined)) {
    throw new ApiError('PERMISSION_DENIED', `Webhook '${id}' is registry-wide (no model_name): only an admin may ${action} it`);
  }
  requireScopeAccess(principal, found.value.modelName, action);
  return found;
}

/** Acts on the webhook itself keep its full URL; the others (redeliver) only its origin, as deliveries do. */
const FULL_URL_ACTIONS: ReadonlySet<AuditAction> = new Set<AuditAction>(['create', 'update', 'delete', 'test']);

export async function audit(
  deps: Pick<WebhookDeps, 'audit' | 'clock' | 'defaultWorkspaceUrl'>,
  principal: Principal,
  action: AuditAction,
  webhook: Webhook,
  details?: Record<string, string | number | boolean>,
): Promise<void> {
  await deps.audit.append([
    {
      timestamp: deps.clock(),
      principal: principal.id,
      ...auditedGrant(principal, webhook),
      action,
      webhookId: webhook.id,
      target: (FULL_URL_ACTIONS.has(action) ? describeTarget : describeTargetOrigin)(webhook.target, deps.defaultWorkspaceUrl),
      ...(details ? { details } : {}),
    },
  ]);
}

/** The grant that allowed a management action on this webhook, as the audit log records it. */
function auditedGrant(principal: Principal, webhook: Webhook): { grant?: string } {
  const grant = grantFor(principal, 'manage', webhook.modelName);
  return grant ? { grant: describeGrant(grant) } : {};
}

function assertEventsFitScope(events: readonly EventName[], modelName: string | undefined): void {
  if (modelName !== undefined && events.includes('REGISTERED_MODEL_CREATED')) {
    throw invalidParameter("Invalid parameter 'events': REGISTERED_MODEL_CREATED is allowed only on registry-wide webhooks (without model_name)");
  }
}

/** The store holds the cap (per model, and registry-wide) under concurrent creates. */
async function insertBelowLimit(deps: WebhookDeps, webhook: Webhook): Promise<void> {
  const { modelName } = webhook;
  const limit = modelName === undefined ? deps.limits.registryWide : deps.limits.perModel;
  try {
    await deps.store.insert(webhook, limit);
  } catch (error) {
    if (error instanceof ScopeFullError) {
      const which = modelName === undefined ? 'registry-wide webhooks' : `webhooks for model_name '${modelName}'`;
      throw invalidParameter(`Invalid parameter 'model_name': at most ${limit} ${which} may exist; delete one first`);
    }
    if (error instanceof ConcurrentUpdateError) {
      throw new ApiError('TEMPORARILY_UNAVAILABLE', `Too many concurrent changes to the webhooks of this model; try again`, { 'Retry-After': '1' });
    }
    throw error;
  }
}

async function targetForCreate(deps: WebhookDeps, input: CreateWebhookInput): Promise<Target> {
  const { http_url_spec: http, job_spec: job } = input;
  if ((http === undefined) === (job === undefined)) throw invalidParameter("Exactly one of 'http_url_spec' or 'job_spec' must be set");
  if (http) return httpTargetFor(deps, http, {});
  if (!job) throw invalidParameter("Exactly one of 'http_url_spec' or 'job_spec' must be set");
  return jobTarget(deps, job.job_id, job.access_token, job.workspace_url);
}

async function jobTarget(deps: WebhookDeps, jobId: string, accessToken: string, workspaceUrl: string | undefined): Promise<JobTarget> {
  if (workspaceUrl === undefined) {
    if (!deps.defaultWorkspaceUrl) {
      throw invalidParameter("Missing required parameter 'job_spec.workspace_url': no default workspace is configured (DATABRICKS_WORKSPACE_URL)");
    }
    // Stored, so that a later change of the setting never sends this webhook's token to another workspace.
    return { kind: 'job', jobId, accessToken, workspaceUrl: deps.defaultWorkspaceUrl };
  }
  const origin = await checkWorkspaceUrl(workspaceUrl, 'job_spec.workspace_url', deps.policy, deps.resolve);
  return { kind: 'job', jobId, accessToken, workspaceUrl: origin };
}

async function applyUpdate(deps: WebhookDeps, existing: Webhook, input: UpdateWebhookInput): Promise<Webhook> {
  const events = input.events ?? existing.events;
  assertEventsFitScope(events, existing.modelName);
  // A user's status change (to any status) takes the webhook out of the service's hands.
  const { serviceDisabled: _serviceDisabled, ...userSet } = existing;
  // `"filter": []` clears the filter; left out, it keeps.
  const { filter: _filter, ...rest } = input.status !== undefined ? userSet : existing;
  const filter = input.filter ?? existing.filter;
  return {
    ...rest,
    ...(filter && filter.length > 0 ? { filter } : {}),
    ...definedOnly({ description: input.description }),
    events,
    status: input.status ?? existing.status,
    target: await updatedTarget(deps, existing.target, input),
    lastUpdatedTimestamp: Math.max(deps.clock(), existing.lastUpdatedTimestamp),
  };
}

/** Omitted spec fields keep their values; the other spec kind switches. */
async function updatedTarget(deps: WebhookDeps, current: Target, input: UpdateWebhookInput): Promise<Target> {
  const { http_url_spec: http, job_spec: job } = input;
  if (http) return httpTargetFor(deps, http, current.kind === 'http' ? current : {});
  if (job) {
    const previous: Partial<JobTarget> = current.kind === 'job' ? current : {};
    const jobId = job.job_id ?? previous.jobId;
    const accessToken = job.access_token ?? previous.accessToken;
    if (jobId === undefined) throw invalidParameter("Missing required parameter 'job_spec.job_id': needed to switch to a job target");
    if (accessToken === undefined) throw invalidParameter("Missing required parameter 'job_spec.access_token': needed to switch to a job target");
    const target = await jobTarget(deps, jobId, accessToken, job.workspace_url ?? previous.workspaceUrl);
    if (job.access_token === undefined && target.workspaceUrl !== previous.workspaceUrl) {
      throw credentialsMustBeResent('job_spec.access_token', 'job_spec.workspace_url');
    }
    return target;
  }
  return current;
}
