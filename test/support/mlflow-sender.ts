import { createHmac, randomUUID } from 'node:crypto';

/**
 * Sends webhooks the way an MLflow tracking server does (`_send_webhook_request` in mlflow/webhooks/delivery.py):
 * the body is Python's `json.dumps` of {entity, action, timestamp, data} (", " and ": " separators, non-ASCII
 * escaped), a fresh uuid delivery id, unix-seconds timestamp, and `X-MLflow-Signature: v1,<base64 HMAC-SHA256
 * of "{delivery_id}.{timestamp}.{body}">` keyed with the secret's UTF-8 bytes. Written apart from the service's
 * verifier and pinned by test/data/mlflow-vectors.json.
 */
export function mlflowSignature(secret: string, deliveryId: string, timestamp: string, body: string): string {
  return `v1,${createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(`${deliveryId}.${timestamp}.${body}`, 'utf8')).digest('base64')}`;
}

/** Python's `json.dumps` with its defaults, for the JSON values MLflow sends. */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => `${pythonJsonDumps(key)}: ${pythonJsonDumps(item)}`)
    .join(', ')}}`;
}

/** Python's `datetime.now(timezone.utc).isoformat()`: microseconds and `+00:00`. */
export const pythonIsoNow = (ms = Date.now()): string => `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;

export interface MlflowDelivery {
  deliveryId: string;
  timestamp: string;
  body: string;
  headers: Record<string, string>;
}

/** One signed MLflow delivery; any part can be overridden to make it wrong. */
export function mlflowDelivery(
  secret: string,
  entity: string,
  action: string,
  data: Record<string, unknown>,
  options: { deliveryId?: string; timestamp?: string; bodyTimestamp?: string; workspace?: string } = {},
): MlflowDelivery {
  const deliveryId = options.deliveryId ?? randomUUID();
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const body = pythonJsonDumps({ entity, action, timestamp: options.bodyTimestamp ?? pythonIsoNow(), data, ...(options.workspace ? { workspace: options.workspace } : {}) });
  return {
    deliveryId,
    timestamp,
    body,
    headers: {
      'content-type': 'application/json',
      'x-mlflow-delivery-id': deliveryId,
      'x-mlflow-timestamp': timestamp,
      'x-mlflow-signature': mlflowSignature(secret, deliveryId, timestamp, body),
    },
  };
}

/** MLflow's "test webhook" payloads (`example()` in mlflow/webhooks/types.py), by event. */
export const MLFLOW_TEST_PAYLOADS: Record<string, Record<string, unknown>> = {
  'registered_model.created': { name: 'example_model', tags: { example_key: 'example_value' }, description: 'An example registered model' },
  'model_version.created': { name: 'example_model', version: '1', source: 'runs:/abcd1234abcd5678/model', run_id: 'abcd1234abcd5678', tags: { example_key: 'example_value' }, description: 'An example model version' },
  'model_version_tag.set': { name: 'example_model', version: '1', key: 'example_key', value: 'example_value' },
  'model_version_tag.deleted': { name: 'example_model', version: '1', key: 'example_key' },
  'model_version_alias.created': { name: 'example_model', alias: 'example_alias', version: '1' },
  'model_version_alias.deleted': { name: 'example_model', alias: 'example_alias' },
};
