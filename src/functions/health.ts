import type { HttpHandler, HttpRequest } from '@azure/functions';
import { z } from 'zod';
import { ApiError, errorMessage } from '../shared/errors.js';
import type { Services } from '../composition/services.js';
import { authorizeWithinBudget, errorResponse, type ServicesProvider } from './http-endpoint.js';
import { unityCatalogStatus, unityCatalogStatusSchema } from '../unity-catalog/status.js';

const HEALTH_TIMEOUT_MS = 5000;

/** Status and counts for anyone; the unreadable webhooks' ids for an admin. */
export const healthAnswerSchema = z.strictObject({
  status: z.literal('ok'),
  unreadable_webhooks: z.int(),
  unreadable_webhook_ids: z.array(z.string()).optional(),
  /** While the Unity Catalog source is on or misconfigured. */
  unity_catalog: unityCatalogStatusSchema.optional(),
});

/**
 * 200 when Table and Queue storage answer, else 503. No auth needed, but a token sent is checked (401, counted
 * toward the failed-authentication budget), so health is no side door for guessing tokens.
 */
export const healthHandler =
  (services: ServicesProvider): HttpHandler =>
  async (request, context) => {
    try {
      const app = await services();
      const admin = await isAdmin(request, app);
      await app.checkStorage(AbortSignal.timeout(HEALTH_TIMEOUT_MS));
      const unreadable = await app.unreadable.ids();
      const unityCatalog = await unityCatalogStatus(app.unityCatalog.source, app.unityCatalog.store, admin);
      const body: z.output<typeof healthAnswerSchema> = {
        status: 'ok',
        unreadable_webhooks: unreadable.length,
        ...(admin ? { unreadable_webhook_ids: unreadable } : {}),
        ...(unityCatalog ? { unity_catalog: unityCatalog } : {}),
      };
      return { status: 200, jsonBody: body };
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
async function isAdmin(request: HttpRequest, app: Services): Promise<boolean> {
  if (!request.headers.get('authorization')) return false;
  try {
    return (await authorizeWithinBudget(request, app)).roles.includes('admin');
  } catch (error) {
    // A valid token without a role, or an identity provider that cannot be reached, is simply not an admin.
    if (error instanceof ApiError && (error.code === 'UNAUTHENTICATED' || error.code === 'REQUEST_LIMIT_EXCEEDED')) throw error;
    return false;
  }
}
