import { startReceiver, type ReceivedRequest, type Receiver } from './receiver.js';

export interface FakeOAuth2Server extends Receiver {
  /** The token endpoint's URL. */
  tokenUrl: string;
  /** Every access token issued, oldest first. */
  issued: string[];
  /** Scopes asked for, one per successful request. */
  scopes: (string | undefined)[];
}

/**
 * An OAuth 2.0 token endpoint (RFC 6749) for the client-credentials grant: `POST` form-encoded
 * `grant_type=client_credentials`, the client authenticated by `client_id` + `client_secret` in the body or by HTTP
 * Basic; answers `{access_token, token_type: "Bearer", expires_in}`, or the RFC's errors (400
 * `unsupported_grant_type` / `invalid_request`, 401 `invalid_client`).
 */
export async function startFakeOAuth2Server(client: { id: string; secret: string }, lifetimeS = 3600): Promise<FakeOAuth2Server> {
  const issued: string[] = [];
  const scopes: (string | undefined)[] = [];
  const receiver = await startReceiver({
    behaviour: (request: ReceivedRequest, _n, response) => {
      const json = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
        response.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store', pragma: 'no-cache', ...headers }).end(JSON.stringify(body));
      if (request.method !== 'POST' || request.path !== '/oauth2/token') return json(404, { error: 'not_found' });
      if (!request.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return json(400, { error: 'invalid_request', error_description: 'the body must be application/x-www-form-urlencoded' });
      const form = new URLSearchParams(request.body);
      if (form.get('grant_type') !== 'client_credentials') return json(400, { error: 'unsupported_grant_type' });
      const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
      const [id, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent) : [form.get('client_id'), form.get('client_secret')];
      if (id !== client.id || secret !== client.secret) return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' }, { 'www-authenticate': 'Basic realm="token"' });
      const token = `at-${issued.length + 1}-${Math.random().toString(36).slice(2, 10)}`;
      issued.push(token);
      scopes.push(form.get('scope') ?? undefined);
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: lifetimeS, ...(form.get('scope') ? { scope: form.get('scope') } : {}) });
    },
  });
  return Object.assign(receiver, { tokenUrl: `${new URL(receiver.url).origin}/oauth2/token`, issued, scopes });
}

export interface ProtectedApi extends Receiver {
  /** Tokens it accepts; take one out to make it answer 401 for it. */
  accepted: Set<string>;
}

/** A resource server that accepts the bearer tokens it is told and answers 401 `invalid_token` (RFC 6750) to any other. */
export async function startProtectedApi(): Promise<ProtectedApi> {
  const accepted = new Set<string>();
  const receiver = await startReceiver({
    behaviour: (request, _n, response) => {
      const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      if (!token || !accepted.has(token)) return response.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"accepted":true}');
    },
  });
  return Object.assign(receiver, { accepted });
}

export interface ManagedIdentityCall {
  resource: string;
  clientId: string | undefined;
}

export interface FakeManagedIdentityEndpoint extends Receiver {
  /** `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`, as App Service sets them. */
  env: { IDENTITY_ENDPOINT: string; IDENTITY_HEADER: string };
  calls: ManagedIdentityCall[];
  /** The tokens issued, by resource. */
  tokens: Map<string, string[]>;
}

/**
 * App Service's managed identity endpoint (api-version 2019-08-01): `GET $IDENTITY_ENDPOINT?resource=…&api-version=…&client_id=…`
 * with the `X-IDENTITY-HEADER` secret; answers `{access_token, expires_on, resource, token_type, client_id}`. Only
 * the user-assigned identities it is given exist; a call without a client id asks for the app's system identity,
 * which this app has none of (400).
 */
export async function startFakeManagedIdentityEndpoint(identities: string[]): Promise<FakeManagedIdentityEndpoint> {
  const header = `identity-header-${Math.random().toString(36).slice(2)}`;
  const calls: ManagedIdentityCall[] = [];
  const tokens = new Map<string, string[]>();
  const receiver = await startReceiver({
    behaviour: (request, _n, response) => {
      const json = (status: number, body: Record<string, unknown>) => response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
      const url = new URL(request.path, 'http://fake');
      if (request.method !== 'GET' || url.pathname !== '/msi/token') return json(404, { statusCode: 404, message: 'Not found' });
      if (request.headers['x-identity-header'] !== header) return json(401, { statusCode: 401, message: 'Unauthorized request: X-IDENTITY-HEADER is missing or wrong' });
      if (url.searchParams.get('api-version') !== '2019-08-01') return json(400, { statusCode: 400, message: 'Unsupported api-version' });
      const resource = url.searchParams.get('resource');
      if (!resource) return json(400, { statusCode: 400, message: 'resource is required' });
      const clientId = url.searchParams.get('client_id') ?? undefined;
      calls.push({ resource, clientId });
      if (clientId === undefined || !identities.includes(clientId)) {
        return json(400, { statusCode: 400, message: 'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.' });
      }
      const token = `mi-token-${tokens.get(resource)?.length ?? 0}-${Math.random().toString(36).slice(2, 10)}`;
      tokens.set(resource, [...(tokens.get(resource) ?? []), token]);
      return json(200, { access_token: token, expires_on: String(Math.floor(Date.now() / 1000) + 3600), resource, token_type: 'Bearer', client_id: clientId });
    },
  });
  return Object.assign(receiver, { env: { IDENTITY_ENDPOINT: `${new URL(receiver.url).origin}/msi/token`, IDENTITY_HEADER: header }, calls, tokens });
}
