import { z } from 'zod';
import type { MlflowIngestConfig } from './mlflow-alias-stages.js';
import { ApiError } from '../shared/errors.js';
import { parseJsonBytes, requireUtf8Charset } from '../http/read-body.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { enqueueEvents, type PublishDeps } from '../pipeline/publish-events.js';
import { MLFLOW_HEADERS, verifyMlflowSignature } from './mlflow-signature.js';
import { translateMlflowWebhook } from './mlflow-events.js';

/** The answer: the events published, or why the delivery was taken and published nowhere. */
export const mlflowIngestAnswerSchema = z.union([z.strictObject({ event_ids: z.array(z.string()) }), z.strictObject({ ignored: z.string() })]);

export interface MlflowIngestDeps {
  publish: PublishDeps;
  /** Undefined while `MLFLOW_WEBHOOK_SECRETS` is unset: the endpoint is off. */
  config: MlflowIngestConfig | undefined;
  log: Logger;
  metrics: Metrics;
}

/** Who the audit log names as the publisher of MLflow's events. */
export const MLFLOW_PUBLISHER = 'mlflow';

const unauthenticated = (why: string) => new ApiError('UNAUTHENTICATED', `MLflow signature check failed: ${why}`);

/** `POST /api/ingest/mlflow`: checks MLflow's signature headers before the body is read, then publishes the mapped events. */
export async function ingestMlflowWebhook(
  deps: MlflowIngestDeps,
  header: (name: string) => string | null,
  readBody: () => Promise<Uint8Array>,
): Promise<z.output<typeof mlflowIngestAnswerSchema>> {
  const { config } = deps;
  if (!config) throw new ApiError('ENDPOINT_NOT_FOUND', 'The MLflow ingest endpoint is off; set MLFLOW_WEBHOOK_SECRETS to turn it on');
  const deliveryId = header(MLFLOW_HEADERS.deliveryId);
  const timestamp = header(MLFLOW_HEADERS.timestamp);
  const signature = header(MLFLOW_HEADERS.signature);
  for (const [name, value] of [[MLFLOW_HEADERS.deliveryId, deliveryId], [MLFLOW_HEADERS.timestamp, timestamp], [MLFLOW_HEADERS.signature, signature]] as const) {
    if (!value) throw unauthenticated(`missing header ${name}${name === MLFLOW_HEADERS.signature ? ' (create the MLflow webhook with a secret)' : ''}`);
  }
  if (!deliveryId || !/^[\x21-\x7e]{1,128}$/.test(deliveryId)) throw unauthenticated(`${MLFLOW_HEADERS.deliveryId} must be 1 to 128 visible ASCII characters`);
  requireUtf8Charset(header('content-type'));
  const body = await readBody();
  const problem = verifyMlflowSignature({ deliveryId, timestamp: timestamp ?? '', signature: signature ?? '', body }, config.secrets, deps.publish.clock());
  if (problem) {
    deps.log.warn(`MLflow delivery ${deliveryId} refused: ${problem}`);
    throw unauthenticated(problem);
  }
  const translated = translateMlflowWebhook(parseJsonBytes(body), deliveryId, config.aliasStages);
  if (translated.kind === 'ignored') {
    deps.log.info(`MLflow delivery ${deliveryId} ignored: ${translated.why}`);
    deps.metrics.eventsIgnored(1, MLFLOW_PUBLISHER, translated.reason);
    return { ignored: translated.why };
  }
  return { event_ids: await enqueueEvents(deps.publish, { source: MLFLOW_PUBLISHER }, translated.events) };
}
