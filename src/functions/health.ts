import type { HttpHandler, HttpRequest } from '@azure/functions';
import { ApiError, errorMessage } from '../shared/errors.js';
import type { Services } from '../composition/services.js';
import { authorizeWithinBudget, errorResponse, type ServicesProvider } from './http-endpoint.js';

const HEALTH_TIMEOUT_MS = 5000;

/**
 * 200 when Table and Queue storage both answer, 503 in the error format when either does not. No auth needed:
 * anyone sees the count of stored webhooks that cannot be read; a caller with an admin token also their ids.
 * A token that is sent is checked like on every other endpoint: a bad one is 401 and counts against the
 * client's failed-authentication budget (429 once spent), so health is no side door for guessing tokens.
 */
export const healthHandler =
  (services: ServicesProvider): HttpHandler =>
  async (request, context) => {
    try {
      const s = await services();
      const admin = await isAdmin(request, s);
      await s.checkStorage(AbortSignal.timeout(HEALTH_TIMEOUT_MS));
      const unreadable = await s.unreadable.ids();
      return { status: 200, jsonBody: { status: 'ok', unreadable_webhooks: unreadable.length, ...(admin ? { unreadable_webhook_ids: unreadable } : {}) } };
    } catch (error) {
      if (error instanceof ApiError) return errorResponse(error);
      context.warn(`health check failed: ${errorMessage(error)}`);
      return errorResponse(new ApiError('TEMPORARILY_UNAVAILABLE', 'Storage is unreachable'));
    }
  };

/**
 * Whether the caller proved to be an admin. No token is the anonymous view; a bad token is refused (401, or 429
 * once the client's failure budget is spent), as on every other endpoint.
 */
async function isAdmin(request: HttpRequest, s: Services): Promise<boolean> {
  if (!request.headers.get('authorization')) return false;
  try {
    return (await authorizeWithinBudget(request, s)).roles.includes('admin');
  } catch (error) {
    // A valid token without a role, or an identity provider that cannot be reached, is simply not an admin.
    if (error instanceof ApiError && (error.code === 'UNAUTHENTICATED' || error.code === 'REQUEST_LIMIT_EXCEEDED')) throw error;
    return false;
  }
}
