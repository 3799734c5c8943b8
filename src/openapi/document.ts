import type { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../shared/errors.js';
import { requestSchema, responseSchema, type JsonSchema } from './json-schema.js';
import { definedOnly } from '../shared/defined.js';

/** How a route is authenticated: a bearer token, optionally one (health), MLflow's signature, or nothing. */
export type RouteAuth = 'bearer' | 'optional-bearer' | 'mlflow-signature' | 'public';

/** What the document says about one HTTP function; every schema is a zod schema the code uses. */
export interface RouteContract {
  summary: string;
  description?: string;
  tag: string;
  auth: RouteAuth;
  /** The path documented, under `/api`, when the route serves named files (`schemas/events/{event}.json`). */
  path?: string;
  pathParams?: Record<string, z.ZodType>;
  /** Query parameters on GET and DELETE, the JSON body on POST, PUT and PATCH. */
  input?: z.ZodObject;
  /** The JSON body, where it is not `input` (a union of forms). */
  body?: z.ZodType;
  /** Bodies of other media types (CloudEvents). */
  otherBodies?: Record<string, z.ZodType>;
  headers?: Record<string, { description: string; schema: z.ZodType }>;
  success: { status: number; description: string; schema: z.ZodType; contentType?: string };
  /** The error codes the route answers; all but 405 and 502 when left out. */
  errors?: readonly ErrorCode[];
  examples?: { request?: unknown; response?: unknown };
}

/** An HTTP function as the document needs it: its name, its path as registered (with `/`), and its methods. */
export interface DocumentedRoute {
  name: string;
  path: string;
  methods: readonly string[];
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
const DEFAULT_ERRORS = (Object.keys(ERROR_STATUS) as ErrorCode[]).filter((code) => code !== 'METHOD_NOT_ALLOWED' && code !== 'TARGET_UNREACHABLE');

const SECURITY: Record<RouteAuth, Record<string, string[]>[]> = {
  bearer: [{ bearer: [] }],
  'optional-bearer': [{}, { bearer: [] }],
  'mlflow-signature': [{ mlflowSignature: [] }],
  public: [],
};

/** The `{error_code, message}` answer of one status, its codes listed. */
export function errorSchema(codes: readonly ErrorCode[]): JsonSchema {
  return {
    type: 'object',
    properties: { error_code: { type: 'string', enum: [...codes] }, message: { type: 'string' } },
    required: ['error_code', 'message'],
    additionalProperties: false,
  };
}

/**
 * A query parameter's schema: query strings carry every value as text, so where the input schema also takes the
 * string form of a number (`"5"` or `5`), the parameter is documented as the number; a list is repeated.
 */
function queryParameterSchema(schema: JsonSchema): JsonSchema {
  const branches = schema.anyOf as JsonSchema[] | undefined;
  if (!branches) return schema;
  const typed = branches.filter((branch) => branch.type !== 'string');
  if (typed.length !== 1 || typed.length === branches.length) return schema;
  const { anyOf: _anyOf, ...rest } = schema;
  return { ...rest, ...typed[0] };
}

function parametersOf(contract: RouteContract, method: string): JsonSchema[] {
  const path = Object.entries(contract.pathParams ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema: requestSchema(schema) }));
  const headers = Object.entries(contract.headers ?? {}).map(([name, { description, schema }]) => ({ name, in: 'header', required: true, description, schema: requestSchema(schema) }));
  if (!contract.input || BODY_METHODS.has(method)) return [...path, ...headers];
  const input = requestSchema(contract.input);
  const required = new Set((input.required as string[] | undefined) ?? []);
  const query = Object.entries((input.properties ?? {}) as Record<string, JsonSchema>).map(([name, schema]) => {
    const documented = queryParameterSchema(schema);
    return { name, in: 'query', required: required.has(name), schema: documented, ...(documented.type === 'array' ? { style: 'form', explode: true } : {}) };
  });
  return [...path, ...headers, ...query];
}

