import { definedOnly } from '../shared/defined.js';

/**
 * Why no answer came, for the origin gate: the connection was `refused`, or `reset` before any answer (the
 * origin is busy or down: fewer attempts at once, then its circuit); it could not be made (`unreachable`: DNS,
 * TLS, no connection within the connect deadline; the origin's circuit); or the endpoint did not answer in time
 * (`timeout`: that endpoint's own circuit, never the origin's).
 */
export type NetworkFailure = 'refused' | 'reset' | 'unreachable' | 'timeout';

/** What one attempt came to: any answer is a `response`; `network` says why none came, when that was the network. */
export type AttemptResult =
  | { kind: 'response'; status: number; body: string; retryAfterMs?: number }
  | { kind: 'error'; error: string; retryable: boolean; network?: NetworkFailure };

export type Outcome =
  | { kind: 'success' }
  | { kind: 'retry'; reason: string; retryAfterMs?: number }
  | { kind: 'permanent'; reason: string; disableWebhook: boolean };

const RETRYABLE_4XX = new Set([408, 429]);

/**
 * 2xx succeeds. Network errors, timeouts, 408, 429, 5xx and 3xx (never followed) are retried. Any other 4xx
 * is permanent; 410 Gone also disables the webhook. A target the policy blocks is permanent.
 */
export function classifyAttempt(result: AttemptResult): Outcome {
  if (result.kind === 'error') {
    return result.retryable ? { kind: 'retry', reason: result.error } : { kind: 'permanent', reason: result.error, disableWebhook: false };
  }
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'success' };
  const reason = `HTTP ${status}${result.body ? `: ${result.body.slice(0, 200)}` : ''}`;
  if (status === 410) return { kind: 'permanent', reason, disableWebhook: true };
  if (status >= 400 && status < 500 && !RETRYABLE_4XX.has(status)) return { kind: 'permanent', reason, disableWebhook: false };
  return { kind: 'retry', reason, ...definedOnly({ retryAfterMs: result.retryAfterMs }) };
}

/** Parses `Retry-After`: delay-seconds or an HTTP date. */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
