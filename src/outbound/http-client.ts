import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import { errorMessage } from '../shared/errors.js';
import { isIpLiteral } from '../webhooks/blocked-addresses.js';
import { parseRetryAfter, type AttemptResult, type NetworkFailure } from './classify-outcome.js';
import { assertAddressAllowed, BlockedTargetError, type Resolver, type TargetPolicy } from '../webhooks/target-policy.js';
import { definedOnly } from '../shared/defined.js';

export interface OutboundRequest {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  verifyTls: boolean;
  /** Read at most this much of the answer (default: the client's maxResponseBytes). */
  maxResponseBytes?: number;
  /**
   * Cuts secrets out of the answer. It runs before the answer is cut to the cap, on REDACTION_MARGIN_BYTES more
   * than the cap, so a secret that straddles the cut is redacted whole rather than leaving its first characters.
   */
  redact?: (text: string) => string;
}

/** Read past the cap when redacting: longer than any spelling of a secret (JSON-escaped twice, base64, ...). */
export const REDACTION_MARGIN_BYTES = 64 * 1024;

/** Every outbound call goes through this: webhook deliveries, test calls and the Databricks Jobs API. */
export interface OutboundClient {
  send(request: OutboundRequest): Promise<AttemptResult>;
}

export interface HttpClientOptions {
  policy: TargetPolicy;
  resolve: Resolver;
  /** Connect to the last byte of the response. */
  timeoutMs: number;
  /** Response bytes read at most; the rest is dropped and the connection closed. */
  maxResponseBytes: number;
  /** Sockets per origin, so one endpoint cannot take every connection. */
  connectionsPerOrigin: number;
  now: () => number;
}

/**
 * Resolves through `resolve` and refuses the whole name if any address is blocked, so the address connected
 * to has always been checked (DNS rebinding gets no second answer).
 */
function guardedLookup(resolve: Resolver, policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        try {
          for (const address of addresses) assertAddressAllowed(address, hostname, policy);
          const wanted = addresses
            .map((address) => ({ address, family: isIP(address) }))
            .filter((entry) => entry.family !== 0 && (!options.family || entry.family === options.family));
          const first = wanted[0];
          if (!first) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
          if (options.all) callback(null, wanted);
          else callback(null, first.address, first.family);
        } catch (error) {
          callback(error as NodeJS.ErrnoException, '', 0);
        }
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };
}

/** No connection within this (at most 10 s, and half the deadline) is the host's failure, not the endpoint's slowness. */
export const connectTimeoutOf = (timeoutMs: number): number => Math.max(1, Math.min(10_000, Math.floor(timeoutMs / 2)));

/** A connector that checks IP-literal hosts before connecting and the peer address after. */
function guardedConnector(options: HttpClientOptions, verifyTls: boolean): buildConnector.connector {
  const connect = buildConnector({
    rejectUnauthorized: verifyTls,
    lookup: guardedLookup(options.resolve, options.policy),
    timeout: connectTimeoutOf(options.timeoutMs),
  });
  return (connectOptions, callback) => {
    const host = connectOptions.hostname.replace(/^\[|\]$/g, '');
    try {
      if (isIpLiteral(host)) assertAddressAllowed(host, host, options.policy);
    } catch (error) {
      callback(error as Error, null);
      return;
    }
    connect(connectOptions, (error, socket) => {
      if (error) {
        callback(error, null);
        return;
      }
      try {
        assertAddressAllowed(socket.remoteAddress ?? '', host, options.policy);
      } catch (blocked) {
        socket.destroy();
        callback(blocked as Error, null);
        return;
      }
      callback(null, socket);
    });
  };
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
};

const causeChain = (error: unknown): unknown[] => {
  const chain: unknown[] = [];
  for (let current = error; current && chain.length < 5; current = (current as { cause?: unknown }).cause) chain.push(current);
  return chain;
};

const IPV4 = /\b\d{1,3}(?:\.\d{1,3}){3}\b/g;
const IPV6 = /\[?\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%\w+)?\]?/gi;

/**
 * Socket errors name the address connected to ("connect ECONNREFUSED 10.1.2.3:443"). For a target written as
 * a host name that is what the name resolved to, which the caller must not learn (internal DNS).
 */
const withoutAddresses = (text: string, host: string): string =>
  isIpLiteral(host) ? text : text.replace(IPV4, '<address>').replace(IPV6, '<address>');

