import type { HttpHandler } from '@azure/functions';
import { ApiError } from '../errors.js';
import { QUEUES, TABLES } from '../storage/names.js';
import { errorResponse, type ServicesProvider } from './http-endpoint.js';

const HEALTH_TIMEOUT_MS = 5000;

/** 200 when Table and Queue storage both answer, 503 in the error format when either does not. No auth. */
export const healthHandler =
  (services: ServicesProvider): HttpHandler =>
  async (_request, context) => {
    try {
      const s = await services();
      const abortSignal = AbortSignal.timeout(HEALTH_TIMEOUT_MS);
      await Promise.all([
        s.storage.table(TABLES.webhooks).listEntities({ queryOptions: { select: ['PartitionKey'] }, abortSignal }).byPage({ maxPageSize: 1 }).next(),
        s.storage.queue(QUEUES.registryEvents).peekMessages({ numberOfMessages: 1, abortSignal }),
      ]);
      return { status: 200, jsonBody: { status: 'ok' } };
    } catch (error) {
      context.warn(`health check failed: ${error instanceof Error ? error.message : String(error)}`);
      return errorResponse(new ApiError('TEMPORARILY_UNAVAILABLE', 'Storage is unreachable'));
    }
  };
