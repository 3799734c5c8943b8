/** The console's only way to the data: the public API, with the signed-in user's bearer token. */

export const API = '/api/2.0/mlflow/registry-webhooks';

/** An answer in the API's error format, or a network failure (status 0). */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** This server has no such endpoint (an older or newer version of the service). */
  get notAvailable(): boolean {
    return this.status === 404 && this.code === 'ENDPOINT_NOT_FOUND';
  }
}

type TokenSource = () => Promise<string>;
let tokenSource: TokenSource | undefined;
let onUnauthenticated: (failure: ApiFailure) => void = () => undefined;

export function setTokenSource(source: TokenSource | undefined, whenRefused: (failure: ApiFailure) => void): void {
  tokenSource = source;
  onUnauthenticated = whenRefused;
}

type Query = Record<string, string | number | undefined>;

/** Calls the API; any non-2xx answer becomes an ApiFailure carrying the API's own code and message. */
export async function callApi<T>(method: string, path: string, options: { query?: Query; body?: unknown; token?: string; base?: string } = {}): Promise<T> {
  const url = new URL(`${options.base ?? API}/${path}`, location.origin);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  }
  let token: string | undefined;
  try {
    token = options.token ?? (tokenSource ? await tokenSource() : undefined);
  } catch (failure) {
    if (failure instanceof ApiFailure && failure.status === 401) onUnauthenticated(failure);
    throw failure;
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      cache: 'no-store',
    });
  } catch {
    throw new ApiFailure(0, 'NETWORK_ERROR', 'The service could not be reached. Check your connection and try again.');
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const body = (json ?? {}) as { error_code?: unknown; message?: unknown };
    const failure = new ApiFailure(
      response.status,
      typeof body.error_code === 'string' ? body.error_code : `HTTP_${response.status}`,
      typeof body.message === 'string' ? body.message : `The service answered ${response.status} ${response.statusText}`,
    );
    if (failure.status === 401 && options.token === undefined) onUnauthenticated(failure);
    throw failure;
  }
  if (json === undefined) throw new ApiFailure(response.status, 'BAD_RESPONSE', 'The service answered something that is not JSON');
  return json as T;
}

/**
 * The field an API message names: "Invalid parameter 'http_url_spec.url': …", "Missing required parameter
 * 'job_spec.job_id'", "Unknown parameter 'x'". List indexes are dropped (`events[2]` is the events field).
 */
export function fieldOfMessage(message: string): string | undefined {
  const match = /parameter '([^']+)'/.exec(message);
  const field = match?.[1]?.replace(/\[\d+\]/g, '');
  return field === undefined || field === 'body' ? undefined : field;
}

export const STATUSES = ['ACTIVE', 'TEST_MODE', 'DISABLED'] as const;
export const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'SKIPPED'] as const;

export interface Webhook {
  id: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  events: string[];
  status: string;
  model_name?: string;
  description?: string;
  http_url_spec?: { url: string; enable_ssl_verification?: boolean; format?: string; max_requests_per_second?: number; azure_ad_audience?: string; oauth2?: { token_url: string; client_id: string; scope?: string } };
  filter?: { field: string; op: string; values?: string[] }[];
  job_spec?: { job_id: string; workspace_url?: string };
}

export interface Delivery {
  id: string;
  webhook_id: string;
  event: string;
  event_id: string;
  status: string;
  /** A number in the list; the latest attempts in `deliveries/get`, which gives the count as `attempt_count`. */
  attempts: number | Attempt[];
  attempt_count?: number;
  last_status_code?: number;
  last_error?: string;
  created_timestamp: number;
  last_attempt_timestamp?: number;
  next_attempt_timestamp?: number;
  payload?: unknown;
}

/**
 * One attempt as the delivery detail call returns it (`attempt`, `timestamp`, `duration_ms`, `status_code`, `error`,
 * `response_snippet`); read loosely, as other servers differ in the names.
 */
export type Attempt = Record<string, unknown>;

