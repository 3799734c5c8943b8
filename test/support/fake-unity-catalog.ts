import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after } from 'node:test';

type VersionStatus = 'PENDING_REGISTRATION' | 'READY' | 'FAILED_REGISTRATION';

interface FakeModel {
  catalog: string;
  schema: string;
  name: string;
  createdAt: number;
  /** Deliberately never moved by version or alias changes: the reference does not promise it moves. */
  updatedAt: number;
  aliases: Map<string, number>;
  versions: Map<number, { status: VersionStatus; createdAt: number }>;
}

export interface FakeRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization: string;
}

export interface FakeUnityCatalog {
  url: string;
  requests: FakeRequest[];
  /** Requests to the Unity Catalog API (token requests not included). */
  apiRequests(): FakeRequest[];
  tokenRequests: number;
  createSchema(catalog: string, schema: string): void;
  createModel(fullName: string): void;
  deleteModel(fullName: string): void;
  /** A new version, PENDING_REGISTRATION until `setStatus`; answers its number. */
  createVersion(fullName: string, status?: VersionStatus): number;
  setStatus(fullName: string, version: number, status: VersionStatus): void;
  setAlias(fullName: string, alias: string, version: number): void;
  deleteAlias(fullName: string, alias: string): void;
  /** Page sizes, whatever the client asks (the server caps `max_results` too). */
  pageSizes: { models: number; versions: number };
  /** Every listing returns an empty page (with a token) before each page of results, and ends with one. */
  emptyPages: boolean;
  /** The next `count` API calls answer this status and Databricks error body (and headers). */
  failNext(count: number, status: number, errorCode: string, message: string, headers?: Record<string, string>): void;
  /** Securables (a schema `catalog.schema` or a model's full name) the caller has no privilege on: 403. */
  denied: Set<string>;
  /** Access tokens it accepts as personal access tokens. */
  personalTokens: Set<string>;
  close(): Promise<void>;
}

const json = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
};
const error = (response: ServerResponse, status: number, errorCode: string, message: string): void => json(response, status, { error_code: errorCode, message });

const MODELS_PATH = '/api/2.1/unity-catalog/models';

/**
 * Both list calls' `max_results`, as the reference states it: absent or 0 is the server's page length, a positive
 * value the smaller of it and the server's, a negative one an INVALID_PARAMETER_VALUE (undefined here).
 */
function pageLengthOf(query: URLSearchParams, serverLength: number): number | undefined {
  const asked = Number(query.get('max_results') ?? '0');
  if (asked < 0) return undefined;
  return Math.min(asked || serverLength, serverLength);
}

/**
 * A Unity Catalog workspace on 127.0.0.1, from the REST reference (databricks-sdk-py service/catalog.py): registered
 * models (`GET /models` by catalog and schema, paged with `next_page_token`, pages possibly empty; `GET /models/{full_name}`
 * with aliases only under `include_aliases=true`; `PUT`/`DELETE /models/{full_name}/aliases/{alias}`), model versions
 * (`GET /models/{full_name}/versions`, paged, no aliases), errors as `{error_code, message}`, and the workspace's
 * OAuth token endpoint `POST /oidc/v1/token` (client credentials, Basic auth, scope `all-apis`).
 */
