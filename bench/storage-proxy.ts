import { createServer, request, Agent, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AzuriteEndpoints } from '../src/storage/azure-clients.js';

export interface CountingProxy {
  endpoints: AzuriteEndpoints;
  counts: { table: number; queue: number; blob: number };
  /** Queue messages handed out by Get Messages: each is one execution of a queue trigger. */
  dequeued: number;
  /** Requests by method and path shape, for finding out where storage time goes. */
  byKind: Map<string, number>;
  /** While true, every request is answered 503 ServerBusy as throttled storage does, without reaching Azurite. */
  busy: boolean;
  reset(): void;
  close(): Promise<void>;
}

const SERVER_BUSY = 'The server is busy.';

/** A 503 ServerBusy in the shape each service answers it: JSON (OData) for Table, XML for Queue and Blob. */
function answerBusy(service: 'table' | 'queue' | 'blob', outgoing: ServerResponse): void {
  const body =
    service === 'table'
      ? JSON.stringify({ 'odata.error': { code: 'ServerBusy', message: { lang: 'en-US', value: SERVER_BUSY } } })
      : `<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>${SERVER_BUSY}</Message></Error>`;
  outgoing.writeHead(503, { 'x-ms-error-code': 'ServerBusy', 'content-type': service === 'table' ? 'application/json;odata=minimalmetadata' : 'application/xml' }).end(body);
}

/** Storage in Azure answers in milliseconds, not Azurite's microseconds: each request waits `latencyMs` ±25%. */
export interface ProxyOptions {
  latencyMs?: number;
}

const JITTER = 0.25;

/**
 * A reverse proxy in front of Azurite that counts every storage request, per service, and can add latency; with
 * `busy` set it answers 503 ServerBusy instead (storage throttling, for the fault tests).
 */
export async function startCountingProxy(target: AzuriteEndpoints, options: ProxyOptions = {}): Promise<CountingProxy> {
  const latencyMs = options.latencyMs ?? 0;
  const delay = () => latencyMs * (1 - JITTER + 2 * JITTER * Math.random());
  const state = { busy: false, dequeued: 0 };
  const counts = { table: 0, queue: 0, blob: 0 };
  const byKind = new Map<string, number>();
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const servers: Server[] = [];
  const listen = async (service: keyof typeof counts, port: number): Promise<number> => {
    const server = createServer((incoming, outgoing) => {
      counts[service] += 1;
      if (state.busy) {
        incoming.resume();
        incoming.on('end', () => answerBusy(service, outgoing));
        return;
      }
      const path = (incoming.url ?? '').split('?')[0]?.replace(/\(.*\)/, '(key)').replace(/\/messages\/[^/]+/, '/messages/id') ?? '';
      const kind = `${incoming.method ?? ''} ${service} ${path}`;
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      const forward = () => {
        const upstream = request({ host: target.host, port, method: incoming.method, path: incoming.url, headers: incoming.headers, agent }, (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          if (service === 'queue' && incoming.method === 'GET' && path.endsWith('/messages') && !(incoming.url ?? '').includes('peekonly=true')) {
            answer.on('data', (chunk: Buffer) => (state.dequeued += chunk.toString('latin1').split('<QueueMessage>').length - 1));
          }
          answer.pipe(outgoing);
        });
        upstream.on('error', () => outgoing.destroy());
        incoming.pipe(upstream);
      };
      if (latencyMs > 0) {
        incoming.pause();
        setTimeout(forward, delay());
      } else forward();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };
  const endpoints: AzuriteEndpoints = {
    host: '127.0.0.1',
    blobPort: await listen('blob', target.blobPort),
    queuePort: await listen('queue', target.queuePort),
    tablePort: await listen('table', target.tablePort),
  };
  return {
    endpoints,
    counts,
    byKind,
    get dequeued() {
      return state.dequeued;
    },
    get busy() {
      return state.busy;
    },
    set busy(value: boolean) {
      state.busy = value;
    },
    reset: () => {
      Object.assign(counts, { table: 0, queue: 0, blob: 0 });
      state.dequeued = 0;
      byKind.clear();
    },
    close: async () => {
      agent.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
