import { createHmac } from 'node:crypto';

/** `X-Databricks-Signature`: lowercase hex HMAC-SHA256 of the exact body bytes, keyed with the UTF-8 secret. */
export function databricksSignature(secret: string, body: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(body, 'utf8').digest('hex');
}

/** The Standard Webhooks key: a `whsec_<base64>` secret is decoded; any other secret is its UTF-8 bytes. */
export function standardWebhooksKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

/** `webhook-signature`: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`. */
export function standardWebhooksSignature(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', standardWebhooksKey(secret)).update(`${messageId}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

export const USER_AGENT = 'registry-webhooks/0.1.0';

/**
 * The headers of one attempt. `webhook-id` and `webhook-timestamp` go out even without a secret, so that
 * receivers can drop duplicates; the signatures need a secret.
 */
export function deliveryHeaders(options: {
  body: string;
  messageId: string;
  timestampSeconds: number;
  secret?: string | undefined;
  authorization?: string | undefined;
}): Record<string, string> {
  const { body, messageId, timestampSeconds, secret, authorization } = options;
  return {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': messageId,
    'webhook-timestamp': String(timestampSeconds),
    ...(authorization ? { authorization } : {}),
    ...(secret
      ? {
          'x-databricks-signature': databricksSignature(secret, body),
          'webhook-signature': standardWebhooksSignature(secret, messageId, timestampSeconds, body),
        }
      : {}),
  };
}
