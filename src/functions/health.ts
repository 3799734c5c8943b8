import type { HttpHandler } from '@azure/functions';
import { authorizeRequest } from '../auth/authorize-request.js';
import type { Authenticator } from '../auth/principal.js';
import { ApiError } from '../errors.js';
import { QUEUES, TABLES } from '../storage/names.js';
import { errorResponse, type ServicesProvider } from './http-endpoint.js';

const HEALTH_TIMEOUT_MS = 5000;

/**
 * 200 when Table and Queue storage both answer, 503 in the error format when either does not. No auth needed:
 * anyone sees the count of stored webhooks that cannot be read; a caller with an admin token also their ids.
 */
export const healthHandler =
  (services: ServicesProvider): HttpHandler =>
  async (request, context) => {
    try {
      const s = await services();
      const abortSignal = AbortSignal.timeout(HEALTH_TIMEOUT_MS);
      await Promise.all([
        s.storage.table(TABLES.webhooks).listEntities({ queryOptions: { select: ['PartitionKey'] }, abortSignal }).byPage({ maxPageSize: 1 }).next(),
        s.storage.queue(QUEUES.registryEvents).peekMessages({ numberOfMessages: 1, abortSignal }),
      ]);
      const unreadable = await s.unreadable.ids();
      const admin = await isAdmin(request.headers.get('authorization'), s.authenticator);
      return { status: 200, jsonBody: { status: 'ok', unreadable_webhooks: unreadable.length, ...(admin ? { unreadable_webhook_ids: unreadable } : {}) } };
    } catch (error) {
      context.warn(`health check failed: ${error instanceof Error ? error.message : String(error)}`);
      return errorResponse(new ApiError('TEMPORARILY_UNAVAILABLE', 'Storage is unreachable'));
    }
  };

/** Whether the caller proved to be an admin; any other caller, or bad credentials, gets the anonymous view. */
async function isAdmin(header: string | null, authenticator: Authenticator): Promise<boolean> {
  if (!header) return false;
  try {
    return (await authorizeRequest(header, authenticator)).roles.includes('admin');
  } catch {
    return false;
  }
}
