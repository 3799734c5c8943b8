import { createHmac, timingSafeEqual } from 'node:crypto';

/** MLflow's webhook headers (`mlflow/webhooks/constants.py`); HTTP header names are case-insensitive. */
export const MLFLOW_HEADERS = {
  deliveryId: 'x-mlflow-delivery-id',
  timestamp: 'x-mlflow-timestamp',
  signature: 'x-mlflow-signature',
} as const;

/** A delivery whose `X-MLflow-Timestamp` is further than this from our clock is refused (replays, stale copies). */
export const MLFLOW_TOLERANCE_SECONDS = 5 * 60;

export interface MlflowSignedRequest {
  deliveryId: string;
  timestamp: string;
  signature: string;
  body: Uint8Array;
}

/** MLflow's HMAC (`_generate_hmac_signature`) over `"{delivery_id}.{timestamp}.{raw body}"`, base64. */
function mlflowMac(secret: string, deliveryId: string, timestamp: string, body: Uint8Array): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${deliveryId}.${timestamp}.`, 'utf8').update(body).digest();
}

/** Checks the signature against every configured secret in constant time; the reason never echoes a secret or signature. */
export function verifyMlflowSignature(request: MlflowSignedRequest, secrets: readonly string[], nowMs: number): string | undefined {
  const { deliveryId, timestamp, signature, body } = request;
  if (!/^\d{1,12}$/.test(timestamp)) return `${MLFLOW_HEADERS.timestamp} must be unix seconds`;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > MLFLOW_TOLERANCE_SECONDS) {
    return `${MLFLOW_HEADERS.timestamp} is more than ${MLFLOW_TOLERANCE_SECONDS / 60} minutes from the server's clock`;
  }
  // Space-separated values; a repeated header arrives joined with ", ". Only canonical base64 of 32 bytes counts:
  // Node's decoder skips characters that are not base64 and ignores the last character's two unused bits, which
  // would accept one MAC under many spellings; a spelling counts only if encoding its bytes gives it back.
  const candidates = signature
    .split(/\s+/)
    .map((part) => /^v1,([A-Za-z0-9+/]{43}=),?$/.exec(part)?.[1])
    .filter((mac): mac is string => mac !== undefined)
    .map((mac) => ({ mac, bytes: Buffer.from(mac, 'base64') }))
    .filter(({ mac, bytes }) => bytes.toString('base64') === mac)
    .map(({ bytes }) => bytes);
  if (candidates.length === 0) return `${MLFLOW_HEADERS.signature} must be v1,<base64 HMAC-SHA256>`;
  let matched = false;
  for (const secret of secrets) {
    const expected = mlflowMac(secret, deliveryId, timestamp, body);
    for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
  }
  return matched ? undefined : `${MLFLOW_HEADERS.signature} does not match any configured secret (MLFLOW_WEBHOOK_SECRETS)`;
}
