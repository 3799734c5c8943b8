import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RegisteredFunction, RpcHttpData } from './worker-core.js';
import { hostRouteTable } from './route-template.js';
import { errorMessage } from '../shared/errors.js';

/** The host's own request size limit (Kestrel's 100 MB in the Functions host), refused before anything is read. */
export const HOST_MAX_REQUEST_BYTES = 100 * 1024 * 1024;

/** Unread request bodies up to this size are drained to keep the connection; larger ones close it. */
const UNREAD_DRAIN_BYTES = 64 * 1024;

export type HostLog = (level: string, functionName: string, message: string) => void;

export interface HttpRoute {
  name: string;
  route: string;
  methods: string[];
  fn: RegisteredFunction;
}

/** The HTTP functions among those the app registered, with their route and methods as the host reads them. */
export function httpRoutesOf(functions: readonly RegisteredFunction[]): HttpRoute[] {
  return functions.flatMap((fn) => {
    const { binding } = fn.trigger;
    if (binding.type !== 'httpTrigger') return [];
    return [{ name: fn.name, route: binding.route ?? fn.name, methods: (binding.methods ?? ['GET', 'POST']).map((method) => method.toUpperCase()), fn }];
  });
}

const joinValues = (value: string | string[] | undefined, separator: string): string =>
  Array.isArray(value) ? value.join(separator) : (value ?? '');

/** The body as the host forwards it: only with a `Content-Length` above 0, and still a stream so a refusal never reads it. */
function requestBody(incoming: IncomingMessage, method: string): ReadableStream<Uint8Array> | undefined {
  const declared = Number(incoming.headers['content-length'] ?? '0');
  if (method === 'GET' || method === 'HEAD' || !(declared > 0)) return undefined;
  return Readable.toWeb(incoming) as ReadableStream<Uint8Array>;
}

/**
 * Serves the registered HTTP functions as the host does (route order in route-template.ts), invoking through
 * @azure/functions' own model; a throwing handler is an empty 500, an unknown route an empty 404.
 */
export function createHttpHost(functions: readonly HttpRoute[], routePrefix: string, log: HostLog): Server {
  const routes = hostRouteTable(functions);
  const prefix = routePrefix === '' ? '' : `/${routePrefix}`;

  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    const url = new URL(incoming.url ?? '/', `http://${incoming.headers.host ?? 'localhost'}`);
    const method = (incoming.method ?? 'GET').toUpperCase();
    const path = url.pathname === prefix || url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : undefined;
    const target = path === undefined ? undefined : routes.find(method, path);
    if (!target) {
      outgoing.writeHead(404).end();
      return;
    }
    if (Number(incoming.headers['content-length'] ?? '0') > HOST_MAX_REQUEST_BYTES) {
      outgoing.writeHead(413).end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(incoming.headers)) headers[name] = joinValues(value, ', ');
    // As the platform's front end does: the client's address is appended to X-Forwarded-For.
    const client = incoming.socket.remoteAddress ?? 'unknown';
    headers['x-forwarded-for'] = headers['x-forwarded-for'] ? `${headers['x-forwarded-for']}, ${client}` : client;
    const query: Record<string, string> = {};
    for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
    const body = requestBody(incoming, method);
    const http: RpcHttpData = {
      method,
      url: url.href,
      headers,
      query,
      params: target.params,
      nativeRequest: new Request(url.href, { method, headers, ...(body ? { body, duplex: 'half' } : {}) }),
    };
    const name = target.fn.name;
    let response;
    try {
      response = (await target.fn.fn.invoke(randomUUID(), { http }, {}, (level, _category, message) => log(level, name, message)))?.http;
    } catch (error) {
      log('error', name, `Executed '${name}' (Failed): ${errorMessage(error)}`);
      response = { statusCode: '500' };
    }
    const bytes = response?.body && 'bytes' in response.body && response.body.bytes ? Buffer.from(response.body.bytes) : Buffer.from(response?.body?.string ?? '');
    // A large body the handler did not read is not read now: the connection closes after the answer instead.
    // A small one is drained by Node as usual, keeping the connection.
    const unread = !incoming.complete && Number(incoming.headers['content-length'] ?? '0') > UNREAD_DRAIN_BYTES;
    outgoing.writeHead(Number(response?.statusCode ?? 200), {
      ...response?.headers,
      'content-length': String(bytes.length),
      ...(unread ? { connection: 'close' } : {}),
    });
    outgoing.end(bytes, () => {
      if (unread) incoming.destroy();
    });
  };

  return createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch((error: unknown) => {
      log('error', 'host', `request failed: ${errorMessage(error)}`);
      if (!outgoing.headersSent) outgoing.writeHead(500);
      outgoing.end();
    });
  });
}
