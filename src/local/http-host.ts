import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { HttpResponse as FunctionsHttpResponse, HttpResponseInit } from '@azure/functions';
import { HttpRequest, HttpResponse, InvocationContext } from './functions-lib.js';
import type { HttpFunction } from '../function-table.js';
import { hostRouteTable } from './route-template.js';

/** The host's own request size limit (Kestrel's 100 MB in the Functions host). */
export const HOST_MAX_REQUEST_BYTES = 100 * 1024 * 1024;

export type HostLog = (level: string, functionName: string, message: string) => void;

const joinValues = (value: string | string[] | undefined, separator: string): string =>
  Array.isArray(value) ? value.join(separator) : (value ?? '');

async function readRequest(incoming: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of incoming) {
    total += (chunk as Buffer).length;
    if (total > HOST_MAX_REQUEST_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Serves the table's HTTP functions the way the Functions host does: routes under the route prefix, the first
 * route in function-name order that matches and allows the method wins (see route-template.ts), the request reaches the handler as an `HttpRequest`
 * of @azure/functions (repeated query keys and headers joined, as the host joins them), and the handler's
 * result goes back through the library's `HttpResponse`. A handler that throws gives an empty 500.
 */
export function createHttpHost(functions: readonly HttpFunction[], routePrefix: string, log: HostLog): Server {
  const routes = hostRouteTable(functions);
  const prefix = `/${routePrefix}`;

  const handle = async (incoming: IncomingMessage, outgoing: ServerResponse): Promise<void> => {
    const url = new URL(incoming.url ?? '/', `http://${incoming.headers.host ?? 'localhost'}`);
    const method = (incoming.method ?? 'GET').toUpperCase();
    const path = url.pathname === prefix || url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length) : undefined;
    const target = path === undefined ? undefined : routes.find(method, path);
    if (!target || path === undefined) {
      outgoing.writeHead(404).end();
      return;
    }
    const body = await readRequest(incoming);
    if (body === 'too-large') {
      outgoing.writeHead(413).end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(incoming.headers)) headers[name] = joinValues(value, ', ');
    const query: Record<string, string> = {};
    for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
    const request = new HttpRequest({ method, url: url.href, headers, query, params: target.params, body: { bytes: body } });
    const context = new InvocationContext({
      invocationId: randomUUID(),
      functionName: target.fn.name,
      logHandler: (level, ...args) => log(level, target.fn.name, args.map(String).join(' ')),
      options: { trigger: { type: 'httpTrigger', name: 'request' } },
    });
    let response: FunctionsHttpResponse;
    try {
      const result = (await target.fn.handler(request, context)) as HttpResponseInit | FunctionsHttpResponse | undefined;
      response = result instanceof HttpResponse ? result : new HttpResponse(result ?? {});
    } catch (error) {
      log('error', target.fn.name, `handler threw: ${error instanceof Error ? error.message : String(error)}`);
      outgoing.writeHead(500).end();
      return;
    }
    const bytes = Buffer.from(await response.arrayBuffer());
    const responseHeaders: Record<string, string> = {};
    response.headers.forEach((value: string, name: string) => (responseHeaders[name] = value));
    outgoing.writeHead(response.status, { ...responseHeaders, 'content-length': String(bytes.length) });
    outgoing.end(bytes);
  };

  return createServer((incoming, outgoing) => {
    handle(incoming, outgoing).catch((error: unknown) => {
      log('error', 'host', `request failed: ${error instanceof Error ? error.message : String(error)}`);
      if (!outgoing.headersSent) outgoing.writeHead(500);
      outgoing.end();
    });
  });
}