const REFUSED_CODES = new Set(['ECONNREFUSED']);
/** The connection closed before any answer: the receiver dropped it (too busy, restarting) or it broke on the way. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);
/** Deadlines of an exchange on a connection made: the endpoint was slow, which says nothing about its host. */
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const isTimeout = (entry: unknown): boolean =>
  entry instanceof Error && (entry.name === 'TimeoutError' || entry.name === 'AbortError' || TIMEOUT_CODES.has(String((entry as { code?: unknown }).code)));

/** Refused and reset are the origin being busy or down; any other failure to connect (DNS, TLS, connect deadline) is unreachable. */
function networkFailureOf(code: string | undefined): NetworkFailure {
  if (code !== undefined && REFUSED_CODES.has(code)) return 'refused';
  if (code !== undefined && RESET_CODES.has(code)) return 'reset';
  return 'unreachable';
}

/**
 * A short, secret-free account of why an attempt failed, whether trying again can help, and, when the network
 * failed, how (none when the target was blocked before connecting; only a timeout once the answer began).
 */
function describeFailure(error: unknown, timeoutMs: number, host: string, answered: boolean): { error: string; retryable: boolean; network?: NetworkFailure } {
  const chain = causeChain(error);
  const blocked = chain.find((entry) => entry instanceof BlockedTargetError);
  if (blocked) return { error: `blocked: ${errorMessage(blocked)}`, retryable: false };
  if (chain.some(isTimeout)) return { error: `timed out after ${timeoutMs} ms`, retryable: true, network: 'timeout' };
  const coded = chain.find((entry): entry is Error & { code: string } => entry instanceof Error && typeof (entry as { code?: unknown }).code === 'string');
  const last = chain[chain.length - 1];
  const detail = coded && coded.code !== 'UND_ERR_SOCKET' ? `${coded.code}: ${coded.message}` : errorMessage(last);
  const failure = { error: `network error: ${withoutAddresses(detail, host)}`, retryable: true };
  // A failure after the status line came is not the connection's.
  return answered ? failure : { ...failure, network: networkFailureOf(coded?.code) };
}

async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    const room = limit - total;
    chunks.push(bytes.length > room ? bytes.subarray(0, room) : bytes);
    total += Math.min(bytes.length, room);
    if (total >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The client of every outbound request: target policy on the connected address, per-target TLS, one deadline, no redirects. */
export class GuardedHttpClient implements OutboundClient {
  private readonly agents: { verified: Agent; unverified: Agent };

  constructor(private readonly options: HttpClientOptions) {
    const agent = (verifyTls: boolean) =>
      new Agent({
        connect: guardedConnector(options, verifyTls),
        connections: options.connectionsPerOrigin,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        keepAliveTimeout: 4_000,
      });
    this.agents = { verified: agent(true), unverified: agent(false) };
  }

  async send(outbound: OutboundRequest): Promise<AttemptResult> {
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let answered = false;
    try {
      const response = await request(outbound.url, {
        method: outbound.method,
        headers: outbound.headers,
        ...definedOnly({ body: outbound.body }),
        dispatcher: outbound.verifyTls ? this.agents.verified : this.agents.unverified,
        signal,
      });
      answered = true;
      const cap = Math.min(outbound.maxResponseBytes ?? Infinity, this.options.maxResponseBytes);
      const body = outbound.redact
        ? utf8Prefix(outbound.redact(await readCapped(response.body, cap + REDACTION_MARGIN_BYTES)), cap)
        : await readCapped(response.body, cap);
      const retryAfterHeader = response.headers['retry-after'];
      const retryAfterMs = parseRetryAfter(Array.isArray(retryAfterHeader) ? retryAfterHeader[0] : retryAfterHeader, this.options.now());
      return { kind: 'response', status: response.statusCode, body, ...definedOnly({ retryAfterMs }) };
    } catch (error) {
      return { kind: 'error', ...describeFailure(error, this.options.timeoutMs, hostOf(outbound.url), answered) };
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.agents.verified.close(), this.agents.unverified.close()]);
  }
}

/** The first `bytes` bytes of UTF-8 text, never ending inside a character. */
export function utf8Prefix(text: string, bytes: number): string {
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length <= bytes) return text;
  let end = bytes;
  // Back off continuation bytes (10xxxxxx) so the cut falls on a character boundary.
  while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return encoded.subarray(0, end).toString('utf8');
}
