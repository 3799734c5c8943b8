import type { HttpHandler } from '@azure/functions';

/**
 * `GET /.well-known/databricks-config`, which databricks-sdk-py fetches: this service is no workspace, so an empty
 * object, on which the SDK keeps its explicit configuration without the warning a 404 gives (docs/host-fidelity.md).
 */
export const databricksConfigHandler: HttpHandler = () => ({
  status: 200,
  headers: { 'Cache-Control': 'public, max-age=3600' },
  jsonBody: {},
});
