import { z } from 'zod';
import { invalidParameter } from '../shared/errors.js';
import { parseWith } from '../http/validate.js';
import type { SourcedEvent } from '../pipeline/publish-events.js';
import type { Stage } from '../webhooks/events.js';
import { parseTimestamp } from './timestamps.js';

/** An MLflow webhook body (`_send_webhook_request` in `mlflow/webhooks/delivery.py`); later fields are tolerated. */
export const mlflowEnvelopeSchema = z.object({
  entity: z.string().min(1).max(100),
  action: z.string().min(1).max(100),
  timestamp: z.string().max(64),
  data: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
  workspace: z.string().max(1000).optional(),
});

/** Why an event is ignored: a metric attribute (`reason`) and the answer's sentence (`why`). */
export type MlflowTranslation = { kind: 'events'; events: SourcedEvent[] } | { kind: 'ignored'; reason: 'test_payload' | 'unmapped_event'; why: string };

/** How a publish field is named in an MLflow body, for error messages. */
const MLFLOW_FIELDS: Record<string, string> = {
  model_name: 'data.name',
  version: 'data.version',
  'tags[0].key': 'data.key',
  'tags[0].value': 'data.value',
  alias: 'data.alias',
  to_stage: 'data.alias',
  event_timestamp: 'timestamp',
};

/** `data` of MLflow's "test webhook" examples (`example()` in mlflow/webhooks/types.py): answered 200 and published nowhere. */
const TEST_PAYLOADS: Record<string, Record<string, unknown>> = {
  'registered_model.created': { name: 'example_model', tags: { example_key: 'example_value' }, description: 'An example registered model' },
  'model_version.created': {
    name: 'example_model',
    version: '1',
    source: 'runs:/abcd1234abcd5678/model',
    run_id: 'abcd1234abcd5678',
    tags: { example_key: 'example_value' },
    description: 'An example model version',
  },
  'model_version_tag.set': { name: 'example_model', version: '1', key: 'example_key', value: 'example_value' },
  'model_version_tag.deleted': { name: 'example_model', version: '1', key: 'example_key' },
  'model_version_alias.created': { name: 'example_model', alias: 'example_alias', version: '1' },
  'model_version_alias.deleted': { name: 'example_model', alias: 'example_alias' },
};

/** JSON with sorted keys, to compare payloads whatever their key order. */
const canonical = (value: unknown): string =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
    ? `{${Object.keys(value)
        .sort()
        .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
        .join(',')}}`
    : JSON.stringify(value);

/**
 * Turns one MLflow webhook body into publish-path events (event_id `mlflow:<delivery id>`, as MLflow's retries
 * reuse the delivery id), or says why it is ignored.
 */
export function translateMlflowWebhook(body: unknown, deliveryId: string, aliasStages: ReadonlyMap<string, Stage>): MlflowTranslation {
  if (body === undefined) throw invalidParameter('Missing request body: MLflow sends {"entity", "action", "timestamp", "data"}');
  const envelope = parseWith(mlflowEnvelopeSchema, body);
  const name = `${envelope.entity}.${envelope.action}`;
  const timestamp = parseTimestamp(envelope.timestamp);
  if (timestamp === null) throw invalidParameter("Invalid parameter 'timestamp': must be an ISO 8601 timestamp with a zone, such as 2025-11-29T10:00:00.000000+00:00");
  const data = envelope.data;
  const testPayload = TEST_PAYLOADS[name];
  if (testPayload && canonical(data) === canonical(testPayload)) return { kind: 'ignored', reason: 'test_payload', why: `MLflow test payload for ${name} (example_model); nothing was published` };
  const common = { model_name: data.name, event_id: `mlflow:${deliveryId}`, event_timestamp: timestamp };
  const sourced = (input: Record<string, unknown>): SourcedEvent => ({ input: { ...common, ...input }, label: 'body', nameOf: (field) => MLFLOW_FIELDS[field] ?? `data.${field}` });
  const one = (input: Record<string, unknown>): MlflowTranslation => ({ kind: 'events', events: [sourced(input)] });
  switch (name) {
    case 'registered_model.created':
      return one({ event: 'REGISTERED_MODEL_CREATED' });
    case 'model_version.created':
      return one({ event: 'MODEL_VERSION_CREATED', version: data.version });
    case 'model_version_tag.set':
      return one({ event: 'MODEL_VERSION_TAG_SET', version: data.version, tags: [{ key: data.key, value: data.value }] });
    case 'model_version_tag.deleted':
      return one({ event: 'MODEL_VERSION_TAG_DELETED', version: data.version, tags: [{ key: data.key }] });
    case 'model_version_alias.created': {
      const native = sourced({ event: 'MODEL_VERSION_ALIAS_CREATED', version: data.version, alias: data.alias });
      const stage = typeof data.alias === 'string' ? aliasStages.get(data.alias.toLowerCase()) : undefined;
      if (stage === undefined) return { kind: 'events', events: [native] };
      // The stage event keeps webhooks written for stages working; its own id, so the per-model de-duplication keeps both.
      const staged = sourced({ event: 'MODEL_VERSION_TRANSITIONED_STAGE', version: data.version, to_stage: stage, from_stage: 'None', event_id: `mlflow:${deliveryId}:stage` });
      return { kind: 'events', events: [native, staged] };
    }
    case 'model_version_alias.deleted':
      return one({ event: 'MODEL_VERSION_ALIAS_DELETED', alias: data.alias });
    default:
      return { kind: 'ignored', reason: 'unmapped_event', why: `MLflow event ${name} has no registry-webhooks equivalent` };
  }
}
