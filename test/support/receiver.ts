import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after } from 'node:test';
import { TEST_CERT, TEST_KEY } from './tls-cert.js';
import { isEventPayload, payloadProblem } from './openapi-check.js';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** What the receiver does with the n-th request (1-based). */
export type Behaviour = (request: ReceivedRequest, n: number, response: ServerResponse, socket: Socket) => unknown;

export const answer =
  (status: number, body = '', headers: Record<string, string> = {}): Behaviour =>
  (_request, _n, response) => {
    response.writeHead(status, headers).end(body);
  };

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  connections: number;
  /** The most sockets open at one time. */
  peakConnections: number;
  /** Connections reset as soon as accepted, because `acceptAtMost` were already open. */
  resets: number;
  setBehaviour(behaviour: Behaviour): void;
  /** Stops listening (connections are refused) until `up()`, on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real HTTP (or HTTPS, with a self-signed certificate) server on 127.0.0.1 that records every request and
 * answers as told: fixed answers, failures then success, hanging, or closing the connection. With `acceptAtMost`,
 * it resets every connection made while that many are open, as a small server with a full accept backlog does.
 */
export async function startReceiver(options: { tls?: boolean; behaviour?: Behaviour; acceptAtMost?: number } = {}): Promise<Receiver> {
  let behaviour: Behaviour = options.behaviour ?? answer(200, 'OK');
  const requests: ReceivedRequest[] = [];
  const payloadProblems: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let peakConnections = 0;
  let resets = 0;
  const handler = (incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(incoming.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : (value ?? '');
      const request: ReceivedRequest = { method: incoming.method ?? '', path: incoming.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      requests.push(request);
      Promise.resolve(behaviour(request, requests.length, response, incoming.socket)).catch(() => response.destroy());
      // Checked after answering, so compiling a schema never delays the answer the service times.
      setImmediate(() => {
        const problem = isEventPayload(request.body) ? payloadProblem(request.body) : undefined;
        if (problem) payloadProblems.push(problem);
      });
    });
  };
  const server: Server = options.tls ? createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, handler) : createHttpServer(handler);
  server.on('connection', (socket: Socket) => {
    if (options.acceptAtMost !== undefined && sockets.size >= options.acceptAtMost) {
      // A small receiver past its capacity: the connection is reset before any request is read.
      resets += 1;
      socket.resetAndDestroy();
      return;
    }
    connections += 1;
    sockets.add(socket);
    peakConnections = Math.max(peakConnections, sockets.size);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/hook`,
    requests,
    get connections() {
      return connections;
    },
    get peakConnections() {
      return peakConnections;
    },
    get resets() {
      return resets;
    },
    setBehaviour: (next) => (behaviour = next),
    down: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
    up: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
  after(() => {
    // Every registry event delivered is held to its published event schema (/api/schemas/events/<EVENT>.json).
    if (payloadProblems.length > 0) throw new Error(`delivered payloads that do not match their event schema:\n${payloadProblems.join('\n')}`);
  });
  after(() => receiver.close());
  return receiver;
}

/** Never answers: holds the request open until the socket is destroyed. */
export const hang: Behaviour = () => new Promise<void>(() => undefined);

/** Drops the connection without an answer. */
export const resetConnection: Behaviour = (_request, _n, _response, socket) => {
  socket.destroy();
};

/** Fails the first `failures` requests with `status`, then answers 200. */
export const failThenSucceed =
  (failures: number, status = 503): Behaviour =>
  (_request, n, response) => {
    response.writeHead(n <= failures ? status : 200).end(n <= failures ? 'not yet' : 'OK');
  };
