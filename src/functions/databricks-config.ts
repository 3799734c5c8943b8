import type { HttpHandler } from '@azure/functions';

/**
 * `GET /.well-known/databricks-config`: the host-metadata document databricks-sdk-py fetches when a client is
 * created (to fill in account id, workspace id, cloud and the OIDC discovery URL when they are not configured).
 * This service is not a Databricks workspace and has none of them, so the truthful answer is an empty object:
 * the SDK then keeps the explicit configuration (host and token), as it does on a 404, but without its warning.
 * No credentials are needed and nothing is read.
 */
export const databricksConfigHandler: HttpHandler = () => ({
  status: 200,
  headers: { 'Cache-Control': 'public, max-age=3600' },
  jsonBody: {},
});