function requestBodyOf(contract: RouteContract, method: string): JsonSchema | undefined {
  if (!BODY_METHODS.has(method)) return undefined;
  const json = contract.body ?? contract.input;
  if (!json && !contract.otherBodies) return undefined;
  const example = contract.examples?.request;
  return {
    required: contract.auth !== 'mlflow-signature' || json !== undefined,
    content: {
      ...(json ? { 'application/json': { schema: requestSchema(json), ...definedOnly({ example }) } } : {}),
      ...Object.fromEntries(Object.entries(contract.otherBodies ?? {}).map(([type, schema]) => [type, { schema: requestSchema(schema) }])),
    },
  };
}

/** The error responses of a route, one per status, each listing its codes. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  return Object.fromEntries([...byStatus].map(([status, listed]) => [String(status), { $ref: `#/components/responses/${responseName(status, listed)}` }]));
}

const responseName = (status: number, codes: readonly ErrorCode[]): string => `Error${status}_${codes.join('_')}`;

const operationId = (name: string, method: string, methods: readonly string[]): string => {
  const base = name.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
  return methods.filter((m) => m !== 'HEAD').length > 1 ? `${base}${method[0]}${method.slice(1).toLowerCase()}` : base;
};

function operationOf(route: DocumentedRoute, contract: RouteContract, method: string): JsonSchema {
  const { success } = contract;
  const example = contract.examples?.response;
  const parameters = parametersOf(contract, method);
  const requestBody = requestBodyOf(contract, method);
  return {
    operationId: operationId(route.name, method, route.methods),
    summary: contract.summary,
    ...(contract.description ? { description: contract.description } : {}),
    tags: [contract.tag],
    security: SECURITY[contract.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: {
      [String(success.status)]: {
        description: success.description,
        content: { [success.contentType ?? 'application/json']: { schema: responseSchema(success.schema), ...definedOnly({ example }) } },
      },
      ...errorResponses(contract.errors ?? DEFAULT_ERRORS),
    },
  };
}

/** Every error response any route answers, as components. */
function errorComponents(contracts: readonly RouteContract[]): Record<string, JsonSchema> {
  const components: Record<string, JsonSchema> = {};
  for (const contract of contracts) {
    const byStatus = new Map<number, ErrorCode[]>();
    for (const code of contract.errors ?? DEFAULT_ERRORS) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
    for (const [status, codes] of byStatus) {
      components[responseName(status, codes)] = { description: codes.join(' or '), content: { 'application/json': { schema: errorSchema(codes) } } };
    }
  }
  return components;
}

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
}

/**
 * The OpenAPI 3.0.3 document of the routes, each by its contract. A route without a contract is left out here and
 * named by `missingContracts`, which the tests hold empty.
 */
export function buildDocument(info: DocumentInfo, routes: readonly DocumentedRoute[], contracts: Readonly<Record<string, RouteContract>>, components: Record<string, JsonSchema> = {}): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const used: RouteContract[] = [];
  for (const route of routes) {
    const contract = contracts[route.name];
    if (!contract) continue;
    used.push(contract);
    const path = contract.path ? `/api/${contract.path}` : route.path;
    for (const method of route.methods.filter((m) => m !== 'HEAD')) {
      (paths[path] ??= {})[method.toLowerCase()] = operationOf(route, contract, method);
    }
  }
  return {
    openapi: '3.0.3',
    info,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A static token of WEBHOOKS_AUTH_TOKENS, or a Microsoft Entra ID access token (roles Webhooks.Admin, Webhooks.Manage, Events.Publish).' },
        mlflowSignature: {
          type: 'apiKey',
          in: 'header',
          name: 'X-MLflow-Signature',
          description: "MLflow's webhook signature: v1,<base64 HMAC-SHA256 of '<X-MLflow-Delivery-Id>.<X-MLflow-Timestamp>.<body>'> with a secret of MLFLOW_WEBHOOK_SECRETS.",
        },
      },
      schemas: { Error: errorSchema(Object.keys(ERROR_STATUS) as ErrorCode[]), ...components },
      responses: errorComponents(used),
    },
    security: [{ bearer: [] }],
  };
}

/** The routes that have no contract. */
export const missingContracts = (routes: readonly DocumentedRoute[], contracts: Readonly<Record<string, RouteContract>>): string[] =>
  routes.filter((route) => !Object.hasOwn(contracts, route.name)).map((route) => route.name);
