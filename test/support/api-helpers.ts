import { ADMIN_TOKEN, API, waitFor, type TestRuntime } from './runtime-process.js';
import type { Receiver, ReceivedRequest } from './receiver.js';

export async function createHook(runtime: TestRuntime, body: Record<string, unknown>, token = ADMIN_TOKEN): Promise<string> {
  const response = await runtime.api('POST', `${API}/create`, { body: { status: 'ACTIVE', ...body }, token });
  if (response.status !== 200) throw new Error(`create failed: ${response.text}`);
  return String((response.json.webhook as Record<string, unknown>).id);
}

export async function publish(runtime: TestRuntime, events: Record<string, unknown>[], token = ADMIN_TOKEN): Promise<string[]> {
  const response = await runtime.api('POST', `${API}/publish`, { body: { events }, token });
  if (response.status !== 202) throw new Error(`publish failed: ${response.text}`);
  return response.json.event_ids as string[];
}

export interface ApiDelivery {
  id: string;
  webhook_id: string;
  event: string;
  event_id: string;
  status: string;
  attempts: number;
  last_status_code?: number;
  last_error?: string;
  created_timestamp: number;
  next_attempt_timestamp?: number;
}

export async function deliveriesOf(runtime: TestRuntime, webhookId: string, token = ADMIN_TOKEN): Promise<ApiDelivery[]> {
  const response = await runtime.api('GET', `${API}/deliveries?webhook_id=${webhookId}`, { token });
  if (response.status !== 200) throw new Error(`deliveries failed: ${response.text}`);
  return (response.json.deliveries as ApiDelivery[] | undefined) ?? [];
}

/** Waits until the webhook's deliveries match `done`. */
export function waitForDeliveries(runtime: TestRuntime, webhookId: string, done: (deliveries: ApiDelivery[]) => boolean, timeoutMs = 30_000): Promise<ApiDelivery[]> {
  return waitFor(`deliveries of ${webhookId}`, async () => {
    const deliveries = await deliveriesOf(runtime, webhookId);
    return done(deliveries) ? deliveries : undefined;
  }, timeoutMs);
}

export function waitForRequests(receiver: Receiver, count: number, timeoutMs = 30_000): Promise<ReceivedRequest[]> {
  return waitFor(`${count} requests at ${receiver.url}`, () => (receiver.requests.length >= count ? receiver.requests : undefined), timeoutMs);
}

export const versionCreated = (model: string, extra: Record<string, unknown> = {}) => ({ event: 'MODEL_VERSION_CREATED', model_name: model, version: '1', ...extra });
