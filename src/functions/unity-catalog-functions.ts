import type { HttpHandler, TimerHandler } from '@azure/functions';
import { loggerOf } from '../telemetry/logger.js';
import { requireRole } from '../webhooks/permissions.js';
import { pollUnityCatalog } from '../unity-catalog/poller.js';
import { unityCatalogStatus } from '../unity-catalog/status.js';
import { endpoint, type ServicesProvider } from './http-endpoint.js';

/**
 * The Unity Catalog poller. Off (no workspace): returns at once. A bad setting: logs it and returns, touching
 * neither the API nor the other sources. On: one run (docs/sources.md#unity-catalog).
 */
export const unityCatalogPollHandler =
  (services: ServicesProvider): TimerHandler =>
  async (_timer, context) => {
    const { unityCatalog } = await services();
    const log = loggerOf(context);
    const { source, poller } = unityCatalog;
    if (source.kind === 'off') return;
    if (source.kind === 'invalid' || !poller) {
      log.warn(`unity catalog: the source is off: ${source.kind === 'invalid' ? source.problem : 'not configured'}`);
      return;
    }
    const summary = await pollUnityCatalog({ ...poller, log });
    log.info(`unity catalog: ${summary.outcome}, ${summary.requests} requests, ${summary.published} events published`);
  };

/** `GET /api/sources/unity-catalog`: the source's condition in detail, for admins. */
export const unityCatalogStateHandler = (services: ServicesProvider): HttpHandler =>
  endpoint(services, async ({ principal, services: s }) => {
    requireRole(principal, ['admin'], 'read the Unity Catalog source state');
    const status = await unityCatalogStatus(s.unityCatalog.source, s.unityCatalog.store, true);
    return { body: { unity_catalog: status ?? { status: 'off', problems: 0 } } };
  });