export async function startFakeUnityCatalog(oauthClients: Record<string, string> = {}, options: { stopAfterTests?: boolean } = {}): Promise<FakeUnityCatalog> {
  const schemas = new Set<string>();
  const models = new Map<string, FakeModel>();
  const issued = new Set<string>();
  const requests: FakeRequest[] = [];
  let faults: { count: number; status: number; errorCode: string; message: string; headers: Record<string, string> } | undefined;
  let clock = 1_780_000_000_000;
  let tokenCount = 0;

  const fake: FakeUnityCatalog = {
    url: '',
    requests,
    apiRequests: () => requests.filter((request) => request.path.startsWith('/api/')),
    tokenRequests: 0,
    pageSizes: { models: 100, versions: 100 },
    emptyPages: false,
    denied: new Set(),
    personalTokens: new Set(),
    createSchema: (catalog, schema) => void schemas.add(`${catalog}.${schema}`),
    createModel: (fullName) => {
      const [catalog = '', schema = '', name = ''] = fullName.split('.');
      if (!schemas.has(`${catalog}.${schema}`)) throw new Error(`no schema ${catalog}.${schema}`);
      clock += 1000;
      models.set(fullName, { catalog, schema, name, createdAt: clock, updatedAt: clock, aliases: new Map(), versions: new Map() });
    },
    deleteModel: (fullName) => void models.delete(fullName),
    createVersion: (fullName, status = 'PENDING_REGISTRATION') => {
      const model = modelOf(fullName);
      const version = Math.max(0, ...model.versions.keys()) + 1;
      model.versions.set(version, { status, createdAt: (clock += 1000) });
      return version;
    },
    setStatus: (fullName, version, status) => {
      const entry = modelOf(fullName).versions.get(version);
      if (!entry) throw new Error(`no version ${version}`);
      entry.status = status;
    },
    setAlias: (fullName, alias, version) => {
      const model = modelOf(fullName);
      if (!model.versions.has(version)) throw new Error(`no version ${version}`);
      model.aliases.set(alias, version);
    },
    deleteAlias: (fullName, alias) => void modelOf(fullName).aliases.delete(alias),
    failNext: (count, status, errorCode, message, headers = {}) => {
      faults = { count, status, errorCode, message, headers };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };

  function modelOf(fullName: string): FakeModel {
    const model = models.get(fullName);
    if (!model) throw new Error(`no model ${fullName}`);
    return model;
  }

  const modelInfo = (model: FakeModel, withAliases: boolean) => ({
    name: model.name,
    catalog_name: model.catalog,
    schema_name: model.schema,
    full_name: `${model.catalog}.${model.schema}.${model.name}`,
    owner: 'someone@example.com',
    metastore_id: '11111111-2222-3333-4444-555555555555',
    storage_location: `abfss://uc@example.dfs.core.windows.net/models/${model.name}`,
    created_at: model.createdAt,
    created_by: 'someone@example.com',
    updated_at: model.updatedAt,
    updated_by: 'someone@example.com',
    ...(withAliases && model.aliases.size > 0
      ? {
          aliases: [...model.aliases].map(([alias, version]) => ({ alias_name: alias, version_num: version, catalog_name: model.catalog, schema_name: model.schema, model_name: model.name })),
        }
      : {}),
  });

  /** One page of `items` from an opaque token: the offset, and whether the empty page before it was served. */
  function page<T>(items: T[], token: string | null, size: number): { items: T[]; next?: string } {
    let state = { offset: 0, served: false };
    if (token) state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof state;
    const encode = (next: typeof state) => Buffer.from(JSON.stringify(next)).toString('base64url');
    if (fake.emptyPages && !state.served) return { items: [], next: encode({ offset: state.offset, served: true }) };
    const slice = items.slice(state.offset, state.offset + size);
    const offset = state.offset + slice.length;
    const more = offset < items.length || (fake.emptyPages && slice.length > 0);
    return { items: slice, ...(more ? { next: encode({ offset, served: false }) } : {}) };
  }

  function authorized(request: IncomingMessage): boolean {
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    return bearer !== undefined && (issued.has(bearer) || fake.personalTokens.has(bearer));
  }

  function token(request: IncomingMessage, body: string, response: ServerResponse): void {
    fake.tokenRequests += 1;
    const [id, secret] = Buffer.from(/^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '', 'base64').toString('utf8').split(':').map(decodeURIComponent);
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== 'client_credentials') return json(response, 400, { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' });
    if (id === undefined || oauthClients[id] === undefined || oauthClients[id] !== secret) return json(response, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    const accessToken = `fake-oauth-${++tokenCount}-${id}`;
    issued.add(accessToken);
    json(response, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 3600, scope: form.get('scope') ?? 'all-apis' });
  }

  function api(method: string, url: URL, response: ServerResponse): void {
    const query = url.searchParams;
    if (method === 'GET' && url.pathname === MODELS_PATH) {
      const catalog = query.get('catalog_name');
      const schema = query.get('schema_name');
      if ((catalog === null) !== (schema === null)) return error(response, 400, 'INVALID_PARAMETER_VALUE', 'catalog_name and schema_name must be given together');
      if (catalog !== null && ![...schemas].some((entry) => entry.startsWith(`${catalog}.`))) return error(response, 404, 'CATALOG_DOES_NOT_EXIST', `Catalog '${catalog}' does not exist.`);
      if (catalog !== null && !schemas.has(`${catalog}.${schema}`)) return error(response, 404, 'SCHEMA_DOES_NOT_EXIST', `Schema '${catalog}.${schema}' does not exist.`);
      if (catalog !== null && fake.denied.has(`${catalog}.${schema}`)) return error(response, 403, 'PERMISSION_DENIED', `User does not have USE SCHEMA on Schema '${catalog}.${schema}'.`);
      const pageLength = pageLengthOf(query, fake.pageSizes.models);
      if (pageLength === undefined) return error(response, 400, 'INVALID_PARAMETER_VALUE', 'max_results must be at least 0');
      // No promised order: newest first here, so a client that assumes sorted names is caught.
      const visible = [...models.values()].reverse().filter((model) => (catalog === null || (model.catalog === catalog && model.schema === schema)) && !fake.denied.has(`${model.catalog}.${model.schema}.${model.name}`));
      const { items, next } = page(visible, query.get('page_token'), pageLength);
      return json(response, 200, { registered_models: items.map((model) => modelInfo(model, false)), ...(next ? { next_page_token: next } : {}) });
    }
    const match = /^\/api\/2\.1\/unity-catalog\/models\/([^/]+)(\/versions|\/aliases\/([^/]+))?$/.exec(url.pathname);
    if (!match) return error(response, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${url.pathname}'`);
    const fullName = decodeURIComponent(match[1] ?? '');
    const [catalog = '', schema = ''] = fullName.split('.');
    if (![...schemas].some((entry) => entry.startsWith(`${catalog}.`))) return error(response, 404, 'CATALOG_DOES_NOT_EXIST', `Catalog '${catalog}' does not exist.`);
    const model = models.get(fullName);
    if (!model) return error(response, 404, 'RESOURCE_DOES_NOT_EXIST', `Registered model '${fullName}' does not exist.`);
    if (fake.denied.has(fullName) || fake.denied.has(`${catalog}.${schema}`)) return error(response, 403, 'PERMISSION_DENIED', `User does not have EXECUTE on Routine or Model '${fullName}'.`);
    if (method === 'GET' && match[2] === undefined) return json(response, 200, modelInfo(model, query.get('include_aliases') === 'true'));
    if (method === 'GET' && match[2] === '/versions') {
      const versions = [...model.versions].map(([version, entry]) => ({
        model_name: model.name,
        catalog_name: model.catalog,
        schema_name: model.schema,
        version,
        status: entry.status,
        source: `dbfs:/databricks/mlflow-tracking/1/run/artifacts/model-${version}`,
        run_id: `run${version}`,
        created_at: entry.createdAt,
        created_by: 'someone@example.com',
        updated_at: entry.createdAt,
        id: `${fullName}-${version}`,
      }));
      const pageLength = pageLengthOf(query, fake.pageSizes.versions);
      if (pageLength === undefined) return error(response, 400, 'INVALID_PARAMETER_VALUE', 'max_results must be at least 0');
      const { items, next } = page(versions, query.get('page_token'), pageLength);
      return json(response, 200, { model_versions: items, ...(next ? { next_page_token: next } : {}) });
    }
    return error(response, 404, 'ENDPOINT_NOT_FOUND', `No API found for '${method} ${url.pathname}'`);
  }

  function aliasCall(method: string, url: URL, body: string, response: ServerResponse): boolean {
    const match = /^\/api\/2\.1\/unity-catalog\/models\/([^/]+)\/aliases\/([^/]+)$/.exec(url.pathname);
    if (!match || (method !== 'PUT' && method !== 'DELETE')) return false;
    const fullName = decodeURIComponent(match[1] ?? '');
    const alias = decodeURIComponent(match[2] ?? '');
    const model = models.get(fullName);
    if (!model) return error(response, 404, 'RESOURCE_DOES_NOT_EXIST', `Registered model '${fullName}' does not exist.`), true;
    if (method === 'DELETE') {
      model.aliases.delete(alias);
      return json(response, 200, {}), true;
    }
    const version = (JSON.parse(body || '{}') as { version_num?: unknown }).version_num;
    if (typeof version !== 'number' || !model.versions.has(version)) return error(response, 400, 'INVALID_PARAMETER_VALUE', 'version_num must name an existing version'), true;
    model.aliases.set(alias, version);
    return json(response, 200, { alias_name: alias, version_num: version, catalog_name: model.catalog, schema_name: model.schema, model_name: model.name }), true;
  }

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const url = new URL(request.url ?? '/', 'http://fake');
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: request.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), authorization: request.headers.authorization ?? '' });
      if (request.method === 'POST' && url.pathname === '/oidc/v1/token') return token(request, body, response);
      if (!authorized(request)) return error(response, 401, 'UNAUTHENTICATED', 'Credential was not sent or was of an unsupported type for this API.');
      if (faults && faults.count > 0) {
        faults.count -= 1;
        return json(response, faults.status, { error_code: faults.errorCode, message: faults.message }, faults.headers);
      }
      if (aliasCall(request.method ?? '', url, body, response)) return;
      api(request.method ?? '', url, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (options.stopAfterTests !== false) after(() => fake.close());
  return fake;
}
