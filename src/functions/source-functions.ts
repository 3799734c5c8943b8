import type { HttpHandler } from '@azure/functions';
import { readBodyBytes } from '../http/read-body.js';
import { ingestMlflowWebhook } from '../sources/mlflow-ingest.js';
import { unauthenticatedEndpoint, type ServicesProvider } from './http-endpoint.js';

/** `POST /api/ingest/mlflow`: authenticated by MLflow's signature, not a bearer token. */
export const mlflowIngestHandler = (services: ServicesProvider): HttpHandler =>
  unauthenticatedEndpoint(services, async ({ request, services: s, log }) => ({
    body: await ingestMlflowWebhook({ publish: s.publish, config: s.config.mlflow, log, metrics: s.metrics }, (name) => request.headers.get(name), () => readBodyBytes(request)),
  }));
