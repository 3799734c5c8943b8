import type { Target } from '../webhooks/webhook.js';

const MIN_REDACTED_LENGTH = 6;

/** The write-only values of a target, and for `Bearer x` authorization the bare `x` too. */
export function secretsOf(target: Target): string[] {
  const values = target.kind === 'http' ? [target.secret, target.authorization, target.authorization?.replace(/^\S+\s+/, '')] : [target.accessToken];
  return [...new Set(values.filter((value): value is string => value !== undefined && value.length >= MIN_REDACTED_LENGTH))].sort((a, b) => b.length - a.length);
}

/**
 * A receiver may echo the request (a debugging endpoint does), and its answer is kept in the delivery log and
 * returned by the test call; the webhook's own write-only values are cut out of it, so they never come back.
 */
export function redactSecrets(text: string, target: Target): string {
  let redacted = text;
  for (const secret of secretsOf(target)) redacted = redacted.split(secret).join('[REDACTED]');
  return redacted;
}
