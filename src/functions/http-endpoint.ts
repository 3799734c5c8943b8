import type { HttpHandler, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { authorizeRequest } from '../auth/authorize-request.js';
import type { Principal } from '../auth/principal.js';
import { ApiError, ConfigError, errorMessage } from '../shared/errors.js';
import { checkBodyHeaders, readJsonBody } from '../http/read-body.js';
import type { JsonValue } from '../http/parse-json.js';
import { loggerOf, type Logger } from '../telemetry/logger.js';
import type { Services } from '../composition/services.js';
import { isStorageTrouble, statusCodeOf } from '../composition/storage-trouble.js';

export type ServicesProvider = () => Promise<Services>;

export interface EndpointCall {
  request: HttpRequest;
  principal: Principal;
  services: Services;
  log: Logger;
}

export interface EndpointResult {
  status?: number;
  body: unknown;
}

/** The one place an error becomes a response: `{"error_code", "message"}` with the code's status. */
export function errorResponse(error: ApiError): HttpResponseInit {
  return { status: error.status, headers: error.headers, jsonBody: { error_code: error.code, message: error.message } };
}

/** How long clients are told to wait: settings change only when the app restarts. */
const RETRY_AFTER_SECONDS = '30';

/** The one answer to a settings problem: 503 TEMPORARILY_UNAVAILABLE naming the setting. */
export function settingsUnavailable(error: ConfigError): ApiError {
  const setting = error.setting ? `setting ${error.setting}` : 'a setting';
  return new ApiError('TEMPORARILY_UNAVAILABLE', `The service is unavailable because of ${setting}: ${error.message}`, {
    'Retry-After': RETRY_AFTER_SECONDS,
  });
}

/** Logs a settings problem as an error, every time, so it cannot be missed in the host's logs. */
export function logSettingsError(context: InvocationContext, error: ConfigError): void {
  context.error(
    `CONFIGURATION ERROR${error.setting ? ` in ${error.setting}` : ''}: ${error.message}. ` +
      `Every function answers 503 (queue messages are retried, then poisoned) until the setting is fixed and the app restarted.`,
  );
}

/** Settings problem: 503 naming it; storage trouble: 503 with Retry-After; anything else: a 500 logged as a defect. */
function unexpectedError(error: unknown, context: InvocationContext): ApiError {
  if (error instanceof ConfigError) {
    logSettingsError(context, error);
    return settingsUnavailable(error);
  }
  if (isStorageTrouble(error)) {
    const code = (error as { code?: unknown }).code;
    context.warn(`storage unavailable in ${context.functionName}: ${statusCodeOf(error) ?? ''} ${typeof code === 'string' ? code : ''} ${errorMessage(error).slice(0, 200)}`);
    return new ApiError('TEMPORARILY_UNAVAILABLE', 'Storage is busy or unreachable; try again shortly', { 'Retry-After': '5' });
  }
  context.error(`unexpected error in ${context.functionName}: ${error instanceof Error ? (error.stack ?? error.message) : errorMessage(error)}`);
  return new ApiError('INTERNAL_ERROR', `An internal error occurred (invocation ${context.invocationId})`);
}

/**
 * Wraps a core call as an HTTP handler: resolves the principal from the bearer token, applies the rate limit,
 * runs the call, and maps the result or any error to the response. Handlers never build error bodies.
 */
export function endpoint(services: ServicesProvider, run: (call: EndpointCall) => Promise<EndpointResult>): HttpHandler {
  return unauthenticatedEndpoint(services, async ({ request, services: resolved, log }) => {
    const principal = await authorizeWithinBudget(request, resolved);
    const waitMs = resolved.rateLimiter.take(principal.id);
    if (waitMs > 0) {
      throw new ApiError('REQUEST_LIMIT_EXCEEDED', `Too many requests from ${principal.id}; retry after ${Math.ceil(waitMs / 1000)} s`, {
        'Retry-After': String(Math.ceil(waitMs / 1000)),
      });
    }
    return run({ request, principal, services: resolved, log });
  });
}

/** Failed authentications count per client address, never per token: a guesser sends a fresh token each time. */
function failureKey(request: HttpRequest): string {
  // The last entry is the one the platform's front end added; earlier ones are whatever the client sent.
  const forwarded = request.headers.get('x-forwarded-for')?.split(',').at(-1)?.trim();
  // Azure writes IPv4 as `a.b.c.d:port` and IPv6 as `[addr]:port`; a bare IPv6 address keeps all its groups.
  const address = forwarded?.replace(/^\[([^\]]+)\](?::\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1');
  return `client:${address || 'unknown'}`;
}

/**
 * Authenticates the request; a client whose failures exceed its budget gets 429 instead of another 401, so
 * guessing tokens is slow and cheap to refuse.
 */
export async function authorizeWithinBudget(request: HttpRequest, services: Services): Promise<Principal> {
  try {
    return await authorizeRequest(request.headers.get('authorization'), services.authenticator);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'UNAUTHENTICATED') throw error;
    const waitMs = services.authFailures.take(failureKey(request));
    if (waitMs > 0) {
      const seconds = String(Math.ceil(waitMs / 1000));
      throw new ApiError('REQUEST_LIMIT_EXCEEDED', `Too many failed authentications from this client; retry after ${seconds} s`, { 'Retry-After': seconds });
    }
    throw error;
  }
}

/** An endpoint without a bearer token (MLflow's signed webhooks cannot send headers), mapped as `endpoint` is. */
export function unauthenticatedEndpoint(services: ServicesProvider, run: (call: Omit<EndpointCall, 'principal'>) => Promise<EndpointResult>): HttpHandler {
  return async (request, context) => {
    try {
      checkBodyHeaders(request);
      const result = await run({ request, services: await services(), log: loggerOf(context) });
      return { status: result.status ?? 200, jsonBody: result.body };
    } catch (error) {
      return errorResponse(error instanceof ApiError ? error : unexpectedError(error, context));
    }
  };
}

/**
 * The JSON object body of a call that needs one: an empty or absent body is 400 MALFORMED_REQUEST saying so and
 * naming what the call needs (the Databricks JS SDK's update sends a PATCH without a body).
 */
export async function requiredObjectBody(request: HttpRequest, needs: string): Promise<Record<string, JsonValue>> {
  const body = await objectBody(request);
  if (body === undefined) {
    throw new ApiError('MALFORMED_REQUEST', `The request body is empty; ${request.method} ${new URL(request.url).pathname} needs a JSON object with ${needs}`);
  }
  return body;
}

/** The JSON body, which must be an object when present. */
export async function objectBody(request: HttpRequest): Promise<Record<string, JsonValue> | undefined> {
  const body = await readJsonBody(request);
  if (body === undefined) return undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body === 'bigint') {
    throw new ApiError('INVALID_PARAMETER_VALUE', "Invalid parameter 'body': must be a JSON object");
  }
  return body;
}

/** Query parameters, plus the JSON body where allowed (body wins); the host drops GET bodies, so a GET with one is refused. */
export async function parametersOf(request: HttpRequest, repeatable: readonly string[] = []): Promise<Record<string, unknown>> {
  const query: Record<string, unknown> = {};
  const search = new URL(request.url).searchParams;
  for (const key of new Set(search.keys())) {
    const values = search.getAll(key);
    query[key] = repeatable.includes(key) ? values : values.length === 1 ? values[0] : values;
  }
  if (request.method === 'GET' || request.method === 'HEAD') {
    const declared = Number(request.headers.get('content-length') ?? '0');
    if (declared > 0 || request.headers.has('transfer-encoding')) {
      throw new ApiError(
        'MALFORMED_REQUEST',
        'GET request bodies are dropped by the Azure Functions host; send the parameters in the query string (curl -G --data-urlencode name=value) or POST the JSON body',
      );
    }
    return query;
  }
  return { ...query, ...(await objectBody(request)) };
}
