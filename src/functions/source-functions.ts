import type { HttpHandler, StorageQueueHandler } from '@azure/functions';
import { readBodyBytes } from '../http/read-body.js';
import { loggerOf } from '../telemetry/logger.js';
import { processAzureMlMessage } from '../sources/azureml-events.js';
import { ingestMlflowWebhook } from '../sources/mlflow-ingest.js';
import { unauthenticatedEndpoint, type ServicesProvider } from './http-endpoint.js';

/** `POST /api/ingest/mlflow`: authenticated by MLflow's signature, not a bearer token. */
export const mlflowIngestHandler = (services: ServicesProvider): HttpHandler =>
  unauthenticatedEndpoint(services, async ({ request, services: app, log }) => ({
    body: await ingestMlflowWebhook({ publish: app.publish, config: app.config.mlflow, log, metrics: app.metrics }, (name) => request.headers.get(name), () => readBodyBytes(request)),
  }));

/** `azureml-events`: Event Grid's copies of Azure ML events, handed over as the bytes queued (a binary trigger) and read strictly. */
export const azureMlEventsHandler =
  (services: ServicesProvider): StorageQueueHandler =>
  async (message, context) => {
    const app = await services();
    await processAzureMlMessage({ publish: app.publish, poison: app.azureMlPoison, log: loggerOf(context), metrics: app.metrics }, message);
  };