export interface Health {
  /** HEALTHY, FAILING, NO_ATTEMPTS or SERVICE_DISABLED (this server's verdict; absent from other servers). */
  status?: string;
  last_success_timestamp?: number;
  last_failure_timestamp?: number;
  failing_since_timestamp?: number;
  consecutive_failures?: number;
  deliveries_24h?: number;
  success_rate_24h?: number;
  /** When the service disabled the webhook (failing too long, or 410 Gone); its events are recorded SKIPPED meanwhile. */
  auto_disabled_timestamp?: number;
  /** Why: failing too long (`auto_disable`) or the endpoint answered 410 Gone (`gone`). */
  auto_disabled_reason?: string;
}

/** One UTC hour of `deliveries/summary` (event time), by current status. */
export interface HourSummary {
  start_timestamp: number;
  succeeded: number;
  failed: number;
  skipped: number;
  in_progress: number;
}

export interface DeliverySummary {
  hours: HourSummary[];
  totals: Omit<HourSummary, 'start_timestamp'>;
  webhook_count: number;
  /** Hours before this are counted in part (the service's read budget ran out). */
  exact_since_timestamp?: number;
  /** Webhooks with records the service did not count (more than one summary counts). */
  webhooks_not_counted?: number;
}

export const summarizeDeliveries = (query: Query): Promise<DeliverySummary> => callApi<DeliverySummary>('GET', 'deliveries/summary', { query });

export interface QueueState {
  name: string;
  depth: number;
  oldest_waiting_timestamp?: number;
  oldest_waiting_lag_ms?: number;
}

/**
 * Whether the signed-in principal is an admin, without a refused call: `/api/health` lists the unreadable
 * webhooks' ids to an admin's token only.
 */
export async function signedInAsAdmin(): Promise<boolean> {
  const health = await callApi<{ unreadable_webhook_ids?: unknown }>('GET', 'health', { base: '/api' });
  return Array.isArray(health.unreadable_webhook_ids);
}

/** `service/status`, for admins. */
export interface ServiceStatus {
  unreadable_webhook_ids: string[];
  poison_queues: { name: string; depth: number }[];
  event_queues: QueueState[];
  sources: { name: string; configured: boolean; queue?: string }[];
}

export async function readHealth(id: string): Promise<Health> {
  const answer = await callApi<Health | { health: Health }>('GET', 'webhooks/health', { query: { id } });
  return 'health' in answer ? answer.health : answer;
}

/** Webhooks seen in this tab, so a webhook's page opens without reading the list again. */
export const knownWebhooks = new Map<string, Webhook>();

export async function listWebhooks(query: Query): Promise<{ webhooks: Webhook[]; next?: string }> {
  const answer = await callApi<{ webhooks?: Webhook[]; next_page_token?: string }>('GET', 'list', { query });
  const webhooks = answer.webhooks ?? [];
  for (const webhook of webhooks) knownWebhooks.set(webhook.id, webhook);
  return { webhooks, ...(answer.next_page_token ? { next: answer.next_page_token } : {}) };
}

/**
 * The API has no call for one webhook: it is found in what this tab listed, or by reading the whole list
 * (which a role that may list only by model is refused: then it is not found).
 */
export async function findWebhook(id: string): Promise<Webhook | undefined> {
  const known = knownWebhooks.get(id);
  if (known) return known;
  let token: string | undefined;
  try {
    for (let page = 0; page < 20; page += 1) {
      const { webhooks, next } = await listWebhooks({ max_results: 1000, page_token: token });
      const found = webhooks.find((webhook) => webhook.id === id);
      if (found || !next) return found;
      token = next;
    }
  } catch (failure) {
    if (failure instanceof ApiFailure && failure.status === 403) return undefined;
    throw failure;
  }
  return undefined;
}

export async function listDeliveries(query: Query): Promise<{ deliveries: Delivery[]; next?: string }> {
  const answer = await callApi<{ deliveries?: Delivery[]; next_page_token?: string }>('GET', 'deliveries', { query });
  const deliveries = answer.deliveries ?? [];
  return { deliveries, ...(answer.next_page_token ? { next: answer.next_page_token } : {}) };
}

/** The webhook a delivery belongs to: a delivery id starts with it. */
export const webhookIdOfDelivery = (deliveryId: string): string => deliveryId.split('_')[0] ?? '';
